-- GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
-- SPDX-License-Identifier: GPL-3.0-or-later
-- Copyright: Contributors to the acs.upgrade project
--
-- The cloud of the cross-zone template article (seed 003), after the upgrade: the system VM template
-- systemvm-xenserver-4.5 was registered once per zone (634 in zone 1, 635 in zone 2, 636 in zone 3, all SYSTEM,
-- cross_zones=0, Active), one image store per zone. CloudStack takes 636 (the highest id) for the region: zone 3
-- recreated its SSVM and CPVM from it, zones 1 and 2 could not (their old system VMs were destroyed by the upgrade).
-- Around them, rows the module must leave alone: a BUILTIN and a USER template, a removed SYSTEM row, a router
-- and a user VM.

INSERT INTO `data_center` (`id`, `name`, `uuid`, `dns1`, `internal_dns1`, `networktype`) VALUES
  (1, 'zone-1', 'a0f3a1e2-0001-4c6e-9d1b-000000000001', '192.0.2.53', '10.1.0.2', 'Advanced'),
  (2, 'zone-2', 'a0f3a1e2-0002-4c6e-9d1b-000000000002', '192.0.2.53', '10.2.0.2', 'Advanced'),
  (3, 'zone-3', 'a0f3a1e2-0003-4c6e-9d1b-000000000003', '192.0.2.53', '10.3.0.2', 'Advanced');

INSERT INTO `vm_template`
  (`id`, `unique_name`, `name`, `uuid`, `public`, `featured`, `type`, `hvm`, `bits`, `url`, `format`, `created`, `removed`,
   `account_id`, `display_text`, `enable_password`, `guest_os_id`, `cross_zones`, `hypervisor_type`, `state`) VALUES
  (2, 'centos56-x86_64-xen', 'CentOS 5.6(64-bit) no GUI (XenServer)', 'b9f3a1e2-0002-4c6e-9d1b-000000000002', 1, 1, 'BUILTIN', 0, 64,
   'http://download.example.org/templates/builtin/centos56-x86_64.vhd.bz2', 'VHD', '2014-03-01 10:00:00', NULL, 1,
   'CentOS 5.6(64-bit) no GUI (XenServer)', 0, 12, 1, 'XenServer', 'Active'),
  (600, 'routing-600', 'systemvm-xenserver-4.5', 'b9f3a1e2-0600-4c6e-9d1b-000000000600', 0, 0, 'SYSTEM', 1, 64,
   'http://download.example.org/systemvm/4.5/systemvm64template-4.5-xen.vhd.bz2', 'VHD', '2015-06-01 09:00:00', '2015-06-01 09:30:00', 1,
   'registered by mistake, removed', 0, 99, 0, 'XenServer', 'Inactive'),
  (634, 'routing-634', 'systemvm-xenserver-4.5', 'b9f3a1e2-0634-4c6e-9d1b-000000000634', 0, 0, 'SYSTEM', 1, 64,
   'http://download.example.org/systemvm/4.5/systemvm64template-4.5-xen.vhd.bz2', 'VHD', '2015-06-02 09:00:00', NULL, 1,
   'systemvm-xenserver-4.5', 0, 99, 0, 'XenServer', 'Active'),
  (635, 'routing-635', 'systemvm-xenserver-4.5', 'b9f3a1e2-0635-4c6e-9d1b-000000000635', 0, 0, 'SYSTEM', 1, 64,
   'http://download.example.org/systemvm/4.5/systemvm64template-4.5-xen.vhd.bz2', 'VHD', '2015-06-02 09:05:00', NULL, 1,
   'systemvm-xenserver-4.5', 0, 99, 0, 'XenServer', 'Active'),
  (636, 'routing-636', 'systemvm-xenserver-4.5', 'b9f3a1e2-0636-4c6e-9d1b-000000000636', 0, 0, 'SYSTEM', 1, 64,
   'http://download.example.org/systemvm/4.5/systemvm64template-4.5-xen.vhd.bz2', 'VHD', '2015-06-02 09:10:00', NULL, 1,
   'systemvm-xenserver-4.5', 0, 99, 0, 'XenServer', 'Active'),
  (700, '2-700-user-web', 'web-golden-image', 'b9f3a1e2-0700-4c6e-9d1b-000000000700', 0, 0, 'USER', 1, 64,
   NULL, 'VHD', '2016-01-10 12:00:00', NULL, 2, 'golden image', 1, 12, 0, 'XenServer', 'Active');

INSERT INTO `image_store` (`id`, `name`, `image_provider_name`, `protocol`, `url`, `data_center_id`, `scope`, `role`, `uuid`, `created`) VALUES
  (1, 'sec-zone-1', 'NFS', 'nfs', 'nfs://198.51.100.11/export/secondary', 1, 'ZONE', 'Image', 'c1f3a1e2-0001-4c6e-9d1b-000000000001', '2014-03-01 10:00:00'),
  (2, 'sec-zone-2', 'NFS', 'nfs', 'nfs://198.51.100.12/export/secondary', 2, 'ZONE', 'Image', 'c1f3a1e2-0002-4c6e-9d1b-000000000002', '2014-03-01 10:00:00'),
  (3, 'sec-zone-3', 'NFS', 'nfs', 'nfs://198.51.100.13/export/secondary', 3, 'ZONE', 'Image', 'c1f3a1e2-0003-4c6e-9d1b-000000000003', '2014-03-01 10:00:00');

