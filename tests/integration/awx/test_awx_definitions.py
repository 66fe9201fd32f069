# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""The AWX definitions under awx/: credential type, job templates and surveys, workflow, and the playbook that makes them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = Path(__file__).resolve().parents[3]
AWX = REPO / "awx"
BIN = Path(sys.executable).parent
# AWX's survey question types (awx/api/views: JobTemplateSurveySpec) and the argument spec types an answer of each can feed.
SURVEY_TYPES = {
    "text": {"str", "list", "path", "dict", "raw"},
    "textarea": {"str", "list", "path", "dict", "raw"},
    "password": {"str", "raw"},
    "integer": {"int", "raw"},
    "float": {"float", "raw"},
    "multiplechoice": {"str", "bool", "raw"},
    "multiselect": {"list"},
}
_TEMPLATE_NAME = re.compile(r"{{\s*(\w+)")
# Variables in a module argument's template: names with an underscore (filters such as int or omit have none).
_VARIABLE = re.compile(r"\b([a-z]+_[a-z0-9_]+)\b")


def load(name: str):
    return yaml.safe_load((AWX / name).read_text())


def credential_env(
    inputs: dict[str, str], directory: Path | None = None, type_file: str = "credential_type.yml", safe: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    """The environment and extra vars AWX injects for a credential of one of our types with these inputs: AWX renders
    the injectors with Jinja, writes each file injector (``template.NAME``) into a file of the job and names it
    ``tower.filename.NAME``; a field without a value and without a default is not set. With ``safe``, the environment
    as AWX stores and shows it with the job (CredentialType.inject_credential's safe_env: a secret field reads
    **********)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    credential_type = load(type_file)
    values = {field["id"]: field["default"] for field in credential_type["inputs"]["fields"] if "default" in field}
    values.update(inputs)
    if safe:
        values.update({field["id"]: "**********" for field in credential_type["inputs"]["fields"] if field.get("secret") and field["id"] in values})
    render = ImmutableSandboxedEnvironment().from_string
    injectors = credential_type["injectors"]
    filenames = {}
    for label, template in injectors.get("file", {}).items():
        name = label.split(".", 1)[1]
        path = (directory or Path("/runner/env")) / name
        if directory is not None:
            path.write_text(render(template).render(**values))
        filenames[name] = str(path)
    values["tower"] = {"filename": filenames}
    return (
        {name: render(value).render(**values) for name, value in injectors["env"].items()},
        {name: render(value).render(**values) for name, value in injectors.get("extra_vars", {}).items()},
    )


def argument_specs() -> dict[str, dict]:
    """Every variable a survey may set: the roles' options, and the module options the playbooks pass a variable to."""
    specs: dict[str, dict] = {}
    for path in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        specs.update(yaml.safe_load(path.read_text())["argument_specs"]["main"]["options"])
    for playbook in sorted((REPO / "playbooks").glob("**/*.yml")):
        for play in yaml.safe_load(playbook.read_text()) or []:
            # A module's options come from its tasks and from the play's module_defaults (set once for every call).
            calls = list(play.get("tasks", [])) if "hosts" in play else [play]
            calls.append(play.get("module_defaults") or {})
            for task in calls:
                for action, args in task.items():
                    if not action.startswith("acs.upgrade.cs_") or not isinstance(args, dict):
                        continue
                    module = action.rsplit(".", 1)[1]
                    options = _options(module)
                    for option, value in args.items():
                        for variable in _VARIABLE.findall(str(value)):
                            if option in options:
                                specs.setdefault(variable, {key: options[option][key] for key in ("type", "choices", "elements") if key in options[option]})
    return specs


def _documentation(module: str) -> str:
    text = (REPO / "plugins" / "modules" / ("%s.py" % module)).read_text()
    return text.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0]


def _options(module: str) -> dict:
    """The module's options, with those of the collection's doc fragments it extends (as ansible-doc shows them)."""
    doc = yaml.safe_load(_documentation(module))
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        namespace, name = fragment.rsplit(".", 1) if fragment.count(".") == 3 else (fragment, "DOCUMENTATION")
        if not namespace.startswith("acs.upgrade."):
            continue
        text = (REPO / "plugins" / "doc_fragments" / ("%s.py" % namespace.split(".")[2])).read_text()
        attribute = "DOCUMENTATION" if name == "DOCUMENTATION" else name.upper()
        part = text.split("%s = r\"\"\"" % attribute, 1)[1].split('"""', 1)[0]
        options.update(yaml.safe_load(part).get("options") or {})
    return options


