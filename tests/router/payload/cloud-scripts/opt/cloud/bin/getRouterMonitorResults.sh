#!/usr/bin/env bash
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
# Prints the last health check results as the management server fetches them: {"basic": {...}, "advanced": {...}}.
# With "true" as first argument the checks are run fresh first (getRouterHealthCheckResults performfreshchecks=true).
set -euo pipefail
if [ "${1:-false}" = "true" ]; then
  /opt/cloud/bin/monitor_health.py basic advanced
fi
printf '{"basic": %s, "advanced": %s}\n' \
  "$(cat /root/basic_monitor_results.json 2>/dev/null || echo '{}')" \
  "$(cat /root/advanced_monitor_results.json 2>/dev/null || echo '{}')"
