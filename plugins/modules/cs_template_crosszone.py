#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations

DOCUMENTATION = r"""
module: cs_template_crosszone
short_description: Detect and repair system VM templates registered once per zone instead of cross-zone
version_added: 0.1.0
description:
  - When a system VM template was registered once per zone (several C(vm_template) rows of type C(SYSTEM) with
    C(cross_zones=0), each downloaded in the image stores of one zone), CloudStack takes the Active row with the
    highest id as the template of that hypervisor for the whole region, and the other zones cannot recreate their
    SSVM and CPVM after an upgrade.
  - This module reads and changes the CloudStack database directly (there is no API for it).
    O(state=detected) reports the problem and the remediation plan; O(state=remediated) runs that plan one step per
    call; O(state=restored) puts back the rows saved in a backup file.
  - "Rows are grouped by C(hypervisor_type) and C(name) (the name carries the template version). A group with
    several rows and at least one Active row is examined; a group whose rows are all Inactive is an older version
    and is left alone."
  - "CloudStack runs one SSVM and one CPVM per zone, on one hypervisor it chose for the zone, while the zone holds the
    system VM templates of every hypervisor it has. The hypervisor of a zone's system VMs is read from its newest
    C(SecondaryStorageVm)/C(ConsoleProxy) rows of C(vm_instance) (C(hypervisor_type); a live row before a removed one,
    since the rows the upgrade destroyed still tell where they are recreated); without any such row, the only
    hypervisor the zone holds SYSTEM templates of. A group of one hypervisor decides the recreation of the zones
    whose system VMs run on it; for the other zones it only needs its canonical row in their image stores."
  - "The procedure, for each group: (1) for every zone whose system VMs run on the group's hypervisor, whose SSVM and
    CPVM are not Running and that is not served by the canonical row, make the canonical row C(cross_zones=1) and that
    zone's own row the only Active one, then wait until the zone's SSVM and CPVM are Running (zones that can recreate
    them already go first, from the row CloudStack takes); (2) make the canonical row the only Active one; (3) restart
    (never destroy) the C(cloud) service on the running SSVMs of the zones that lack it (whatever hypervisor the SSVM
    runs on: it downloads the templates of every hypervisor of the zone) and wait until C(template_store_ref) shows
    the canonical template C(DOWNLOADED) in every image store of every zone of the group. The module never waits:
    each call runs at most one step and returns RV(waiting_for); the caller (for example a role) waits and calls again."
  - "A zone's system VMs count as up when C(vm_instance) has a row of type C(SecondaryStorageVm) and one of type
    C(ConsoleProxy) with C(state=Running), C(removed IS NULL) and that C(data_center_id)."
  - "A zone is recovered for a group when the canonical row is C(DOWNLOADED) in every image store of the zone and,
    when the zone's system VMs run on the group's hypervisor, they are Running."
  - "No step leaves a hypervisor without an Active SYSTEM template, and none strands a zone: a step is refused, before
    anything is written, when a zone whose SSVM or CPVM is not Running can recreate them now (its hypervisor's Active
    template with the highest id is in one of its image stores) and could not after the step. The group is then
    reported V(blocked) with the reason."
  - Each change runs in one transaction, under the advisory lock C(GET_LOCK('acs_upgrade_crosszone')). The rows it
    changes are appended to O(backup_file) first, as an entry with C(status=attempted); the entry becomes
    C(applied) after the commit, or C(failed) with the C(error) when the change was rolled back.
author:
  - acs.upgrade contributors (@acs-upgrade)
extends_documentation_fragment:
  - acs.upgrade.attributes
  - acs.upgrade.mysql
attributes:
  check_mode:
    support: full
    details: Nothing is written, neither to the database nor to O(backup_file); the result and the diff show the step that would run.
  diff_mode:
    support: full
    details: The C(state) and C(cross_zones) of every C(vm_template) row the call changes, before and after.
  idempotent:
    support: partial
    details:
      - O(state=remediated) runs at most one step per call. A second call right after a step changes nothing until what
        RV(waiting_for) names has happened (system VMs Running, downloads done); then it runs the next step.
      - O(state=restored) changes nothing when the rows already hold the backed-up values.
options:
  state:
    description:
      - V(detected) reads only and reports, per group, the rows, the zone of each, the row CloudStack takes today,
        the zones that cannot recreate SSVM/CPVM and the plan with the SQL of each step.
      - V(remediated) runs the next step of the plan, or reports what it waits for, or that the group is done.
      - V(restored) sets C(state) and C(cross_zones) of every row in O(backup_file) back to the values they had
        before the first change recorded there (other columns are not touched); the rows as they were before the
        restore are appended to O(backup_file) first.
    type: str
    choices: [detected, remediated, restored]
    default: detected
  canonical_template_id:
    description:
      - Id of the C(vm_template) row that becomes the one cross-zone system VM template of its hypervisor; only its
        group is examined.
      - It must be of type C(SYSTEM), not removed, and downloaded (C(template_store_ref.download_state=DOWNLOADED),
        C(destroyed=0)) in an image store of some zone.
      - When not set, the lowest id of the group that is downloaded in a zone whose system VMs run on the group's
        hypervisor is chosen (that zone keeps its template throughout); when there is none, the lowest id downloaded
        in some zone.
      - Must be of the hypervisor O(hypervisor) names, when both are set.
    type: int
  hypervisor:
    description:
      - Only examine the templates of this hypervisor (C(vm_template.hypervisor_type), case-insensitive), for example C(XenServer) or C(KVM).
    type: str
  backup_file:
    description:
      - JSON file the module appends the full C(vm_template) rows to before each change; required by O(state=remediated)
        and the source of O(state=restored).
      - "Each entry has C(time), C(action) (the step, or C(restore)), C(rows), C(changes) (the values each row is set to)
        and C(status): C(attempted) when written, C(applied) after the commit, C(failed) (with C(error)) when the change
        was rolled back. A restore uses the rows of every entry, oldest first: each holds values the rows had before
        that attempt."
      - Use the same file for every step of one remediation so that O(state=restored) can undo all of them.
      - The directory must exist; the file is written atomically with mode C(0600).
    type: path
  lock_timeout:
    description:
      - Seconds to wait for the advisory lock C(acs_upgrade_crosszone) that another run may hold before failing.
    type: int
    default: 10
notes:
  - Take a full database backup (C(mysqldump cloud)) before the first change; O(backup_file) only covers the rows this module changes.
  - Stop no management server for this; the steps change two columns of a few C(vm_template) rows.
"""

