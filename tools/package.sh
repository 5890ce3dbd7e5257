#!/usr/bin/env bash
# Builds the Debian package: configures its own tree (Release, the CUDA backend off so that no
# CUDA library becomes a dependency apt cannot satisfy, portable CPU kernels, no tests), builds
# the three executables, runs cpack and prints the .deb's path on the last line.
#
#   tools/package.sh [BUILD_DIR]      default build-package/ in the checkout
#
# Needs the build packages (tools/install-deps.sh) and dpkg-shlibdeps + file, with which CPack
# computes the Depends line (installed here when missing). tools/fresh-root-check.sh --deb FILE
# installs the result on a fresh Debian 12 root and starts both programs there.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-package}

missing=()
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
command -v file >/dev/null || missing+=(file)
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

generator=()
[ -f "$build/CMakeCache.txt" ] || ! command -v ninja >/dev/null || generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DSE_CUDA=OFF -DSE_NATIVE=OFF -DSE_TESTS=OFF -DSE_GUI=ON >/dev/null
cmake --build "$build" --target selfextend-cli selfextend-server selfextend-studio -j "$(nproc)"

# The desktop entry and the metainfo as installed, when the validators are here (the fresh-root
# check runs them in any case).
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate packaging/org.selfextend.Studio.desktop
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net "$build/packaging/org.selfextend.Studio.metainfo.xml"
fi

(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls -t "$build"/selfextend-studio_*.deb | head -n 1)
dpkg-deb --field "$deb" Package Version Depends Recommends | sed 's/^/  /'
realpath "$deb"
