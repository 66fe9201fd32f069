# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Fixtures for the router containers: the image (built once, cached), a network, and containers per test."""
from __future__ import annotations

import fcntl
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from acs_sim.backends.docker import DockerBackend, build_image, docker


@pytest.fixture(scope="session")
def router_image() -> str:
    started = time.monotonic()
    # Parallel workers (pytest -n) would each build a missing image at the same time, writing the same cached
    # debootstrap tarball: one builds, the others wait and then find the image in the cache.
    with (Path(tempfile.gettempdir()) / "acs-upgrade-router-image.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        image = build_image()
    print(f"\nrouter image {image} ready in {time.monotonic() - started:.1f} s")
    return image


@pytest.fixture(scope="session")
def router_network() -> Iterator[str]:
    name = f"acs-it-{uuid.uuid4().hex[:8]}"
    docker("network", "create", name)
    yield name
    docker("network", "rm", name, check=False)


@pytest.fixture
def backend(router_image: str, router_network: str) -> Iterator[DockerBackend]:
    """Container lifecycle as the simulator drives it; every container it started is removed afterwards."""
    instance = DockerBackend(image=router_image, network=router_network, prefix=f"it-{uuid.uuid4().hex[:6]}-", keep=False)
    yield instance
    instance.close()