EXAMPLES = r"""
- name: Report per-zone system VM templates and the remediation plan
  acs.upgrade.cs_template_crosszone:
    login_host: db.example.com
    login_user: cloud
    login_password: "{{ vault_cloud_db_password }}"
  register: crosszone

- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ crosszone.plan_text }}"

- name: Run the next step of the remediation (one step per call)
  acs.upgrade.cs_template_crosszone:
    state: remediated
    canonical_template_id: 634
    backup_file: /var/backups/acs-crosszone.json
    config_file: /root/.my.cnf
  register: step

- name: Say what the next call waits for
  ansible.builtin.debug:
    msg: "{{ step.waiting_for | map(attribute='message') | list }}"
  when: not step.done

- name: Undo every step recorded in the backup file
  acs.upgrade.cs_template_crosszone:
    state: restored
    backup_file: /var/backups/acs-crosszone.json
    config_file: /root/.my.cnf
"""

RETURN = r"""
groups:
  description:
    - One entry per group of SYSTEM templates (same hypervisor and name), after the change of this call.
    - In the order their steps run - groups with zones that cannot recreate their SSVM/CPVM first; each call runs the
      first step any group can run now.
  returned: when O(state) is V(detected) or V(remediated)
  type: list
  elements: dict
  contains:
    hypervisor:
      description: C(vm_template.hypervisor_type).
      type: str
      sample: XenServer
    template_name:
      description: C(vm_template.name) shared by the rows.
      type: str
      sample: systemvm-xenserver-4.5
    status:
      description:
        - V(healthy) (one row, or the remediation is complete), V(step_pending) (the next call changes something),
          V(waiting) (the next call waits for RV(groups[].waiting_for)), V(blocked) (see RV(groups[].problems)).
      type: str
      sample: step_pending
    duplicated:
      description: Whether the group has several rows.
      type: bool
    canonical_template_id:
      description: The row that ends up Active and cross-zone.
      type: int
      sample: 634
    canonical_rule:
      description: V(parameter), or the rule used to choose it.
      type: str
      sample: lowest id downloaded in a zone whose system VMs run on its hypervisor, else lowest id downloaded in some zone
    taken_template_id:
      description: The row CloudStack takes today for this hypervisor (the highest id among its Active SYSTEM templates).
      type: int
      sample: 636
    zones_unable_to_recreate:
      description:
        - Zones of the group whose system VMs run on its hypervisor (or on an unknown one) and where the taken row is
          downloaded in no image store.
      type: list
      elements: int
      sample: [1, 2]
    templates:
      description: The rows, with C(id), C(name), C(state), C(cross_zones), C(zones), C(downloaded_zones) and C(downloaded_store_ids).
      type: list
      elements: dict
    zones:
      description:
        - The zones of the group with C(id), C(name), C(store_ids), C(system_vm_hypervisor) (the hypervisor the zone's
          SSVM and CPVM run on, null when unknown), C(uses_these_templates) (whether that is the group's hypervisor),
          the state of C(secondary_storage_vm) and C(console_proxy) (from C(vm_instance)), C(system_vms_running),
          C(can_recreate) (the Active template CloudStack takes for the zone's hypervisor is in one of its image stores)
          and C(recovered) (see the description).
      type: list
      elements: dict
    plan:
      description: The steps still to run, in order, each with C(name), C(description), C(sql), C(changes) and C(wait_after).
      type: list
      elements: dict
    waiting_for:
      description: What this group waits for now (same form as RV(waiting_for)).
      type: list
      elements: dict
    problems:
      description: Why the group cannot be remediated, or zones the procedure cannot reach.
      type: list
      elements: str
step:
  description: The step this call ran (or would run in check mode); null when it changed nothing.
  returned: when O(state) is V(detected) or V(remediated)
  type: dict
  sample:
    name: activate_zone_2
    hypervisor: XenServer
    template_name: systemvm-xenserver-4.5
    sql:
      - "UPDATE `cloud`.`vm_template` SET state='Inactive', cross_zones=1 WHERE id=634 AND state<=>'Active' AND cross_zones=0;"
      - "UPDATE `cloud`.`vm_template` SET state='Inactive' WHERE id=636 AND state<=>'Active' AND cross_zones=0;"
next_step:
  description: The step the next O(state=remediated) call runs once RV(waiting_for) is satisfied; null when none is left.
  returned: when O(state) is V(detected) or V(remediated)
  type: dict
done:
  description:
    - Whether every examined group is healthy, that is nothing is left to run and the canonical template is C(DOWNLOADED)
      in every image store of its zones. System VMs that are still starting by then show in RV(groups[].zones).
  returned: when O(state) is V(detected) or V(remediated)
  type: bool
needs_remediation:
  description: The opposite of RV(done).
  returned: when O(state) is V(detected) or V(remediated)
  type: bool
waiting_for:
  description:
    - What the caller must wait for before the next call; the next call makes no change until it has happened.
    - Each entry has C(id) (C(kind:zone_id:template_id)), C(kind) (V(system_vms_running) or V(template_download)),
      C(zone_id), C(zone_name), C(template_id), C(store_ids), C(restart_ssvm) (for a download, whether the zone's SSVM
      runs and a restart of its C(cloud) service starts the download; otherwise the SSVM downloads when it starts),
      C(blocked_by) (for a download, why waiting cannot end it - the zone's SSVM cannot start, for example because its
      system VMs run on a hypervisor whose templates are not repaired yet - and what to do; null when waiting ends it)
      and C(message).
  returned: when O(state) is V(detected) or V(remediated)
  type: list
  elements: dict
  sample:
    - id: system_vms_running:2:635
      kind: system_vms_running
      restart_ssvm: false
      zone_id: 2
      zone_name: zone-2
      template_id: 635
      store_ids: []
      blocked_by: null
      message: the SSVM and the CPVM of zone 2 (zone-2) Running (vm_instance type SecondaryStorageVm/ConsoleProxy, ...) ...
plan_text:
  description:
    - The report as lines to read before saying yes, per group with several rows - the rows, the row CloudStack takes
      and the canonical one, each zone (the hypervisor its system VMs run on, whether it can recreate them), the zones
      that cannot, the problems, what the group waits for, and each step with its SQL and what it waits for after.
  returned: when O(state) is V(detected) or V(remediated)
  type: list
  elements: str
  sample:
    - "XenServer 'systemvm-xenserver-4.5': step_pending; rows 634 Active cross_zones=0 in zone(s) 1, ..."
    - "  zone 2 (zone-2), image store(s) 2, 5: system VMs on KVM (SSVM Running, CPVM Running), they do not use these templates"
    - "  zones that cannot recreate their SSVM/CPVM: 1"
    - "  step 1 activate_canonical: make template 634 the only Active XenServer system VM template, cross-zone; ..."
    - "    UPDATE `cloud`.`vm_template` SET cross_zones=1 WHERE id=634 AND state<=>'Active' AND cross_zones=0;"
    - "    then wait for: the SSVM and the CPVM of zone 1 (zone-1) Running (...)"
msg:
  description: What the call did, or why it changed nothing (the waits), or what needs remediation.
  returned: always
  type: str
  sample: "no change: waiting for the SSVM and the CPVM of zone 2 (zone-2) Running (...)"
restored_template_ids:
  description: Ids of the C(vm_template) rows set back (or that would be, in check mode).
  returned: when O(state=restored)
  type: list
  elements: int
  sample: [634, 635, 636]
backup_file:
  description: The backup file written to (remediated) or read (restored).
  returned: when O(backup_file) is set
  type: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.acs.upgrade.plugins.module_utils._common import refuse_if_run_ended
from ansible_collections.acs.upgrade.plugins.module_utils import _crosszone as cz
from ansible_collections.acs.upgrade.plugins.module_utils._mysql import (
    HAS_PYMYSQL,
    PYMYSQL_IMPORT_ERROR,
    DatabaseConnectError,
    connect,
    describe_target,
    mysql_argument_spec,
    pymysql,
)


class TemplateCrossZone:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.params = module.params
        self.database: str = module.params["login_db"]
        self.canonical: int | None = module.params["canonical_template_id"]

    def run(self) -> dict[str, Any]:
        try:
            # A bad backup file is found before the database is touched.
            targets = self._restore_targets() if self.params["state"] == "restored" else {}
            conn = connect(self.params)
        except (cz.CrossZoneError, DatabaseConnectError) as exc:
            self.module.fail_json(msg=str(exc))
        try:
            with conn.cursor() as cursor:
                cz.check_schema(cursor)
                if self.params["state"] == "restored":
                    return self.restore(conn, cursor, targets)
                return self.examine(conn, cursor)
        except cz.CrossZoneError as exc:
            conn.rollback()
            self.module.fail_json(msg=str(exc))
        except pymysql.err.MySQLError as exc:
            conn.rollback()
            self.module.fail_json(msg=f"database error on {describe_target(self.params)} ({self.params['state']}): {exc}")
        finally:
            conn.close()

    def _reports(self, cursor: Any, lock_rows: bool) -> tuple[cz.Cloud, list[cz.GroupReport]]:
        cloud = cz.load_cloud(cursor, lock_rows=lock_rows)
        groups = cz.group_templates(cloud)
        if self.canonical is not None:
            cz.validate_canonical(cursor, self.canonical, cloud)
            groups = [g for g in groups if self.canonical in g.template_ids]
        if self.params["hypervisor"]:
            wanted = self.params["hypervisor"].casefold()
            matching = [g for g in groups if g.hypervisor.casefold() == wanted]
            if not matching and self.canonical is not None:
                canonical = cloud.template(self.canonical)
                others = [t.id for t in cloud.templates if t.hypervisor.casefold() == wanted]
                raise cz.CrossZoneError(
                    f"canonical_template_id {self.canonical} ({canonical.name!r}) is a {canonical.hypervisor} template, but hypervisor is "
                    f"{self.params['hypervisor']!r}"
                    + (f" (its SYSTEM templates: {', '.join(map(str, others))})" if others else " (which has no SYSTEM template)")
                    + "; give a canonical_template_id of that hypervisor, or drop one of the two options"
                )
            if not matching:
                raise cz.CrossZoneError(
                    f"hypervisor {self.params['hypervisor']!r}: no SYSTEM template of it"
                    f"; SYSTEM templates exist for: {', '.join(sorted({t.hypervisor for t in cloud.templates})) or 'none'}"
                )
            groups = matching
        # The order steps run in (and the plan is printed in): groups with zones that cannot recreate their system VMs first.
        groups.sort(key=lambda g: not cz.zones_unable_to_recreate(cloud, g))
        return cloud, [cz.analyse(cloud, g, self.canonical) for g in groups]

    def _result(self, cloud: cz.Cloud, reports: list[cz.GroupReport], step: cz.Step | None) -> dict[str, Any]:
        next_step = next((r.plan[0] for r in reports if r.plan), None)
        done = all(r.action.done for r in reports)
        result: dict[str, Any] = {
            "changed": step is not None,
            "groups": [cz.report_as_dict(cloud, r, self.database, self.canonical) for r in reports],
            "step": step.as_dict(self.database) if step else None,
            "next_step": next_step.as_dict(self.database) if next_step else None,
            "done": done,
            "needs_remediation": not done,
            "waiting_for": [w.as_dict() for r in reports for w in r.action.waits],
        }
        result["plan_text"] = cz.plan_text(result["groups"])
        result["msg"] = self._summary(result, step)
        if self.params["backup_file"]:
            result["backup_file"] = self.params["backup_file"]
        if step and self.module._diff:
            result["diff"] = cz.diff_of(step.changes)
        return result

    def _summary(self, result: dict[str, Any], step: cz.Step | None) -> str:
        if step:
            verb = "would run" if self.module.check_mode else "ran"
            return f"{verb} step {step.name} for the {step.hypervisor} templates {step.template_name!r}"
        if result["done"]:
            return "nothing to do: no system VM template is registered per zone, or the remediation is complete"
        if result["waiting_for"] and self.params["state"] == "remediated":
            return "no change: waiting for " + "; ".join(w["message"] for w in result["waiting_for"])
        pending = [f"{g['hypervisor']} {g['template_name']!r} ({g['status']})" for g in result["groups"] if g["status"] != "healthy"]
        return "remediation needed for: " + ", ".join(pending)

    def examine(self, conn: Any, cursor: Any) -> dict[str, Any]:
        if self.params["state"] == "detected" or self.module.check_mode:
            cloud, reports = self._reports(cursor, lock_rows=False)
            conn.rollback()
            step = self._step_to_run(cloud, reports) if self.params["state"] == "remediated" else None
            if step is None:
                return self._result(cloud, reports, None)
            after = cz.cloud_with_changes(cloud, step.changes)
            return self._result(after, self._reanalyse(after, reports), step)
        with cz.advisory_lock(conn, self.params["lock_timeout"]) as locked:
            conn.begin()
            cloud, reports = self._reports(locked, lock_rows=True)
            step = self._step_to_run(cloud, reports)
            if step is None:
                conn.rollback()
                return self._result(cloud, reports, None)
            self._apply(conn, locked, step.name, step.changes)
        after = cz.cloud_with_changes(cloud, step.changes)
        return self._result(after, self._reanalyse(after, reports), step)

    def _apply(self, conn: Any, cursor: Any, action: str, changes: tuple[cz.Change, ...]) -> None:
        """Back up the rows as an attempted entry, change them in the open transaction, commit, then record the outcome."""
        path = self.params["backup_file"]
        index = cz.append_backup(path, self.database, action, cz.select_full_rows(cursor, [c.template_id for c in changes]), changes)
        try:
            cz.execute_changes(cursor, changes, self.database)
            conn.commit()
        except (cz.CrossZoneError, pymysql.err.MySQLError) as exc:
            conn.rollback()
            try:
                cz.mark_backup(path, self.database, index, "failed", error=f"{exc}; rolled back, nothing was changed")
            except (OSError, cz.CrossZoneError):
                pass  # the entry stays 'attempted'; the error of the change is the one to report
            if isinstance(exc, cz.CrossZoneError):
                raise
            raise cz.CrossZoneError(cz.failed_change_message(action, exc, self.database, describe_target(self.params))) from None
        try:
            cz.mark_backup(path, self.database, index, "applied")
        except (OSError, cz.CrossZoneError) as exc:
            raise cz.CrossZoneError(f"{action} was committed, but backup_file {path} could not record it ({exc}); its entry stays 'attempted'") from None

    def _reanalyse(self, cloud: cz.Cloud, reports: list[cz.GroupReport]) -> list[cz.GroupReport]:
        return [cz.analyse(cloud, r.group, self.canonical) for r in reports]

    def _step_to_run(self, cloud: cz.Cloud, reports: list[cz.GroupReport]) -> cz.Step | None:
        """The first step any group can run now, in the order of ``_reports`` (groups with zones that cannot recreate their
        system VMs first); refuse when nothing can run because groups are blocked."""
        for report in reports:
            if report.action.step:
                cz.check_step_safe(cloud, report.action.step.changes)
                return report.action.step
        blocked = [report.action.blocked for report in reports if report.action.blocked]
        if blocked:
            raise cz.CrossZoneError("cannot remediate: " + "; ".join(blocked))
        return None

    def _restore_targets(self) -> dict[int, dict[str, Any]]:
        path = self.params["backup_file"]
        return cz.restore_targets(cz.read_backup(path, self.database), path)

    def restore(self, conn: Any, cursor: Any, targets: dict[int, dict[str, Any]]) -> dict[str, Any]:
        path = self.params["backup_file"]
        if self.module.check_mode:
            changes = cz.restore_changes(cz.select_state_rows(cursor, sorted(targets), lock_rows=False), targets)
            conn.rollback()
        else:
            with cz.advisory_lock(conn, self.params["lock_timeout"]) as locked:
                conn.begin()
                changes = cz.restore_changes(cz.select_state_rows(locked, sorted(targets), lock_rows=True), targets)
                if changes:
                    # The rows as they are before the restore join the same file; the oldest entry still wins next time.
                    self._apply(conn, locked, "restore", changes)
                else:
                    conn.commit()
        ids = [c.template_id for c in changes]
        verb = "would restore" if self.module.check_mode else "restored"
        result: dict[str, Any] = {
            "changed": bool(changes),
            "restored_template_ids": ids,
            "backup_file": path,
            "msg": f"{verb} vm_template row(s) {', '.join(map(str, ids))}" if ids else "nothing to restore: the rows hold the backed-up values",
        }
        if changes and self.module._diff:
            result["diff"] = cz.diff_of(changes)
        return result


def main() -> None:
    argument_spec = mysql_argument_spec()
    argument_spec.update(
        state={"type": "str", "choices": ["detected", "remediated", "restored"], "default": "detected"},
        canonical_template_id={"type": "int"},
        hypervisor={"type": "str"},
        backup_file={"type": "path"},
        lock_timeout={"type": "int", "default": 10},
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "remediated", ["backup_file"]), ("state", "restored", ["backup_file"])],
    )
    refuse_if_run_ended(module)
    if not HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL"), exception=PYMYSQL_IMPORT_ERROR)
    module.exit_json(**TemplateCrossZone(module).run())


if __name__ == "__main__":
    main()