def test_credential_type_injects_the_connection_as_environment_and_the_database_as_extra_vars():
    credential_type = load("credential_type.yml")
    fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
    assert set(credential_type["inputs"]["required"]) == {"endpoint", "key", "secret"}
    assert {name for name, field in fields.items() if field.get("secret")} == {"secret", "db_password"}
    for field in fields.values():
        assert field["type"] == "string" and field["label"]
    for section in credential_type["injectors"].values():
        for value in section.values():
            assert set(_TEMPLATE_NAME.findall(value)) <= set(fields) | {"tower"}, value
    # AWX's file injectors: "template" or "template.NAME", referenced as tower.filename.NAME.
    assert all(label.startswith("template.") for label in credential_type["injectors"]["file"])
    env, extra_vars = credential_env({"endpoint": "https://cloud.example.com/client/api", "key": "k", "secret": "s", "db_password": "p"})
    assert env == {"CLOUDSTACK_ENDPOINT": "https://cloud.example.com/client/api", "CLOUDSTACK_KEY": "k", "CLOUDSTACK_SECRET": "s", "CLOUDSTACK_VERIFY": "true"}
    # Inside an execution environment localhost is the job's container: the database host has no default.
    assert extra_vars == {
        "crosszone_db_host": "",
        "crosszone_db_port": "3306",
        "crosszone_db_user": "cloud",
        "crosszone_db_password": "p",
        "crosszone_db_name": "cloud",
    }
    # The database settings are variables the cross-zone playbook reads.
    crosszone = (REPO / "playbooks" / "crosszone.yml").read_text()
    assert all(name in crosszone for name in extra_vars)


def _survey_format_errors(survey: dict) -> list[str]:
    """AWX's checks of a survey spec (JobTemplateSurveySpec._validate_spec_data), as far as a file can be checked."""
    errors = []
    if not isinstance(survey.get("name"), str) or not isinstance(survey.get("description"), str) or not isinstance(survey.get("spec"), list):
        return ["a survey needs name and description (strings) and spec (a list)"]
    seen = set()
    for index, question in enumerate(survey["spec"]):
        where = "question %d (%s)" % (index, question.get("variable"))
        for key in ("question_name", "variable", "type", "required"):
            if key not in question:
                errors.append("%s has no %s" % (where, key))
        if question.get("type") not in SURVEY_TYPES:
            errors.append("%s: type %r is not one of AWX's" % (where, question.get("type")))
        if question.get("variable") in seen:
            errors.append("%s: variable used twice" % where)
        seen.add(question.get("variable"))
        kind, default = question.get("type"), question.get("default")
        if kind in ("multiplechoice", "multiselect"):
            choices = question.get("choices")
            if not isinstance(choices, list) or not all(isinstance(choice, str) for choice in choices):
                errors.append("%s: choices must be a list of strings" % where)
            elif default is not None and default not in choices:
                errors.append("%s: default %r is not a choice" % (where, default))
        if kind == "integer":
            for key in ("min", "max", "default"):
                if key in question and not isinstance(question[key], int):
                    errors.append("%s: %s must be an integer" % (where, key))
            if "default" in question and not question.get("min", default) <= default <= question.get("max", default):
                errors.append("%s: default outside min..max" % where)
        if kind in ("text", "textarea", "password") and default is not None and not isinstance(default, str):
            errors.append("%s: default must be a string" % where)
    return errors


