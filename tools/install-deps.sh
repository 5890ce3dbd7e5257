#!/usr/bin/env bash
# Installs the Debian 12 packages SelfExtend Studio builds with (only those missing).
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config git
          qt6-base-dev qt6-charts-dev qt6-pdf-dev libgl-dev
          libsentencepiece-dev
          xvfb xauth)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -q
    $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
