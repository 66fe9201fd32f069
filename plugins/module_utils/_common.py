# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""What every CloudStack module of acs.upgrade shares: connection options, the client, error handling."""

from __future__ import annotations

import configparser
import copy
import json
import os
import typing as t
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

from ansible_collections.acs.upgrade.plugins.module_utils._api import (
    DEFAULT_TIMEOUT,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    CloudStackClient,
    CloudStackError,
    check_timeout,
    redact,
)

_CONNECTION_SPEC: dict[str, dict[str, t.Any]] = {
    "api_url": {"type": "str", "fallback": (env_fallback, ["CLOUDSTACK_ENDPOINT"])},
    "api_key": {"type": "str", "fallback": (env_fallback, ["CLOUDSTACK_KEY"]), "no_log": True},
    "api_secret": {"type": "str", "fallback": (env_fallback, ["CLOUDSTACK_SECRET"]), "no_log": True},
    "api_timeout": {"type": "int", "fallback": (env_fallback, ["CLOUDSTACK_TIMEOUT"])},
    "api_verify_ssl_cert": {"type": "str", "fallback": (env_fallback, ["CLOUDSTACK_VERIFY"])},
    "api_http_method": {"type": "str", "choices": ["get", "post"], "fallback": (env_fallback, ["CLOUDSTACK_METHOD"])},
    "api_region": {"type": "str", "fallback": (env_fallback, ["CLOUDSTACK_REGION"])},
    "api_signature_version": {"type": "int", "choices": [2, 3], "default": 3},
}

# cloudstack.ini keys, as the cs library and ngine_io.cloudstack read them.
_INI_KEYS = {
    "api_url": "endpoint",
    "api_key": "key",
    "api_secret": "secret",
    "api_timeout": "timeout",
    "api_verify_ssl_cert": "verify",
    "api_http_method": "method",
}


# The selectors of doc fragment acs.upgrade.selectors; account needs domain (SELECTOR_REQUIRED_BY).
_SELECTOR_SPEC: dict[str, dict[str, t.Any]] = {name: {"type": "str"} for name in ("zone", "pod", "cluster", "domain", "account")}
SELECTOR_REQUIRED_BY = {"account": "domain"}
# The job options of doc fragment acs.upgrade.jobs, checked by job_option_problems.
_JOB_SPEC: dict[str, dict[str, t.Any]] = {"poll_interval": {"type": "float", "default": 5}, "max_fail_percentage": {"type": "float", "default": 0}}


def selector_argument_spec() -> dict[str, dict[str, t.Any]]:
    """zone, pod, cluster, domain and account (a fresh copy each time)."""
    return copy.deepcopy(_SELECTOR_SPEC)