@pytest.mark.parametrize("template", load("job_templates.yml")["acs_awx_job_templates"], ids=lambda template: template["name"])
def test_job_template_survey_is_awx_format_and_its_answers_pass_the_argument_specs(template):
    assert (REPO / template["playbook"]).is_file()
    survey = template["survey"]
    assert _survey_format_errors(survey) == []
    specs = argument_specs()
    for question in survey["spec"]:
        variable = question["variable"]
        assert variable in specs, "%s: no role argument spec or module option takes %s" % (template["name"], variable)
        spec = specs[variable]
        assert spec.get("type", "str") in SURVEY_TYPES[question["type"]], (variable, spec, question["type"])
        # AWX hands answers over as the survey types them (text and choices as strings): the spec must take each one.
        answers = list(question.get("choices") or []) + ([question["default"]] if "default" in question else [])
        if question["type"] == "integer":
            answers += [question.get("min", 0), question.get("max", 0), str(question.get("min", 0))]
        if question["type"] in ("text", "textarea"):
            # An optional text left blank, and a typed answer (a comma-separated list where the spec takes a list).
            answers += ["", "zone1, r-7-VM"]
        for answer in answers:
            result = ArgumentSpecValidator({variable: {key: value for key, value in spec.items() if key != "description"}}).validate({variable: answer})
            assert not result.error_messages, "%s: answer %r for %s: %s" % (template["name"], answer, variable, result.error_messages)
        if spec.get("choices") and question["type"] == "multiplechoice":
            assert set(question["choices"]) <= {str(choice) for choice in spec["choices"]}
    for variable in template["extra_vars"]:
        assert variable in specs or variable == "acs_upgrade_dir" or variable in (REPO / template["playbook"]).read_text(), variable
    if "acs_upgrade_dir" in (REPO / template["playbook"]).read_text():
        # A playbook that writes into the state directory: in AWX it must be storage that outlives the job's container.
        assert template["extra_vars"].get("acs_upgrade_dir", "").startswith("/var/lib/acs-upgrade/"), template["name"]


def test_workflow_fans_out_per_region_with_an_approval_before_each_upgrade_and_the_report_always():
    names = {template["name"] for template in load("job_templates.yml")["acs_awx_job_templates"]}
    configure = yaml.safe_load((AWX / "configure.yml").read_text())[0]
    layout = next(task for task in configure["tasks"] if task["name"].startswith("Lay out the workflow nodes"))
    nodes = layout["vars"]["acs_awx_region_nodes"]
    kinds = [node["unified_job_template"]["type"] for node in nodes]
    assert kinds == ["job_template", "workflow_approval", "job_template", "job_template"]
    assert [node["unified_job_template"]["name"] for node in nodes if node["unified_job_template"]["type"] == "job_template"] == [
        "acs.upgrade - plan (dry run)",
        "acs.upgrade - upgrade",
        "acs.upgrade - report",
    ]
    assert all(node["unified_job_template"]["name"] in names for node in nodes if node["unified_job_template"]["type"] == "job_template")
    identifiers = [node["identifier"] for node in nodes]
    assert nodes[0]["related"]["success_nodes"] == [{"identifier": identifiers[1]}]
    assert nodes[1]["related"]["success_nodes"] == [{"identifier": identifiers[2]}]
    assert nodes[2]["related"]["always_nodes"] == [{"identifier": identifiers[3]}]
    # AWX counts a failed node with an "always" child as handled: the report job fails the workflow instead when the
    # run did not finish cleanly.
    assert nodes[3]["extra_data"]["report_fail_unless_finished"] is True
    # Every job node of a region runs with that region's credential and state directory.
    assert all(node["extra_data"]["acs_upgrade_dir"] == "{{ acs_awx_state_dir }}" for node in nodes if "extra_data" in node)
    assert all(node["related"]["credentials"] == "{{ acs_awx_credentials }}" for node in nodes if node["unified_job_template"]["type"] == "job_template")
    assert "{{ item.name }}" in identifiers[0] and layout["loop"] == "{{ acs_awx_regions }}"
    # Side by side: AWX runs one job of a job template at a time unless the template allows simultaneous jobs.
    templates = {template["name"]: template for template in load("job_templates.yml")["acs_awx_job_templates"]}
    jobs = [node["unified_job_template"]["name"] for node in nodes if node["unified_job_template"]["type"] == "job_template"]
    assert all(templates[name].get("allow_simultaneous") is True for name in jobs)
    creation = next(task for task in configure["tasks"] if "awx.awx.job_template" in task)["awx.awx.job_template"]
    assert creation["allow_simultaneous"] == "{{ item.allow_simultaneous }}"


