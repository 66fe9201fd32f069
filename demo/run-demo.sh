#!/usr/bin/env bash
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
#
# The main job on a simulated cloud: start the management-server simulator with the bundled sample cloud
# (3 zones, 41 routers on 4.13/4.14/4.15 templates, redundant pairs, VPCs with and without tiers, a network whose
# live patch fails), run playbooks/upgrade.yml against it, show where the report is, stop the simulator.
#
#   demo/run-demo.sh [--docker] [--time-factor F] [--group-by zone|pod|cluster|account|domain] [--version V] [--output DIR]
#
#   --docker        run the routers and system VMs as Debian containers (needs dockerd and the router image)
#   --time-factor   scale of the simulated job durations (default 0.01: a 60 s router deploy takes 0.6 s)
#   --version V     the management server release the simulator plays (acs-sim --version: 4.17.0.0 to 4.20.2.0,
#                   each with its own system VM template; default the sample cloud's 4.18.0.0)
#   --output DIR    where the journal, plan and report go (default: a new directory under /tmp)
# Any further arguments go to ansible-playbook (for example -e plan_canary_size=2 or --check).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$REPO/.venv}
BACKEND=memory
TIME_FACTOR=0.01
GROUP_BY=zone
MS_VERSION=""
OUTPUT=""
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --docker) BACKEND=docker ;;
        --time-factor) TIME_FACTOR=$2; shift ;;
        --group-by) GROUP_BY=$2; shift ;;
        --version) MS_VERSION=$2; shift ;;
        --output) OUTPUT=$2; shift ;;
        -h|--help) sed -n '5,17p' "$0"; exit 0 ;;
        *) EXTRA+=("$1") ;;
    esac
    shift
done

if [ ! -x "$VENV/bin/ansible-playbook" ]; then
    echo "== creating the virtual environment $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r "$REPO/requirements-dev.txt"
fi
if [ "$BACKEND" = docker ] && ! docker info >/dev/null 2>&1; then
    echo "--docker needs a running docker daemon (dockerd >/tmp/dockerd.log 2>&1 &)" >&2
    exit 2
fi

WORK=$(mktemp -d /tmp/acs-upgrade-demo.XXXXXX)
OUTPUT=${OUTPUT:-$WORK/output}
mkdir -p "$WORK/collections/ansible_collections/acs" "$OUTPUT"
ln -s "$REPO" "$WORK/collections/ansible_collections/acs/upgrade"

SIM_PID=""
stop_simulator() {
    if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID"
        wait "$SIM_PID" 2>/dev/null || true
        echo "== simulator stopped"
    fi
}
trap stop_simulator EXIT

SIM_ARGS=()
[ -n "$MS_VERSION" ] && SIM_ARGS+=(--version "$MS_VERSION")
echo "== starting the simulator (sample cloud${MS_VERSION:+, management server $MS_VERSION}, backend $BACKEND, time factor $TIME_FACTOR)"
"$VENV/bin/python" "$REPO/tests/simulator/acs-sim" --topology "$REPO/tests/simulator/topologies/sample-cloud.yml" \
    --port 0 --time-factor "$TIME_FACTOR" --backend "$BACKEND" --state-dir "$WORK/sim" "${SIM_ARGS[@]}" >"$WORK/simulator.log" 2>&1 &
SIM_PID=$!
# The docker backend starts a container per router and system VM before it listens.
START_TIMEOUT=$([ "$BACKEND" = docker ] && echo 900 || echo 60)
started=$(date +%s)
until [ -s "$WORK/sim/sim.json" ] && grep -q "listening on" "$WORK/simulator.log"; do
    kill -0 "$SIM_PID" 2>/dev/null || { echo "the simulator exited:" >&2; cat "$WORK/simulator.log" >&2; exit 1; }
    if [ $(($(date +%s) - started)) -ge "$START_TIMEOUT" ]; then
        echo "the simulator did not start within $START_TIMEOUT s; its log: $WORK/simulator.log" >&2
        exit 1
    fi
    sleep 0.2
done
# The keys go through the environment (never the command line, where ps would show them).
eval "$("$VENV/bin/python" - "$WORK/sim/sim.json" <<'EOF'
import json, shlex, sys
info = json.load(open(sys.argv[1]))
print("export CLOUDSTACK_ENDPOINT=%s" % shlex.quote(info["url"]))
print("export CLOUDSTACK_KEY=%s" % shlex.quote(info["keys"]["admin"]["apikey"]))
print("export CLOUDSTACK_SECRET=%s" % shlex.quote(info["keys"]["admin"]["secretkey"]))
EOF
)"
echo "== simulator listening on $CLOUDSTACK_ENDPOINT"

export ANSIBLE_COLLECTIONS_PATH="$WORK/collections"
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_PIPELINING=true
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export ANSIBLE_SHOW_TASK_PATH_ON_FAILURE=false
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export PATH="$VENV/bin:$PATH"

status=0
"$VENV/bin/ansible-playbook" "$REPO/playbooks/upgrade.yml" \
    -e acs_upgrade_dir="$OUTPUT" -e plan_group_by="$GROUP_BY" \
    -e livepatch_poll_interval=1 -e legacy_recreate_poll_interval=1 -e legacy_recreate_parallel=4 \
    "${EXTRA[@]}" || status=$?
stop_simulator

echo
echo "== plan:        $OUTPUT/plan.txt"
echo "== journal:     $OUTPUT/journal.jsonl"
echo "== HTML report: $OUTPUT/report.html"
echo "== Markdown:    $OUTPUT/report.md"
exit $status
