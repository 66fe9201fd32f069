-- GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
-- SPDX-License-Identifier: GPL-3.0-or-later
-- Copyright: Contributors to the acs.upgrade project
--
-- On top of seed.sql: zones 1 and 2 have a second image store each. Only one store per zone received the
-- zone's template (the article: "only one in each zone will have initially received the template"), so the
-- canonical template must still reach stores 4 and 5. A removed store and a cache store do not count.

INSERT INTO `image_store` (`id`, `name`, `image_provider_name`, `protocol`, `url`, `data_center_id`, `scope`, `role`, `uuid`, `created`, `removed`) VALUES
  (4, 'sec-zone-1b', 'NFS', 'nfs', 'nfs://198.51.100.21/export/secondary', 1, 'ZONE', 'Image', 'c1f3a1e2-0004-4c6e-9d1b-000000000004', '2016-03-01 10:00:00', NULL),
  (5, 'sec-zone-2b', 'NFS', 'nfs', 'nfs://198.51.100.22/export/secondary', 2, 'ZONE', 'Image', 'c1f3a1e2-0005-4c6e-9d1b-000000000005', '2016-03-01 10:00:00', NULL),
  (6, 'sec-zone-3-old', 'NFS', 'nfs', 'nfs://198.51.100.23/export/secondary', 3, 'ZONE', 'Image', 'c1f3a1e2-0006-4c6e-9d1b-000000000006', '2014-03-01 10:00:00', '2016-03-01 10:00:00'),
  (7, 'cache-zone-3', 'NFS', 'nfs', 'nfs://198.51.100.24/export/cache', 3, 'ZONE', 'ImageCache', 'c1f3a1e2-0007-4c6e-9d1b-000000000007', '2016-03-01 10:00:00', NULL);

-- a copy that was destroyed does not count as downloaded
INSERT INTO `template_store_ref`
  (`id`, `store_id`, `template_id`, `created`, `download_pct`, `store_role`, `download_state`, `install_path`, `state`, `destroyed`, `is_copy`) VALUES
  (10, 5, 634, '2016-03-02 10:00:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/634/old.vhd', 'Destroyed', 1, 0);
