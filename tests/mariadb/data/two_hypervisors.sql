-- GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
-- SPDX-License-Identifier: GPL-3.0-or-later
-- Copyright: Contributors to the acs.upgrade project
--
-- On top of seed.sql: two KVM zones with the same mistake. systemvm-kvm-4.5 was registered in zone 4 (701) and
-- zone 5 (702); zone 4 runs its system VMs on 701, zone 5 lost them.

INSERT INTO `data_center` (`id`, `name`, `uuid`, `dns1`, `internal_dns1`, `networktype`) VALUES
  (4, 'kvm-zone-4', 'a0f3a1e2-0004-4c6e-9d1b-000000000004', '192.0.2.53', '10.4.0.2', 'Advanced'),
  (5, 'kvm-zone-5', 'a0f3a1e2-0005-4c6e-9d1b-000000000005', '192.0.2.53', '10.5.0.2', 'Advanced');

INSERT INTO `vm_template`
  (`id`, `unique_name`, `name`, `uuid`, `public`, `featured`, `type`, `hvm`, `bits`, `url`, `format`, `created`,
   `account_id`, `display_text`, `enable_password`, `guest_os_id`, `cross_zones`, `hypervisor_type`, `state`) VALUES
  (701, 'routing-701', 'systemvm-kvm-4.5', 'b9f3a1e2-0701-4c6e-9d1b-000000000701', 0, 0, 'SYSTEM', 1, 64,
   'http://download.example.org/systemvm/4.5/systemvm64template-4.5-kvm.qcow2.bz2', 'QCOW2', '2015-06-02 10:00:00', 1, 'systemvm-kvm-4.5', 0, 99, 0, 'KVM', 'Active'),
  (702, 'routing-702', 'systemvm-kvm-4.5', 'b9f3a1e2-0702-4c6e-9d1b-000000000702', 0, 0, 'SYSTEM', 1, 64,
   'http://download.example.org/systemvm/4.5/systemvm64template-4.5-kvm.qcow2.bz2', 'QCOW2', '2015-06-02 10:05:00', 1, 'systemvm-kvm-4.5', 0, 99, 0, 'KVM', 'Active');

INSERT INTO `image_store` (`id`, `name`, `image_provider_name`, `protocol`, `url`, `data_center_id`, `scope`, `role`, `uuid`, `created`) VALUES
  (8, 'sec-zone-4', 'NFS', 'nfs', 'nfs://198.51.100.14/export/secondary', 4, 'ZONE', 'Image', 'c1f3a1e2-0008-4c6e-9d1b-000000000008', '2015-01-01 10:00:00'),
  (9, 'sec-zone-5', 'NFS', 'nfs', 'nfs://198.51.100.15/export/secondary', 5, 'ZONE', 'Image', 'c1f3a1e2-0009-4c6e-9d1b-000000000009', '2015-01-01 10:00:00');

INSERT INTO `template_store_ref`
  (`id`, `store_id`, `template_id`, `created`, `download_pct`, `store_role`, `download_state`, `install_path`, `state`, `destroyed`, `is_copy`) VALUES
  (20, 8, 701, '2015-06-02 10:20:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/701/4eb14c51.qcow2', 'Ready', 0, 0),
  (21, 9, 702, '2015-06-02 10:25:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/702/5fc25d62.qcow2', 'Ready', 0, 0);

INSERT INTO `template_zone_ref` (`id`, `zone_id`, `template_id`, `created`) VALUES
  (20, 4, 701, '2015-06-02 10:00:00'),
  (21, 5, 702, '2015-06-02 10:05:00');

INSERT INTO `vm_instance`
  (`id`, `name`, `instance_name`, `state`, `vm_template_id`, `guest_os_id`, `data_center_id`, `vnc_password`,
   `created`, `removed`, `type`, `vm_type`, `account_id`, `domain_id`, `service_offering_id`, `hypervisor_type`) VALUES
  (40, 's-40-VM', 's-40-VM', 'Running', 701, 99, 4, 'not-a-secret-40', '2026-11-01 02:10:00', NULL, 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'KVM'),
  (41, 'v-41-VM', 'v-41-VM', 'Running', 701, 99, 4, 'not-a-secret-41', '2026-11-01 02:10:00', NULL, 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'KVM'),
  (50, 's-50-VM', 's-50-VM', 'Error', 701, 99, 5, 'not-a-secret-50', '2026-11-01 02:10:00', NULL, 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'KVM');