def test_configure_playbook_passes_syntax_check_with_awx_awx():
    env = dict(os.environ, PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")))
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", str(AWX / "configure.yml"), "-e", "@%s" % (AWX / "job_templates.yml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The modules it uses are those of the awx.awx collection shipped with the ansible package.
    tasks = yaml.safe_load((AWX / "configure.yml").read_text())[0]["tasks"]
    used = {action for task in tasks for action in task if action.startswith("awx.awx.")}
    assert used == {
        "awx.awx.credential_type",
        "awx.awx.credential",
        "awx.awx.project",
        "awx.awx.notification_template",
        "awx.awx.instance_group",
        "awx.awx.job_template",
        "awx.awx.workflow_job_template",
    }
    collection = Path(__import__("ansible_collections.awx.awx", fromlist=["x"]).__path__[0])
    assert all((collection / "plugins" / "modules" / ("%s.py" % action.rsplit(".", 1)[1])).is_file() for action in used)


def test_configure_playbook_refuses_a_region_without_its_secret_before_it_calls_awx(tmp_path):
    """The credential task hides its items (no_log): a region without key or secret is named by the first check."""
    env = dict(os.environ, PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")), CONTROLLER_HOST="https://127.0.0.1:9")
    regions = tmp_path / "regions.yml"
    regions.write_text("acs_awx_regions:\n  - {name: eu-west, endpoint: https://eu-west.example.com/client/api, key: k}\n")
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), str(AWX / "configure.yml"), "-e", "@%s" % regions],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode != 0
    assert "set acs_awx_regions to a list of {name, endpoint, key, secret}" in done.stdout, done.stdout + done.stderr
    assert "Create the credential type" not in done.stdout


# Options of awx.awx modules that make a task act (and report changed) on every run when true.
_ACTS_EVERY_RUN = {
    "awx.awx.credential": ("update_secrets",),
    "awx.awx.workflow_job_template": ("destroy_current_nodes",),
    "awx.awx.project": ("update_project",),
}


def _awx_module_options(action: str) -> dict:
    collection = Path(__import__("ansible_collections.awx.awx", fromlist=["x"]).__path__[0])
    source = (collection / "plugins" / "modules" / ("%s.py" % action.rsplit(".", 1)[1])).read_text()
    return yaml.safe_load(source.split("DOCUMENTATION = '''", 1)[1].split("'''", 1)[0])["options"]


def _awx_module_defaults(action: str) -> dict:
    return {name: option.get("default") for name, option in _awx_module_options(action).items()}


def _configure_play() -> dict:
    """The play as ansible-playbook loads it (its strings may be templated)."""
    from ansible.parsing.dataloader import DataLoader

    return DataLoader().load_from_file(str(AWX / "configure.yml"), trusted_as_template=True)[0]


def test_configure_playbook_run_again_acts_on_nothing_with_its_default_settings():
    """What a second run sends, read from the task arguments with the play's defaults and awx.awx's own defaults."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    play = _configure_play()
    templar = Templar(loader=DataLoader(), variables=play["vars"])
    tasks = [task for task in play["tasks"] if any(action.startswith("awx.awx.") for action in task)]
    for action, options in _ACTS_EVERY_RUN.items():
        defaults = _awx_module_defaults(action)
        for arguments in (task[action] for task in tasks if action in task):
            for option in options:
                value = templar.template(arguments[option]) if option in arguments else defaults[option]
                assert value is False, "%s: %s is %r, so every run of configure.yml changes it" % (action, option, value)
    # Each switch is there for the run that needs it (a rotated key, a region taken out).
    credential = next(task["awx.awx.credential"] for task in tasks if "awx.awx.credential" in task)
    workflow = next(task["awx.awx.workflow_job_template"] for task in tasks if "awx.awx.workflow_job_template" in task)
    assert Templar(loader=DataLoader(), variables=dict(play["vars"], acs_awx_update_secrets="true")).template(credential["update_secrets"]) is True
    assert Templar(loader=DataLoader(), variables=dict(play["vars"], acs_awx_workflow_rebuild="true")).template(workflow["destroy_current_nodes"]) is True


def test_configure_playbook_credential_secrets_compare_equal_to_what_awx_shows():
    """awx.awx compares a credential with AWX's copy, in which every secret reads $encrypted$: with update_secrets
    false an unchanged credential is left alone, a changed endpoint is still sent."""
    from ansible_collections.awx.awx.plugins.module_utils.controller_api import ControllerAPIModule

    class Comparison(ControllerAPIModule):
        """The module's comparison alone: no connection to a controller."""

        def __init__(self, update_secrets: bool):  # pylint: disable=super-init-not-called
            self.update_secrets = update_secrets

        def _encrypted_changed_warning(self, *args, **kwargs) -> None:
            pass

    def differs(old: dict, new: dict, update_secrets: bool) -> bool:
        return Comparison(update_secrets).objects_could_be_different(old, new)

    sent = {"name": "CloudStack eu-west", "inputs": {"endpoint": "https://eu-west.example.com/client/api", "key": "k", "secret": "s"}}
    shown = {"name": "CloudStack eu-west", "inputs": dict(sent["inputs"], secret="$encrypted$")}
    assert differs(shown, sent, update_secrets=True)
    assert not differs(shown, sent, update_secrets=False)
    moved = {"name": sent["name"], "inputs": dict(sent["inputs"], endpoint="https://eu-west-2.example.com/client/api")}
    assert differs(shown, moved, update_secrets=False)


