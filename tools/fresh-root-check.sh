#!/usr/bin/env bash
# Proves the README's set-up on a fresh Debian 12 machine: builds a minimal Debian 12 root with
# mmdebstrap (--variant=apt: apt and nothing else), clones this repository's committed HEAD into
# it, puts ../shared beside it read-only, and runs the README's test command inside (chroot), the
# way CI does (CI=true, models fetched first). A package missing from tools/install-deps.sh shows
# up here within a minute, where on the development machine it would hide.
#
#   tools/fresh-root-check.sh               the whole test command (about ten minutes)
#   tools/fresh-root-check.sh --configure   install + CMake configure only (about a minute)
#
# Needs root (chroot, mounts). Only the host's CA bundle and pip settings are passed in, so that
# HTTPS through a TLS-inspecting proxy works as on the host; nothing else of the host is used.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
mode=test
case "${1:-}" in
    "") ;;
    --configure) mode=configure ;;
    *) echo "usage: tools/fresh-root-check.sh [--configure]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "fresh-root-check: needs root (chroot and mounts)" >&2; exit 2; }
if ! command -v mmdebstrap >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >/dev/null
fi
shared=$(cd "$repo/.." && pwd)/shared
[ -d "$shared" ] || shared=${SE_SHARED_DIR:-}

root=$(mktemp -d /tmp/se-fresh-root.XXXXXX)
mounted=()
cleanup() {
    for ((k = ${#mounted[@]} - 1; k >= 0; k--)); do umount -R -l "${mounted[k]}" 2>/dev/null || true; done
    rm -rf --one-file-system "$root"
}
trap cleanup EXIT

# The host's Debian mirror (deb822 URIs line), else the default one.
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources \
    2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
echo "fresh-root-check: Debian 12 root in $root (mirror $mirror)"
mmdebstrap --quiet --variant=apt bookworm "$root" "deb $mirror bookworm main" \
    "deb $mirror bookworm-updates main"

cp /etc/resolv.conf /etc/hosts "$root/etc/"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
fi
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/"

mount_into() {  # mount_into TARGET MOUNT-ARGS...
    mkdir -p "$1"
    mount "${@:2}" "$1"
    mounted+=("$1")
}
mount_into "$root/proc" -t proc proc
mount_into "$root/dev" --rbind /dev
mount_into "$root/sys" --rbind /sys
if [ -n "$shared" ] && [ -d "$shared" ]; then
    mount_into "$root/work/shared" --bind "$shared"
    mount -o remount,bind,ro "$root/work/shared"
fi

git clone -q "$repo" "$root/work/main"

in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive CI=true SE_IN_FRESH_ROOT=1 /bin/bash -c "cd /work/main && $1"
}

case "$mode" in
    configure)
        in_root "apt-get update -q >/dev/null && tools/install-deps.sh >/dev/null &&
                 cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release"
        ;;
    test)
        in_root "bash .ci/run"
        ;;
esac
echo "fresh-root-check: $mode passed in a fresh Debian 12 root"
