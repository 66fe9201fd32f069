-- GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
-- SPDX-License-Identifier: GPL-3.0-or-later
-- Copyright: Contributors to the acs.upgrade project
--
-- On top of seed.sql: an operator ran the article's first UPDATEs by hand (634 cross-zone and Inactive, 635 the
-- only Active row) and zone 2 has recreated its SSVM and CPVM from 635 since. What is left: make 634 Active.

UPDATE `vm_template` SET `state` = 'Inactive', `cross_zones` = 1 WHERE `id` = 634;
UPDATE `vm_template` SET `state` = 'Active' WHERE `id` = 635;
UPDATE `vm_template` SET `state` = 'Inactive' WHERE `id` = 636;

INSERT INTO `vm_instance`
  (`id`, `name`, `instance_name`, `state`, `vm_template_id`, `guest_os_id`, `data_center_id`, `vnc_password`,
   `created`, `removed`, `type`, `vm_type`, `account_id`, `domain_id`, `service_offering_id`, `hypervisor_type`) VALUES
  (9, 's-9-VM', 's-9-VM', 'Running', 635, 99, 2, 'not-a-secret-9', '2026-11-20 10:00:00', NULL, 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'XenServer'),
  (10, 'v-10-VM', 'v-10-VM', 'Running', 635, 99, 2, 'not-a-secret-10', '2026-11-20 10:00:00', NULL, 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'XenServer');
