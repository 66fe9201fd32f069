#!/usr/bin/env bash
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
#
# Live patch of a system VM / virtual router, following the steps of CloudStack's patch-sysvms.sh:
# the payload (cloud-scripts.tgz, agent.zip for SSVM/CPVM) has been copied to /var/cache/cloud/; back up the
# current scripts, agent and keystore, unpack the payload, write its md5 to the scripts signature, restart the
# active services of enabled_svcs one at a time, print "version:<md5>" and exit 0.
# Unlike upstream (which looks for a .tar backup that does not exist and deletes the backup anyway), a service
# that fails to restart leads to a real restore: old scripts, old agent, old signature, every service that ran
# before running again; then exit 1.
set -uo pipefail
PATH="/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin"

newpath=/var/cache/cloud
backupfolder=$newpath/bkpup_live_patch
logfile=/var/log/livepatchsystemvm.log
md5file=$newpath/cloud-scripts-signature
svcfile=$newpath/enabled_svcs
agentdir=/usr/local/cloud/systemvm
installed_payload=/usr/share/cloud/cloud-scripts.tgz
TYPE=$(grep -Po 'type=\K[a-zA-Z]*' $newpath/cmdline)

log() { echo "$(date -u +%FT%T.%3NZ) $*" >> "$logfile"; }
fail() { log "FAILED: $*"; echo "patch failed: $*" >&2; exit 1; }

# the lock descriptor must not leak into the daemons started here, or they would hold the lock forever
svc() { acs-svc "$@" 9>&-; }

is_systemvm() { [ "$TYPE" = consoleproxy ] || [ "$TYPE" = secstorage ]; }

exec 9>/run/patch-sysvms.lock
flock -n 9 || fail "another patch is running"
[ -s "$newpath/cloud-scripts.tgz" ] || fail "payload $newpath/cloud-scripts.tgz missing"
if is_systemvm; then
  [ -s "$newpath/agent.zip" ] || fail "payload $newpath/agent.zip missing for a $TYPE VM"
fi
tar -tzf "$newpath/cloud-scripts.tgz" > /dev/null 2>&1 || fail "payload $newpath/cloud-scripts.tgz is not a gzip tar archive"
: > "$logfile"

active_services=()
read -r -a enabled_services < "$svcfile"
for svc in "${enabled_services[@]}"; do
  if svc status "$svc"; then
    active_services+=("$svc")
  fi
done
log "active services: ${active_services[*]}"

backup_old_package() {
  rm -rf "$backupfolder"
  mkdir -p "$backupfolder"
  cp "$md5file" "$backupfolder/cloud-scripts-signature"
  # files the new payload would overwrite are saved; files it would create are recorded so a restore removes them
  local existing=() name
  : > "$backupfolder/created.list"
  while IFS= read -r name; do
    case "$name" in */) continue ;; esac
    if [ -e "/$name" ]; then existing+=("$name"); else echo "$name" >> "$backupfolder/created.list"; fi
  done < <(tar -tzf "$newpath/cloud-scripts.tgz")
  log "backing up ${#existing[@]} script files"
  tar -C / -czf "$backupfolder/cloud-scripts.tgz" "${existing[@]}" >> "$logfile" 2>&1 || return 1
  if [ -d "$agentdir" ]; then
    log "backing up agent package and keystore"
    tar -C "$agentdir" -czf "$backupfolder/agent.tgz" . >> "$logfile" 2>&1 || return 1
  fi
}

restart_services() {
  # one at a time, only those that were running; returns the first that fails
  local svc
  for svc in "${active_services[@]}"; do
    log "restarting $svc"
    if ! svc restart "$svc" >> "$logfile" 2>&1 || ! svc status "$svc"; then
      log "failed to restart $svc"
      failed_service=$svc
      return 1
    fi
  done
}

restore_backup() {
  log "restoring the previous scripts"
  local name
  while IFS= read -r name; do rm -f "/$name"; done < "$backupfolder/created.list"
  tar -C / -xzf "$backupfolder/cloud-scripts.tgz" >> "$logfile" 2>&1
  if [ -f "$backupfolder/agent.tgz" ]; then
    log "restoring agent package and keystore"
    rm -rf "$agentdir"
    mkdir -p "$agentdir"
    tar -C "$agentdir" -xzf "$backupfolder/agent.tgz" >> "$logfile" 2>&1
  fi
  cp "$backupfolder/cloud-scripts-signature" "$md5file"
  local svc broken=()
  for svc in "${active_services[@]}"; do
    svc restart "$svc" >> "$logfile" 2>&1 && svc status "$svc" || broken+=("$svc")
  done
  if [ ${#broken[@]} -gt 0 ]; then
    log "restore incomplete, not running: ${broken[*]}"
    restore_error="restore incomplete, not running: ${broken[*]}"
  fi
}

patch_systemvm() {
  if is_systemvm; then
    log "extracting agent"
    rm -rf "$agentdir"
    mkdir -p "$agentdir"
    python3 -m zipfile -e "$newpath/agent.zip" "$agentdir/" >> "$logfile" 2>&1 || return 1
    find "$agentdir" -name '*.sh' -exec chmod 555 {} +
    if [ -f "$backupfolder/agent.tgz" ]; then
      tar -C "$agentdir" -xzf "$backupfolder/agent.tgz" ./conf >> "$logfile" 2>&1 || return 1
      log "carried over the keystore and certificates"
    fi
  fi
  log "extracting cloud scripts"
  tar -xzf "$newpath/cloud-scripts.tgz" -C / >> "$logfile" 2>&1 || return 1
  md5sum "$newpath/cloud-scripts.tgz" | awk '{print $1}' > "$md5file"
  log "checksum: $(cat "$md5file")"
}

cleanup() {
  rm -rf "$backupfolder"
  rm -f "$newpath/agent.zip" "$newpath/patch-sysvms.sh" "$newpath/cloud-scripts.tgz"
}

failed_service=""
restore_error=""
backup_old_package || { rm -rf "$backupfolder"; fail "backup of the current scripts failed"; }
if ! patch_systemvm; then
  restore_backup
  cleanup
  fail "unpacking the payload failed; previous scripts restored${restore_error:+ ($restore_error)}"
fi
if ! restart_services; then
  restore_backup
  cleanup
  fail "service $failed_service failed to restart with the new scripts; previous scripts and signature restored${restore_error:+ ($restore_error)}"
fi
mkdir -p "$(dirname "$installed_payload")"
mv "$newpath/cloud-scripts.tgz" "$installed_payload"
cleanup
log "patched to $(cat "$md5file")"
echo "version:$(cat "$md5file")"
exit 0
