-- GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
-- SPDX-License-Identifier: GPL-3.0-or-later
-- Copyright: Contributors to the acs.upgrade project
--
-- A database that is not the schema the module knows: vm_template without the `state` column (CloudStack before
-- 4.2 had none) and no template_store_ref at all (it came with 4.2).

ALTER TABLE `vm_template` DROP COLUMN `state`;
DROP TABLE `template_store_ref`;