def test_configure_playbook_sends_every_field_of_a_region_so_that_a_second_run_keeps_them():
    """AWX replaces a credential's inputs as a whole: the fields of the regions file (the CA bundle, the database) are
    sent on every run, and a credential AWX shows with them compares equal; a field of the credential type that the
    regions file names is never dropped, one it does not name is not invented."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible_collections.awx.awx.plugins.module_utils.controller_api import ControllerAPIModule

    play = _configure_play()
    credential = next(task["awx.awx.credential"] for task in play["tasks"] if "awx.awx.credential" in task)
    region = {
        "name": "eu-west",
        "endpoint": "https://eu-west.example.com/client/api",
        "key": "k",
        "secret": "s",
        "ca_bundle": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "db_host": "db.eu-west.example.com",
        "db_password": "p",
    }
    inputs = Templar(loader=DataLoader(), variables=dict(play["vars"], item=region)).template(credential["inputs"])
    assert inputs == {key: value for key, value in region.items() if key != "name"}
    fields = {field["id"] for field in yaml.safe_load((AWX / "credential_type.yml").read_text())["inputs"]["fields"]}
    assert set(play["vars"]["acs_awx_credential_fields"]) == fields

    class Comparison(ControllerAPIModule):
        def __init__(self):  # pylint: disable=super-init-not-called
            self.update_secrets = False

        def _encrypted_changed_warning(self, *args, **kwargs) -> None:
            pass

    shown = {"inputs": dict(inputs, secret="$encrypted$", db_password="$encrypted$")}
    assert not Comparison().objects_could_be_different(shown, {"inputs": inputs})


def test_workflow_nodes_are_updated_in_place_by_identifiers_unique_per_region():
    """Without destroy_current_nodes, awx.awx finds each node by its identifier in the workflow: one per node and region."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    play = _configure_play()
    layout = next(task for task in play["tasks"] if task["name"].startswith("Lay out the workflow nodes"))
    identifiers = []
    for region in ({"name": "eu-west"}, {"name": "us-east"}):
        templar = Templar(loader=DataLoader(), variables=dict(play["vars"], item=region))
        identifiers += [templar.template(node["identifier"]) for node in layout["vars"]["acs_awx_region_nodes"]]
    assert len(identifiers) == len(set(identifiers)) == 8


