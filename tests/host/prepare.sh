#!/usr/bin/env bash
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Prepare a Debian host for the integration suites: install the Debian packages they use and start dockerd.
# chromium renders the HTML report headless in its test (as root it needs --no-sandbox).
# Idempotent; only installs what is missing. MariaDB is not started here: each test session starts its own
# private server on a loopback port.
set -euo pipefail

packages=(docker.io debootstrap mariadb-server mariadb-client iproute2 git shellcheck chromium)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    echo "installing Debian packages: ${missing[*]}"
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo "starting dockerd"
    # Under .ci/run, its pid goes to the run's directory: the run stops the dockerd it started, and no other.
    (
        dockerd >/tmp/acs-upgrade-dockerd.log 2>&1 &
        if [ -n "${ACS_UPGRADE_CI_RUN_DIR:-}" ]; then echo $! >"$ACS_UPGRADE_CI_RUN_DIR/dockerd.pid"; fi
    )
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /tmp/acs-upgrade-dockerd.log" >&2; exit 1; }
fi
echo "host ready: docker $(docker version --format '{{.Server.Version}}'), debootstrap, mariadb $(mariadbd --version 2>/dev/null | awk '{print $3}'), $(chromium --version 2>/dev/null)"
