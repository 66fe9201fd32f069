-- GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
-- SPDX-License-Identifier: GPL-3.0-or-later
-- Copyright: Contributors to the acs.upgrade project
--
-- The six tables of the CloudStack `cloud` database that cs_template_crosszone reads or writes, with the column
-- names and types CloudStack uses (create-schema.sql, then schema-410to420.sql for image_store, template_store_ref
-- and the template state). A subset of the columns: the ones the module uses plus the NOT NULL ones an insert
-- by CloudStack fills, so that the test rows look like real ones. Foreign keys as upstream, where the subset allows.

CREATE TABLE `data_center` (
  `id` bigint unsigned NOT NULL UNIQUE AUTO_INCREMENT,
  `name` varchar(255),
  `uuid` varchar(40),
  `description` varchar(255),
  `dns1` varchar(255) NOT NULL,
  `internal_dns1` varchar(255) NOT NULL,
  `router_mac_address` varchar(17) NOT NULL DEFAULT '02:00:00:00:00:01',
  `mac_address` bigint unsigned NOT NULL DEFAULT '1',
  `networktype` varchar(255) NOT NULL DEFAULT 'Basic',
  `allocation_state` varchar(32) NOT NULL DEFAULT 'Enabled',
  `is_security_group_enabled` tinyint NOT NULL DEFAULT 0,
  `removed` datetime,
  PRIMARY KEY (`id`),
  INDEX `i_data_center__removed` (`removed`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE `vm_template` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `unique_name` varchar(255) NOT NULL,
  `name` varchar(255) NOT NULL,
  `uuid` varchar(40),
  `public` int(1) unsigned NOT NULL,
  `featured` int(1) unsigned NOT NULL,
  `type` varchar(32) NULL,
  `hvm` int(1) unsigned NOT NULL,
  `bits` int(6) unsigned NOT NULL,
  `url` varchar(255) NULL,
  `format` varchar(32) NOT NULL,
  `created` datetime NOT NULL,
  `removed` datetime,
  `account_id` bigint unsigned NOT NULL,
  `checksum` varchar(255),
  `display_text` varchar(4096) NULL,
  `enable_password` int(1) unsigned NOT NULL DEFAULT 1,
  `guest_os_id` bigint unsigned NOT NULL,
  `bootable` int(1) unsigned NOT NULL DEFAULT 1,
  `prepopulate` int(1) unsigned NOT NULL DEFAULT 0,
  `cross_zones` int(1) unsigned NOT NULL DEFAULT 0,
  `extractable` int(1) unsigned NOT NULL DEFAULT 0,
  `hypervisor_type` varchar(32),
  `source_template_id` bigint unsigned,
  `template_tag` varchar(255),
  `state` varchar(255),
  `size` bigint unsigned,
  `update_count` bigint unsigned,
  `updated` datetime,
  PRIMARY KEY (`id`),
  INDEX `i_vm_template__removed` (`removed`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE `image_store` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `image_provider_name` varchar(255) NOT NULL,
  `protocol` varchar(255) NOT NULL,
  `url` varchar(255),
  `data_center_id` bigint unsigned,
  `scope` varchar(255),
  `role` varchar(255),
  `uuid` varchar(255),
  `parent` varchar(255),
  `created` datetime,
  `removed` datetime,
  `total_size` bigint unsigned,
  `used_bytes` bigint unsigned,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

-- store_id may be NULL upstream (baremetal), and upstream keeps no foreign key on it either.
CREATE TABLE `template_store_ref` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `store_id` bigint unsigned,
  `template_id` bigint unsigned NOT NULL,
  `created` datetime NOT NULL,
  `last_updated` datetime,
  `job_id` varchar(255),
  `download_pct` int(10) unsigned,
  `size` bigint unsigned,
  `store_role` varchar(255),
  `physical_size` bigint unsigned DEFAULT 0,
  `download_state` varchar(255),
  `error_str` varchar(255),
  `local_path` varchar(255),
  `install_path` varchar(255),
  `url` varchar(255),
  `state` varchar(255) NOT NULL,
  `destroyed` tinyint(1),
  `is_copy` tinyint(1) NOT NULL DEFAULT 0,
  `update_count` bigint unsigned,
  `ref_cnt` bigint unsigned DEFAULT 0,
  `updated` datetime,
  PRIMARY KEY (`id`),
  INDEX `i_template_store_ref__store_id` (`store_id`),
  CONSTRAINT `fk_template_store_ref__template_id` FOREIGN KEY (`template_id`) REFERENCES `vm_template` (`id`),
  INDEX `i_template_store_ref__template_id` (`template_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE `template_zone_ref` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `zone_id` bigint unsigned NOT NULL,
  `template_id` bigint unsigned NOT NULL,
  `created` datetime NOT NULL,
  `last_updated` datetime,
  `removed` datetime,
  PRIMARY KEY (`id`),
  CONSTRAINT `fk_template_zone_ref__zone_id` FOREIGN KEY (`zone_id`) REFERENCES `data_center` (`id`) ON DELETE CASCADE,
  INDEX `i_template_zone_ref__zone_id` (`zone_id`),
  CONSTRAINT `fk_template_zone_ref__template_id` FOREIGN KEY (`template_id`) REFERENCES `vm_template` (`id`) ON DELETE CASCADE,
  INDEX `i_template_zone_ref__template_id` (`template_id`),
  INDEX `i_template_zone_ref__removed` (`removed`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE `vm_instance` (
  `id` bigint unsigned UNIQUE NOT NULL,
  `name` varchar(255) NOT NULL,
  `uuid` varchar(40),
  `instance_name` varchar(255) NOT NULL,
  `state` varchar(32) NOT NULL,
  `vm_template_id` bigint unsigned,
  `guest_os_id` bigint unsigned NOT NULL,
  `pod_id` bigint unsigned,
  `data_center_id` bigint unsigned NOT NULL,
  `host_id` bigint unsigned,
  `vnc_password` varchar(255) NOT NULL,
  `ha_enabled` tinyint(1) NOT NULL DEFAULT 0,
  `limit_cpu_use` tinyint(1) unsigned NOT NULL DEFAULT 0,
  `update_count` bigint unsigned NOT NULL DEFAULT 0,
  `update_time` datetime,
  `created` datetime NOT NULL,
  `removed` datetime,
  `type` varchar(32) NOT NULL,
  `vm_type` varchar(32) NOT NULL,
  `account_id` bigint unsigned NOT NULL,
  `domain_id` bigint unsigned NOT NULL,
  `service_offering_id` bigint unsigned NOT NULL,
  `reservation_id` char(40),
  `hypervisor_type` char(32),
  PRIMARY KEY (`id`),
  INDEX `i_vm_instance__removed` (`removed`),
  INDEX `i_vm_instance__type` (`type`),
  INDEX `i_vm_instance__state` (`state`),
  INDEX `i_vm_instance__data_center_id` (`data_center_id`),
  CONSTRAINT `fk_vm_instance__template_id` FOREIGN KEY (`vm_template_id`) REFERENCES `vm_template` (`id`),
  INDEX `i_vm_instance__template_id` (`vm_template_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