def _configure_templar(**more):
    """A templar with what configure.yml's tasks see: its vars and its vars_files."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    play = _configure_play()
    loader = DataLoader()
    variables = dict(play["vars"], **loader.load_from_file(str(AWX / "workflow.yml")), **load("job_templates.yml"), **more)
    return play, Templar(loader=loader, variables=variables)


def _pod_spec(templar) -> str:
    """awx/container_group.yml as the template lookup of configure.yml renders it."""
    from ansible.template import trust_as_template

    return templar.template(trust_as_template((AWX / "container_group.yml").read_text()))


def test_a_container_group_shares_the_state_directory_on_a_read_write_many_claim_between_the_jobs_pods():
    play, templar = _configure_templar(acs_awx_container_group="acs-upgrade", acs_awx_container_group_namespace="awx-jobs")
    task = next(task for task in play["tasks"] if "awx.awx.instance_group" in task)
    arguments = task["awx.awx.instance_group"]
    assert set(arguments) <= set(_awx_module_options("awx.awx.instance_group"))
    assert templar.template(arguments["name"]) == "acs-upgrade"
    assert templar.evaluate_conditional(task["when"]) is True
    assert templar.template(arguments["is_container_group"]) is True
    assert arguments["pod_spec_override"] == "{{ lookup('ansible.builtin.template', 'container_group.yml') }}"
    pod = yaml.safe_load(_pod_spec(templar))
    assert pod["kind"] == "Pod" and pod["metadata"]["namespace"] == "awx-jobs"
    # AWX runs the job in the container named worker, with ansible-runner's worker command.
    worker = next(container for container in pod["spec"]["containers"] if container["name"] == "worker")
    assert worker["args"][:2] == ["ansible-runner", "worker"]
    state_root = templar.available_variables["acs_awx_workflow"]["state_root"]
    mount = next(mount for mount in worker["volumeMounts"] if mount["mountPath"] == state_root)
    volume = next(volume for volume in pod["spec"]["volumes"] if volume["name"] == mount["name"])
    assert volume["persistentVolumeClaim"]["claimName"] == play["vars"]["acs_awx_container_group_claim"]
    # Every job template's state directory, and each region's, lies on that volume.
    for template in load("job_templates.yml")["acs_awx_job_templates"]:
        state = template["extra_vars"].get("acs_upgrade_dir")
        assert state is None or state.startswith(state_root + "/"), template["name"]
    # The same text on every run: AWX keeps the pod spec as sent, so a second run of configure.yml changes nothing.
    assert _pod_spec(templar) == _pod_spec(_configure_templar(acs_awx_container_group="acs-upgrade", acs_awx_container_group_namespace="awx-jobs")[1])
    # The job templates run in it.
    creation = next(task for task in play["tasks"] if "awx.awx.job_template" in task)["awx.awx.job_template"]
    assert templar.template(creation["instance_groups"]) == ["acs-upgrade"]


def test_without_a_container_group_configure_leaves_instance_groups_alone():
    play, templar = _configure_templar()
    task = next(task for task in play["tasks"] if "awx.awx.instance_group" in task)
    assert templar.evaluate_conditional(task["when"]) is False
    creation = next(task for task in play["tasks"] if "awx.awx.job_template" in task)["awx.awx.job_template"]
    from ansible.errors import AnsibleError

    with pytest.raises(AnsibleError):  # omit: the job templates' instance groups are left as AWX has them
        templar.template(creation["instance_groups"])


def test_the_upgrade_job_asks_every_plan_setting_the_plan_job_asks_with_the_same_defaults():
    """An approved plan runs only when the upgrade would make the same plan: the upgrade job template must ask each
    plan_* setting the plan job template asks, with the same default and choices, or its answer is the role default."""
    templates = {template["name"]: template for template in load("job_templates.yml")["acs_awx_job_templates"]}

    def plan_questions(name: str) -> dict:
        return {
            question["variable"]: (question.get("default"), question.get("choices"), question["type"])
            for question in templates[name]["survey"]["spec"]
            if question["variable"].startswith("plan_")
        }

    assert plan_questions("acs.upgrade - plan (dry run)") == plan_questions("acs.upgrade - upgrade")


def test_the_plan_job_fails_on_a_preflight_blocker_and_takes_the_accepted_check_ids_the_upgrade_job_takes():
    """The workflow stops at the plan job, before its approval, when the preflight has a blocker left: no approver is
    offered a plan that the upgrade would refuse. A blocker accepted for the upgrade is accepted for the plan too."""
    templates = {template["name"]: template for template in load("job_templates.yml")["acs_awx_job_templates"]}
    plan_template = templates["acs.upgrade - plan (dry run)"]
    assert plan_template["extra_vars"]["plan_fail_on_blockers"] is True
    assert argument_specs()["plan_fail_on_blockers"]["default"] is False

    def ignore_question(name: str) -> dict:
        return next(question for question in templates[name]["survey"]["spec"] if question["variable"] == "preflight_ignore")

    assert ignore_question("acs.upgrade - plan (dry run)") == ignore_question("acs.upgrade - upgrade")


def test_the_webhook_credential_type_injects_its_url_and_token_as_secret_environment_variables_only():
    """The webhook's URL and token never travel as extra vars (every AWX job shows its extra vars): a credential of the
    type "Upgrade webhook (acs.upgrade)" sets the environment variables upgrade.yml and upgrade_notify read."""
    credential_type = load("webhook_credential_type.yml")
    fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
    assert set(fields) == {"url", "token"} and credential_type["inputs"]["required"] == ["url"]
    # Both secret: AWX shows a secret field as ********** in the job's environment, and a webhook's URL may be its secret.
    assert all(field.get("secret") is True and field["type"] == "string" for field in fields.values())
    assert set(credential_type["injectors"]) == {"env"}, "only environment variables: extra vars are visible in every job"
    # AWX's kinds for a custom credential type, and an environment it lets a credential set (no ANSIBLE_*).
    assert credential_type["kind"] in ("cloud", "net")
    assert not any(name.startswith("ANSIBLE_") for name in credential_type["injectors"]["env"])
    env, extra_vars = credential_env({"url": "https://hooks.example.com/T0/B1/s3cr3t", "token": "t-42"}, type_file="webhook_credential_type.yml")
    assert env == {"ACS_UPGRADE_NOTIFY_URL": "https://hooks.example.com/T0/B1/s3cr3t", "ACS_UPGRADE_NOTIFY_TOKEN": "t-42"} and extra_vars == {}
    # Without a token, an empty one: the module then sends no Authorization header.
    assert credential_env({"url": "https://hooks.example.com/x"}, type_file="webhook_credential_type.yml")[0]["ACS_UPGRADE_NOTIFY_TOKEN"] == ""
    shown = credential_env({"url": "https://hooks.example.com/T0/B1/s3cr3t", "token": "t-42"}, type_file="webhook_credential_type.yml", safe=True)[0]
    assert "s3cr3t" not in json.dumps(shown) and "t-42" not in json.dumps(shown)
    # What reads them: the upgrade playbook's defaults, and the module's fallback when a play passes neither.
    upgrade = (REPO / "playbooks" / "upgrade.yml").read_text()
    module = (REPO / "plugins" / "modules" / "upgrade_notify.py").read_text()
    for name in env:
        assert "lookup('ansible.builtin.env', '%s')" % name in upgrade and '(env_fallback, ["%s"])' % name in module
    # No job template asks for them or sets them as extra vars.
    for template in load("job_templates.yml")["acs_awx_job_templates"]:
        variables = set(template["extra_vars"]) | {question["variable"] for question in template["survey"]["spec"]}
        assert not any("notify_url" in name or "notify_token" in name for name in variables), template["name"]


def test_configure_attaches_the_webhook_credential_to_the_upgrade_job_template_when_a_webhook_is_set():
    from ansible.errors import AnsibleError

    webhook = {"url": "https://hooks.example.com/T0/B1/s3cr3t", "token": "t-42"}
    definition = load("webhook_credential_type.yml")
    # The play reads the definition from the file (a lookup, which a bare templar cannot run: given here as read).
    play, templar = _configure_templar(acs_awx_webhook=webhook, acs_awx_webhook_credential_type=definition)
    assert play["vars"]["acs_awx_webhook_credential_type"] == "{{ lookup('ansible.builtin.file', 'webhook_credential_type.yml') | from_yaml }}"
    tasks = play["tasks"]
    kind = next(task for task in tasks if task["name"] == "Create the webhook's credential type")
    credential = next(task for task in tasks if task["name"] == "Create the webhook's credential")
    for task in (kind, credential):
        assert templar.evaluate_conditional(task["when"]) is True
    assert {key: templar.template(value) for key, value in kind["awx.awx.credential_type"].items() if key != "state"} == {
        key: definition[key] for key in ("name", "description", "kind", "inputs", "injectors")
    }
    arguments = credential["awx.awx.credential"]
    assert credential["no_log"] is True
    assert templar.template(arguments["credential_type"]) == definition["name"]
    assert templar.template(arguments["inputs"]) == webhook
    name = templar.template(arguments["name"])
    creation = next(task for task in tasks if "awx.awx.job_template" in task)["awx.awx.job_template"]
    assert set(creation) <= set(_awx_module_options("awx.awx.job_template"))
    for template in load("job_templates.yml")["acs_awx_job_templates"]:
        with_item = _configure_templar(acs_awx_webhook=webhook, acs_awx_webhook_credential_type=definition, item=template)[1]
        if template["playbook"] == "playbooks/upgrade.yml":
            assert with_item.template(creation["credentials"]) == [name]
        else:
            with pytest.raises(AnsibleError):  # omit: the other job templates keep the credentials they have
                with_item.template(creation["credentials"])
    # Without a webhook nothing is made and no job template's credentials are touched.
    templar = _configure_templar(acs_awx_webhook_credential_type=definition)[1]
    assert templar.evaluate_conditional(kind["when"]) is False and templar.evaluate_conditional(credential["when"]) is False
    upgrade = next(template for template in load("job_templates.yml")["acs_awx_job_templates"] if template["playbook"] == "playbooks/upgrade.yml")
    with pytest.raises(AnsibleError):
        _configure_templar(acs_awx_webhook_credential_type=definition, item=upgrade)[1].template(creation["credentials"])


def test_configure_playbook_refuses_a_webhook_without_its_url_before_it_calls_awx(tmp_path):
    env = dict(os.environ, PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")), CONTROLLER_HOST="https://127.0.0.1:9")
    regions = tmp_path / "regions.yml"
    regions.write_text(
        "acs_awx_regions:\n  - {name: eu-west, endpoint: https://eu-west.example.com/client/api, key: k, secret: s}\n"
        "acs_awx_webhook: {token: t-42-never-shown}\n"
    )
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), str(AWX / "configure.yml"), "-e", "@%s" % regions], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode != 0
    assert "set acs_awx_webhook to {url, token}" in done.stdout, done.stdout + done.stderr
    assert "t-42-never-shown" not in done.stdout + done.stderr and "Create the credential type" not in done.stdout


def _readme_awx_steps() -> dict[str, str]:
    """The numbered steps of the README's "AWX/Tower" section, by their bold title."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## AWX/Tower\n", 1)[1].split("\n### ", 1)[0]
    parts = re.split(r"^\d\. \*\*(.+?)\*\*", section, flags=re.M)
    return {title.rstrip("."): body for title, body in zip(parts[1::2], parts[2::2])}


