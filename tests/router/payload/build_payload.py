#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Build the live-patch payload (cloud-scripts.tgz and agent.zip) for a version string.

The archives are byte-for-byte reproducible (sorted members, fixed owners and times, no gzip timestamp), so a
version string always gives the same md5, which the patch script writes as the scripts signature.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS_SRC = HERE / "cloud-scripts"
AGENT_SRC = HERE / "agent"
VERSION_MARKER = "opt/cloud/VERSION"
FIXED_MTIME = 1_700_000_000
BROKEN_HAPROXY_CFG = "global\n\tthis-is-not-a-haproxy-keyword\n"


def _source_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts)


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


def cloud_scripts(version: str, broken_haproxy: bool = False) -> bytes:
    members: dict[str, tuple[bytes, int]] = {}
    for path in _source_files(SCRIPTS_SRC):
        members[path.relative_to(SCRIPTS_SRC).as_posix()] = (path.read_bytes(), 0o755 if os.access(path, os.X_OK) else 0o644)
    members[VERSION_MARKER] = (f"{version}\n".encode(), 0o644)
    if broken_haproxy:
        members["etc/haproxy/haproxy.cfg"] = (BROKEN_HAPROXY_CFG.encode(), 0o644)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(members):
            data, mode = members[name]
            _add_file(tar, name, data, mode)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def agent_zip(version: str) -> bytes:
    members = {path.relative_to(AGENT_SRC).as_posix(): path.read_bytes() for path in _source_files(AGENT_SRC)}
    members["VERSION"] = f"{version}\n".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 22, 13, 20))
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])
    return out.getvalue()


def build(version: str, outdir: Path, broken_haproxy: bool = False) -> str:
    """Write cloud-scripts.tgz and agent.zip into outdir; return the md5 of cloud-scripts.tgz."""
    if not version or any(ch.isspace() for ch in version):
        raise ValueError(f"payload version {version!r} must be a non-empty string without spaces")
    outdir.mkdir(parents=True, exist_ok=True)
    scripts = cloud_scripts(version, broken_haproxy)
    (outdir / "cloud-scripts.tgz").write_bytes(scripts)
    (outdir / "agent.zip").write_bytes(agent_zip(version))
    return hashlib.md5(scripts).hexdigest()  # noqa: S324 - CloudStack's scripts signature is an md5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", required=True, help="version string written into the payload")
    parser.add_argument("--out", required=True, type=Path, help="directory for cloud-scripts.tgz and agent.zip")
    parser.add_argument("--broken-haproxy", action="store_true", help="ship an invalid haproxy.cfg (tests the restore)")
    args = parser.parse_args()
    print(build(args.version, args.out, args.broken_haproxy))


if __name__ == "__main__":
    main()