def selected(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The selector values of ``params``, as ``_fleet.Fleet.read`` takes them."""
    return {name: params.get(name) for name in _SELECTOR_SPEC}


def job_argument_spec() -> dict[str, dict[str, t.Any]]:
    """poll_interval and max_fail_percentage (a fresh copy each time)."""
    return copy.deepcopy(_JOB_SPEC)


def job_option_problems(params: t.Mapping[str, t.Any]) -> list[str]:
    """What is wrong with the job options of ``params``, in words that name the option and its range."""
    problems = []
    if params["poll_interval"] <= 0:
        problems.append("poll_interval must be more than 0, not %s" % params["poll_interval"])
    if not 0 <= params["max_fail_percentage"] <= 100:
        problems.append("max_fail_percentage must be between 0 and 100, not %s" % params["max_fail_percentage"])
    return problems


def cloudstack_argument_spec(**module_options: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """The connection options plus the module's own (a fresh copy each time)."""
    spec = copy.deepcopy(_CONNECTION_SPEC)
    spec.update(module_options)
    return spec


def _ini_section(region: str) -> dict[str, str]:
    candidates = [os.environ.get("CLOUDSTACK_CONFIG"), os.path.join(os.getcwd(), "cloudstack.ini"), os.path.expanduser("~/.cloudstack.ini")]
    for path in candidates:
        if path and os.path.isfile(path):
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(path)
            if not parser.has_section(region):
                raise ValueError(
                    "the section [%s] (api_region) is not in %s; add it or set api_region to one of: %s" % (region, path, ", ".join(parser.sections()))
                )
            return dict(parser.items(region))
    return {}


def _verify_value(value: str | None) -> bool | str:
    if value is None:
        return True
    lowered = value.strip().lower()
    if lowered in BOOLEANS_TRUE:
        return True
    if lowered in BOOLEANS_FALSE:
        return False
    return value


class MissingConnectionSettings(ValueError):
    """The API URL, key or secret is set nowhere; ``missing`` names them, ``region`` is the cloudstack.ini section read."""

    def __init__(self, missing: list[str], region: str):
        self.missing = missing
        self.region = region
        super().__init__(
            "missing CloudStack connection settings: %s. Set them as module options, with module_defaults for group/acs.upgrade.cloudstack, "
            "with CLOUDSTACK_ENDPOINT/CLOUDSTACK_KEY/CLOUDSTACK_SECRET, or in the [%s] section of cloudstack.ini" % (", ".join(missing), region)
        )


def connection_settings(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Module parameters (already with their environment fallbacks) completed from cloudstack.ini."""
    # An empty option counts as unset: the playbooks pass "{{ lookup('env', ...) }}", which is "" without the variable.
    settings = {name: None if params.get(name) == "" else params.get(name) for name in _CONNECTION_SPEC}
    region = settings["api_region"] or "cloudstack"
    if any(settings[name] is None for name in _INI_KEYS):
        section = _ini_section(region)
        for name, key in _INI_KEYS.items():
            if settings[name] is None and section.get(key) not in (None, ""):
                settings[name] = section[key]
    missing = [name for name in ("api_url", "api_key", "api_secret") if not settings[name]]
    if missing:
        raise MissingConnectionSettings(missing, region)
    return settings


def url_password(url: str | None) -> str | None:
    """The password of ``user:password@`` in a URL, if it has one."""
    try:
        return urlsplit(url).password if url else None
    except ValueError:
        return None


def client_from_params(params: t.Mapping[str, t.Any]) -> CloudStackClient:
    settings = connection_settings(params)
    return CloudStackClient(
        endpoint=settings["api_url"],
        api_key=settings["api_key"],
        api_secret=settings["api_secret"],
        timeout=check_timeout(DEFAULT_TIMEOUT if settings["api_timeout"] in (None, "") else settings["api_timeout"]),
        verify=_verify_value(settings["api_verify_ssl_cert"]),
        method=(settings["api_http_method"] or "get").lower(),
        signature_version=int(settings["api_signature_version"] or 3),
    )


# The process that runs a module: which ansible-playbook run it belongs to, and whether that run still runs.


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs; a zombie (ended, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _parent_of(pid: int) -> int | None:
    try:
        with open("/proc/%d/status" % pid, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _runs_ansible_playbook(pid: int) -> bool:
    """Whether ``pid`` is the ``ansible-playbook`` program (or a Python running it), not a shell or a wrapper such as
    ``sh -c "ansible-playbook a.yml & ansible-playbook b.yml"`` that starts several runs: those would share one owner."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = [arg.decode("utf-8", "replace") for arg in handle.read().split(b"\0") if arg]
    except OSError:
        return False
    programs = argv[:1]
    if argv and os.path.basename(argv[0]).startswith("python"):
        programs = [arg for arg in argv[1:3] if not arg.startswith("-")][:1]
    return any(os.path.basename(program) == "ansible-playbook" for program in programs)


def run_owner() -> int:
    """The pid of the ``ansible-playbook`` process this module runs under (the run), else the parent's.

    Ansible's workers are forks of it with the same command line: the topmost match is the run.
    """
    pid, found, seen = os.getppid(), 0, 0
    while pid and pid > 1 and seen < 64:
        if _runs_ansible_playbook(pid):
            found = pid
        pid = _parent_of(pid) or 0
        seen += 1
    return found or os.getppid()


def run_ended() -> bool:
    """Whether the ``ansible-playbook`` run this module belongs to has ended (cancelled or killed) before the module started.

    Ansible runs every task in a worker forked from the run, with the run's command line, in a session of its own
    (``os.setsid``): killing the run's process group (ansible-runner's cancel and timeout, AWX's cancel) does not kill a
    worker that was starting a task at that moment, and its module would act for a run that is over. A live run shows
    two ``ansible-playbook`` processes above the module (the worker and the run); a worker whose run is gone shows one,
    a session leader.
    """
    pid, found, seen = os.getppid(), [], 0
    while pid and pid > 1 and seen < 64:
        if _runs_ansible_playbook(pid):
            found.append(pid)
        pid = _parent_of(pid) or 0
        seen += 1
    if len(found) != 1:
        return False
    try:
        return os.getsid(found[0]) == found[0]
    except OSError:
        return False


def refuse_if_run_ended(module: AnsibleModule) -> None:
    """Fail, before anything is read or changed, a task that a cancelled or killed run's worker started as the run ended."""
    if run_ended():
        module.fail_json(msg="the playbook run that started this task has ended (cancelled or killed): nothing was done; run the playbook again to resume")


class CloudStackModule:
    """Base of a module's manager: the AnsibleModule, a client, and failures that never leak the secret."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self._client: CloudStackClient | None = None
        # A password written into api_url (http://user:password@host) is masked in every output, as no_log values are.
        password = url_password(self.params.get("api_url"))
        if password:
            module.no_log_values.add(password)

    @property
    def client(self) -> CloudStackClient:
        # Built on first use: a module that can run without the API (cs_vr_health source=local) needs no connection settings.
        if self._client is None:
            if not HAS_REQUESTS:
                self.module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
            try:
                self._client = client_from_params(self.params)
            except ValueError as exc:
                self.fail(str(exc))
        return self._client

    def fail(self, msg: str, **result: t.Any) -> t.NoReturn:
        self.module.fail_json(msg=redact(msg, self.params.get("api_secret")), **result)

    def run(self) -> dict[str, t.Any]:
        raise NotImplementedError

    def execute(self) -> t.NoReturn:
        """Run the manager and exit the module; API errors become a failure naming the call and CloudStack's answer."""
        refuse_if_run_ended(self.module)
        try:
            result = self.run()
        except CloudStackError as exc:
            self.fail(exc.message, api_error=exc.as_dict())
        self.module.exit_json(**result)


# The files of a state directory (plan, journal, progress, reports, fleet) are its user's alone, whatever the umask:
# they name every router of the cloud, and a report in the background runs under async_wrapper's umask of 022.


def write_private_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600, its directory 0700 when created), replacing it in one step."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    temporary = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def write_private_json(path: str, data: t.Any) -> None:
    """Write ``data`` as JSON to ``path`` as ``write_private_text`` does."""
    write_private_text(path, json.dumps(data, separators=(",", ":")))


def append_private_text(path: str, text: str) -> None:
    """Append ``text`` to ``path``, created with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(text)
