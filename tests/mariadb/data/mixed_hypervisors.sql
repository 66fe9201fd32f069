-- GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
-- SPDX-License-Identifier: GPL-3.0-or-later
-- Copyright: Contributors to the acs.upgrade project
--
-- On top of seed.sql: zones 1 and 2 also have KVM hosts (a cloud half-way through a move from XenServer to KVM).
-- CloudStack downloads the system VM templates of every hypervisor a zone has, but runs one SSVM and one CPVM per
-- zone, on one hypervisor it chooses for the zone (SecondaryStorageManagerImpl/ConsoleProxyManagerImpl,
-- getAvailableHypervisor). systemvm-kvm-4.5 was registered per zone too: 801 in zone 1, 802 in zone 2.
-- Zone 2 has a second image store (5); 802 went to that one only, 635 to store 2 only.
-- Zone 1 runs its system VMs on XenServer and lost them in the upgrade (seed rows 1 and 2); zone 2 recreated its
-- SSVM and CPVM on KVM from 802 (its XenServer ones, seed rows 3 and 4, are gone); zone 3 runs on XenServer from 636.
-- What each zone needs: zone 1 a XenServer template in store 1; zone 2 a KVM template in store 2 or 5; zone 3 a
-- XenServer template in store 3. CloudStack takes 636 for XenServer and 802 for KVM: zone 1 cannot recreate.

INSERT INTO `image_store` (`id`, `name`, `image_provider_name`, `protocol`, `url`, `data_center_id`, `scope`, `role`, `uuid`, `created`) VALUES
  (5, 'sec-zone-2b', 'NFS', 'nfs', 'nfs://198.51.100.22/export/secondary', 2, 'ZONE', 'Image', 'c1f3a1e2-0005-4c6e-9d1b-000000000005', '2016-03-01 10:00:00');

INSERT INTO `vm_template`
  (`id`, `unique_name`, `name`, `uuid`, `public`, `featured`, `type`, `hvm`, `bits`, `url`, `format`, `created`,
   `account_id`, `display_text`, `enable_password`, `guest_os_id`, `cross_zones`, `hypervisor_type`, `state`) VALUES
  (801, 'routing-801', 'systemvm-kvm-4.5', 'b9f3a1e2-0801-4c6e-9d1b-000000000801', 0, 0, 'SYSTEM', 1, 64,
   'http://download.example.org/systemvm/4.5/systemvm64template-4.5-kvm.qcow2.bz2', 'QCOW2', '2016-03-02 10:00:00', 1, 'systemvm-kvm-4.5', 0, 99, 0, 'KVM', 'Active'),
  (802, 'routing-802', 'systemvm-kvm-4.5', 'b9f3a1e2-0802-4c6e-9d1b-000000000802', 0, 0, 'SYSTEM', 1, 64,
   'http://download.example.org/systemvm/4.5/systemvm64template-4.5-kvm.qcow2.bz2', 'QCOW2', '2016-03-02 10:05:00', 1, 'systemvm-kvm-4.5', 0, 99, 0, 'KVM', 'Active');

INSERT INTO `template_store_ref`
  (`id`, `store_id`, `template_id`, `created`, `download_pct`, `store_role`, `download_state`, `install_path`, `state`, `destroyed`, `is_copy`) VALUES
  (30, 1, 801, '2016-03-02 10:20:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/801/6ad36e73.qcow2', 'Ready', 0, 0),
  (31, 5, 802, '2016-03-02 10:25:00', 100, 'Image', 'DOWNLOADED', 'template/tmpl/1/802/7be47f84.qcow2', 'Ready', 0, 0);

INSERT INTO `template_zone_ref` (`id`, `zone_id`, `template_id`, `created`) VALUES
  (30, 1, 801, '2016-03-02 10:00:00'),
  (31, 2, 802, '2016-03-02 10:05:00');

INSERT INTO `vm_instance`
  (`id`, `name`, `instance_name`, `state`, `vm_template_id`, `guest_os_id`, `data_center_id`, `host_id`, `vnc_password`,
   `created`, `removed`, `type`, `vm_type`, `account_id`, `domain_id`, `service_offering_id`, `hypervisor_type`) VALUES
  (60, 's-60-VM', 's-60-VM', 'Running', 802, 99, 2, 21, 'not-a-secret-60', '2026-11-01 02:20:00', NULL, 'SecondaryStorageVm', 'SecondaryStorageVm', 1, 1, 9, 'KVM'),
  (61, 'v-61-VM', 'v-61-VM', 'Running', 802, 99, 2, 21, 'not-a-secret-61', '2026-11-01 02:20:00', NULL, 'ConsoleProxy', 'ConsoleProxy', 1, 1, 10, 'KVM');
