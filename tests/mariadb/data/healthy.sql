-- GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
-- SPDX-License-Identifier: GPL-3.0-or-later
-- Copyright: Contributors to the acs.upgrade project
--
-- A cloud that was set up right: systemvm-xenserver-4.6 registered once, cross-zone, downloaded in the store of
-- every zone, system VMs Running everywhere. The older 4.5 templates (registered per zone) are all Inactive:
-- CloudStack no longer uses them and nothing must touch them.

INSERT INTO `data_center` (`id`, `name`, `uuid`, `dns1`, `internal_dns1`, `networktype`) VALUES
  (1, 'zone-1', 'a0f3a1e2-0001-4c6e-9d1b-000000000001', '192.0.2.53', '10.1.0.2', 'Advanced'),
  (2, 'zone-2', 'a0f3a1e2-0002-4c6e-9d1b-000000000002', '192.0.2.53', '10.2.0.2', 'Advanced'),
  (3, 'zone-3', 'a0f3a1e2-0003-4c6e-9d1b-000000000003', '192.0.2.53', '10.3.0.2', 'Advanced');

INSERT INTO `vm_template`
  (`id`, `unique_name`, `name`, `public`, `featured`, `type`, `hvm`, `bits`, `url`, `format`, `created`,
   `account_id`, `display_text`, `enable_password`, `guest_os_id`, `cross_zones`, `hypervisor_type`, `state`) VALUES
  (634, 'routing-634', 'systemvm-xenserver-4.5', 0, 0, 'SYSTEM', 1, 64, 'http://download.example.org/systemvm/4.5/xen.vhd.bz2', 'VHD', '2015-06-02 09:00:00', 1, 'systemvm-xenserver-4.5', 0, 99, 0, 'XenServer', 'Inactive'),
  (635, 'routing-635', 'systemvm-xenserver-4.5', 0, 0, 'SYSTEM', 1, 64, 'http://download.example.org/systemvm/4.5/xen.vhd.bz2', 'VHD', '2015-06-02 09:05:00', 1, 'systemvm-xenserver-4.5', 0, 99, 0, 'XenServer', 'Inactive'),
  (636, 'routing-636', 'systemvm-xenserver-4.5', 0, 0, 'SYSTEM', 1, 64, 'http://download.example.org/systemvm/4.5/xen.vhd.bz2', 'VHD', '2015-06-02 09:10:00', 1, 'systemvm-xenserver-4.5', 0, 99, 0, 'XenServer', 'Inactive'),
  (800, 'routing-800', 'systemvm-xenserver-4.6', 0, 0, 'SYSTEM', 1, 64, 'http://download.example.org/systemvm/4.6/xen.vhd.bz2', 'VHD', '2016-01-02 09:00:00', 1, 'systemvm-xenserver-4.6', 0, 99, 1, 'XenServer', 'Active');

INSERT INTO `image_store` (`id`, `name`, `image_provider_name`, `protocol`, `url`, `data_center_id`, `scope`, `role`, `created`) VALUES
  (1, 'sec-zone-1', 'NFS', 'nfs', 'nfs://198.51.100.11/export/secondary', 1, 'ZONE', 'Image', '2014-03-01 10:00:00'),
  (2, 'sec-zone-2', 'NFS', 'nfs', 'nfs://198.51.100.12/export/secondary', 2, 'ZONE', 'Image', '2014-03-01 10:00:00'),
  (3, 'sec-zone-3', 'NFS', 'nfs', 'nfs://198.51.100.13/export/secondary', 3, 'ZONE', 'Image', '2014-03-01 10:00:00');

INSERT INTO `template_store_ref`
  (`id`, `store_id`, `template_id`, `created`, `download_pct`, `store_role`, `download_state`, `install_path`, `state`, `destroyed`, `is_copy`) VALUES
  (2, 1, 634, '2015-06-02 09:20:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/634/a.vhd', 'Ready', 0, 0),
  (3, 2, 635, '2015-06-02 09:25:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/635/b.vhd', 'Ready', 0, 0),
  (4, 3, 636, '2015-06-02 09:30:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/636/c.vhd', 'Ready', 0, 0),
  (5, 1, 800, '2016-01-02 09:20:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/800/d.vhd', 'Ready', 0, 0),
  (6, 2, 800, '2016-01-02 09:25:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/800/d.vhd', 'Ready', 0, 0),
  (7, 3, 800, '2016-01-02 09:30:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/800/d.vhd', 'Ready', 0, 0);

INSERT INTO `vm_instance`
  (`id`, `name`, `instance_name`, `state`, `vm_template_id`, `guest_os_id`, `data_center_id`, `vnc_password`,
   `created`, `removed`, `type`, `vm_type`, `account_id`, `domain_id`, `service_offering_id`, `hypervisor_type`) VALUES
  (11, 's-11-VM', 's-11-VM', 'Running', 800, 99, 1, 'not-a-secret-11', '2026-11-01 02:10:00', NULL, 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'XenServer'),
  (12, 'v-12-VM', 'v-12-VM', 'Running', 800, 99, 1, 'not-a-secret-12', '2026-11-01 02:10:00', NULL, 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'XenServer'),
  (13, 's-13-VM', 's-13-VM', 'Running', 800, 99, 2, 'not-a-secret-13', '2026-11-01 02:10:00', NULL, 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'XenServer'),
  (14, 'v-14-VM', 'v-14-VM', 'Running', 800, 99, 2, 'not-a-secret-14', '2026-11-01 02:10:00', NULL, 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'XenServer'),
  (15, 's-15-VM', 's-15-VM', 'Running', 800, 99, 3, 'not-a-secret-15', '2026-11-01 02:10:00', NULL, 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'XenServer'),
  (16, 'v-16-VM', 'v-16-VM', 'Running', 800, 99, 3, 'not-a-secret-16', '2026-11-01 02:10:00', NULL, 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'XenServer');
