#!/usr/bin/env bash
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
#
# Builds the router / system VM container image without any registry:
#   debootstrap (minbase bookworm from the host's Debian mirror) -> docker import (base image, cached)
#   -> overlay (tests/router/rootfs + the initial payload) -> docker commit acs-upgrade/router:<recipe-hash>, :latest
# The image is rebuilt only when the recipe (this script, the overlay, the payload sources) changes; the debootstrap
# tarball is cached in ${ACS_CACHE_DIR:-~/.cache/acs-upgrade} and reused until the package list changes.
# Prints the image reference (acs-upgrade/router:<recipe-hash>) on the last line of stdout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR=${ACS_CACHE_DIR:-$HOME/.cache/acs-upgrade}
IMAGE_REPO=acs-upgrade/router
SUITE=bookworm
PACKAGES=python3,python-is-python3,haproxy,dnsmasq,apache2,openssh-server,iproute2,procps
# Scripts version the image starts with: routers "deployed from the old template" before any patch.
BASE_SCRIPTS_VERSION=4.16.1.0
SOURCES=/etc/apt/sources.list.d/debian.sources

log() { echo "build-image: $*" >&2; }

mirror() {
  local uri
  if [ -n "${ACS_DEBIAN_MIRROR:-}" ]; then
    echo "$ACS_DEBIAN_MIRROR"
    return
  fi
  uri=$(awk '/^URIs:/ {print $2; exit}' "$SOURCES" 2>/dev/null || true)
  if [ -z "$uri" ]; then
    echo "build-image: no Debian mirror found in $SOURCES; set ACS_DEBIAN_MIRROR" >&2
    exit 1
  fi
  echo "$uri"
}

for tool in docker debootstrap python3 tar sha256sum; do
  command -v "$tool" >/dev/null || { log "$tool is missing: run tests/host/prepare.sh (apt-get install docker.io debootstrap)"; exit 1; }
done
docker info >/dev/null 2>&1 || { log "docker daemon not reachable: start it (dockerd >/tmp/dockerd.log 2>&1 &)"; exit 1; }

base_key=$(printf '%s\n' "minbase" "$SUITE" "$PACKAGES" | sha256sum | cut -c1-12)
recipe_hash=$( {
  echo "$base_key" "$BASE_SCRIPTS_VERSION"
  cd "$HERE"
  find build-image.sh rootfs payload -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z \
    | while IFS= read -r -d '' f; do printf '%s %s ' "$f" "$(stat -c %a "$f")"; sha256sum < "$f"; done
} | sha256sum | cut -c1-12)
image="$IMAGE_REPO:$recipe_hash"

# One build at a time (parallel test workers, molecule next to pytest): the others wait, then find the image cached.
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/build.lock"
flock 9

if docker image inspect "$image" >/dev/null 2>&1; then
  docker tag "$image" "$IMAGE_REPO:latest"
  log "up to date: $image"
  echo "$image"
  exit 0
fi

mkdir -p "$CACHE_DIR"
base_tar="$CACHE_DIR/router-rootfs-$base_key.tar"
base_image="$IMAGE_REPO-base:$base_key"
work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
container=""
cleanup() {
  if [ -n "$container" ]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  if [ ! -s "$base_tar" ]; then
    src=$(mirror)
    log "debootstrap $SUITE from $src (packages: $PACKAGES)"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/rootfs" "$src" > "$work/debootstrap.log" 2>&1 \
      || { tail -n 30 "$work/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
    # package caches and lists are not needed in a container and only make the image bigger
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/log/"*.log
    tar -C "$work/rootfs" --numeric-owner -cf "$base_tar.tmp" .
    mv "$base_tar.tmp" "$base_tar"
    # tarballs of earlier package lists are never used again
    find "$CACHE_DIR" -maxdepth 1 -name 'router-rootfs-*.tar' ! -name "$(basename "$base_tar")" -delete
    rm -rf "$work/rootfs"
  fi
  log "importing $base_tar as $base_image"
  docker import "$base_tar" "$base_image" >/dev/null
fi

log "adding the overlay and the $BASE_SCRIPTS_VERSION payload"
overlay="$work/overlay"
mkdir -p "$overlay/usr/share/cloud" "$overlay/var/cache/cloud" "$overlay/usr/local/cloud/systemvm" "$overlay/etc"
cp -a "$HERE/rootfs/." "$overlay/"
signature=$(python3 "$HERE/payload/build_payload.py" --version "$BASE_SCRIPTS_VERSION" --out "$work/payload")
tar -xzf "$work/payload/cloud-scripts.tgz" -C "$overlay"
cp "$work/payload/cloud-scripts.tgz" "$overlay/usr/share/cloud/cloud-scripts.tgz"
echo "$signature" > "$overlay/var/cache/cloud/cloud-scripts-signature"
python3 -m zipfile -e "$work/payload/agent.zip" "$overlay/usr/local/cloud/systemvm/"
echo "Cloudstack Release $BASE_SCRIPTS_VERSION" > "$overlay/etc/cloudstack-release"

container=$(docker create "$base_image" /bin/true)
tar -C "$overlay" --owner=0 --group=0 --numeric-owner -cf - . | docker cp - "$container:/"
docker commit \
  --change 'CMD ["/usr/local/sbin/acs-init"]' \
  --change 'ENV ACS_TYPE=router' \
  --change "LABEL org.acs-upgrade.recipe=$recipe_hash org.acs-upgrade.base-scripts-version=$BASE_SCRIPTS_VERSION" \
  "$container" "$image" >/dev/null
docker tag "$image" "$IMAGE_REPO:latest"
log "built $image"
echo "$image"