def _yaml_blocks(text: str) -> list:
    return [yaml.safe_load(re.sub(r"^ {3}", "", block, flags=re.M)) for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)]


def test_the_readme_takes_an_administrator_from_an_empty_awx_to_a_first_approved_run_with_the_names_configure_makes():
    """The first job an administrator launches by hand gets what the workflow would give it: the region's credential
    (as configure.yml names it) and the region's state directory (not the template's default, which is no region's)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    steps = _readme_awx_steps()
    assert list(steps)[:6] == [
        "Execution environment",
        "Storage for the state directory",
        "A regions file",
        "Create the objects",
        "Sync the project",
        "Launch the workflow",
    ]
    play = _configure_play()
    state_root = DataLoader().load_from_file(str(AWX / "workflow.yml"))["acs_awx_workflow"]["state_root"]
    regions_file = next(block for block in _yaml_blocks(steps["A regions file"]) if "acs_awx_regions" in block)
    region = regions_file["acs_awx_regions"][0]["name"]
    # The regions file's webhook passes configure.yml's check: a URL, and a token at most besides.
    assert set(regions_file["acs_awx_webhook"]) == {"url", "token"}
    layout = next(task for task in play["tasks"] if task["name"].startswith("Lay out the workflow nodes"))
    templar = Templar(loader=DataLoader(), variables=dict(play["vars"], item={"name": region}, acs_awx_workflow={"state_root": state_root}))
    credential = templar.template(layout["vars"]["acs_awx_credentials"])[0]["name"]
    state_dir = templar.template(layout["vars"]["acs_awx_state_dir"])

    first_job = steps["Sync the project"]
    assert '"acs.upgrade - plan (dry run)"' in first_job and "Credentials" in first_job and '"%s"' % credential in first_job
    assert {"acs_upgrade_dir": state_dir} in _yaml_blocks(first_job), "the launch's extra vars must name the region's state directory"
    plan_template = next(template for template in load("job_templates.yml")["acs_awx_job_templates"] if template["playbook"] == "playbooks/plan.yml")
    assert "`%s`, belongs to no region" % plan_template["extra_vars"]["acs_upgrade_dir"] in first_job
    assert "`%s`" % state_dir in first_job or state_dir in first_job

    workflow = steps["Launch the workflow"]
    assert "`acs_upgrade_dir: %s/REGION`" % state_root in workflow and "credential" in workflow
    assert "`acs_awx_webhook`" in workflow and "`plan_approved_digest`" in workflow and "Workflow Approvals" in workflow
    # The inventory the objects need, with configure.yml's default, is named where they are created.
    assert "`acs_awx_inventory`" in steps["Create the objects"] and '"%s"' % play["vars"]["acs_awx_inventory"] in steps["Create the objects"]
    # The workflow asks nothing: include and exclude are the survey defaults, the same in both job templates.
    assert "`plan_include`" in workflow and "`plan_exclude`" in workflow and "**both** job" in workflow
    assert all('"%s"' % template["name"] in workflow for template in load("job_templates.yml")["acs_awx_job_templates"][:2])
    assert "`plan_fail_on_blockers: true`" in workflow
    # The webhook's credential as configure.yml names it.
    assert '"%s"' % play["vars"]["acs_awx_webhook_credential"] in steps["Create the objects"]