-- template_store_ref ids 2, 3, 4 as in the article.
INSERT INTO `template_store_ref`
  (`id`, `store_id`, `template_id`, `created`, `last_updated`, `download_pct`, `size`, `store_role`, `physical_size`,
   `download_state`, `install_path`, `state`, `destroyed`, `is_copy`, `update_count`, `ref_cnt`) VALUES
  (1, 1, 2, '2014-03-01 10:10:00', '2014-03-01 10:20:00', 100, 2101252608, 'Image', 1708331520, 'DOWNLOADED', 'template/tmpl/1/2/5ec0b7d4.vhd', 'Ready', 0, 0, 0, 0),
  (2, 1, 634, '2015-06-02 09:20:00', '2015-06-02 09:40:00', 100, 2684354560, 'Image', 462123520, 'DOWNLOADED', 'template/tmpl/1/634/1b8c1f2e.vhd', 'Ready', 0, 0, 0, 0),
  (3, 2, 635, '2015-06-02 09:25:00', '2015-06-02 09:45:00', 100, 2684354560, 'Image', 462123520, 'DOWNLOADED', 'template/tmpl/1/635/2c9d2a3f.vhd', 'Ready', 0, 0, 0, 0),
  (4, 3, 636, '2015-06-02 09:30:00', '2015-06-02 09:50:00', 100, 2684354560, 'Image', 462123520, 'DOWNLOADED', 'template/tmpl/1/636/3da03b40.vhd', 'Ready', 0, 0, 0, 0);

INSERT INTO `template_zone_ref` (`id`, `zone_id`, `template_id`, `created`, `last_updated`, `removed`) VALUES
  (1, 1, 2, '2014-03-01 10:00:00', '2014-03-01 10:00:00', NULL),
  (2, 1, 634, '2015-06-02 09:00:00', '2015-06-02 09:00:00', NULL),
  (3, 2, 635, '2015-06-02 09:05:00', '2015-06-02 09:05:00', NULL),
  (4, 3, 636, '2015-06-02 09:10:00', '2015-06-02 09:10:00', NULL);

INSERT INTO `vm_instance`
  (`id`, `name`, `uuid`, `instance_name`, `state`, `vm_template_id`, `guest_os_id`, `data_center_id`, `vnc_password`,
   `created`, `removed`, `type`, `vm_type`, `account_id`, `domain_id`, `service_offering_id`, `hypervisor_type`) VALUES
  -- destroyed by the upgrade, never recreated
  (1, 's-1-VM', 'd1f3a1e2-0001-4c6e-9d1b-000000000001', 's-1-VM', 'Expunging', 634, 99, 1, 'not-a-secret-1', '2015-06-03 08:00:00', '2026-11-01 02:00:00', 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'XenServer'),
  (2, 'v-2-VM', 'd1f3a1e2-0002-4c6e-9d1b-000000000002', 'v-2-VM', 'Expunging', 634, 99, 1, 'not-a-secret-2', '2015-06-03 08:00:00', '2026-11-01 02:00:00', 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'XenServer'),
  (3, 's-3-VM', 'd1f3a1e2-0003-4c6e-9d1b-000000000003', 's-3-VM', 'Expunging', 635, 99, 2, 'not-a-secret-3', '2015-06-03 08:00:00', '2026-11-01 02:00:00', 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'XenServer'),
  (4, 'v-4-VM', 'd1f3a1e2-0004-4c6e-9d1b-000000000004', 'v-4-VM', 'Expunging', 635, 99, 2, 'not-a-secret-4', '2015-06-03 08:00:00', '2026-11-01 02:00:00', 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'XenServer'),
  -- zone 3 recreated its system VMs from 636 after the upgrade
  (7, 's-7-VM', 'd1f3a1e2-0007-4c6e-9d1b-000000000007', 's-7-VM', 'Running', 636, 99, 3, 'not-a-secret-7', '2026-11-01 02:10:00', NULL, 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'XenServer'),
  (8, 'v-8-VM', 'd1f3a1e2-0008-4c6e-9d1b-000000000008', 'v-8-VM', 'Running', 636, 99, 3, 'not-a-secret-8', '2026-11-01 02:10:00', NULL, 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'XenServer'),
  (20, 'r-20-VM', 'd1f3a1e2-0020-4c6e-9d1b-000000000020', 'r-20-VM', 'Running', 634, 99, 1, 'not-a-secret-20', '2016-02-01 08:00:00', NULL, 'DomainRouter', 'DomainRouter', 2, 1, 11, 'XenServer'),
  (21, 'web-1', 'd1f3a1e2-0021-4c6e-9d1b-000000000021', 'i-2-21-VM', 'Running', 700, 12, 1, 'not-a-secret-21', '2016-02-01 08:05:00', NULL, 'User', 'User', 2, 1, 12, 'XenServer');
