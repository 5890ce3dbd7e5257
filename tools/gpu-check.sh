#!/usr/bin/env bash
# GPU checks for the lent device machine (it has CUDA but no Qt or sentencepiece, and installs
# nothing). Two steps:
#   tools/gpu-check.sh prepare   here: build the engine, CLI, GPU tests and GPU benchmark for
#                                sm_90 and collect them with the libraries they need in .gpu/
#   tools/gpu-check.sh run       there (the device tool carries .gpu): run the GPU tests and the
#                                benchmark; prints a short table last
# Device call: run(command="tools/gpu-check.sh run", carry=[".gpu"], timeout_s=540)
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
prepare)
    [ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
    # Portable CPU code, sm_90 GPU code, and the C++ runtime linked in (the device image's may be older).
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DSE_CUDA=ON -DSE_GUI=OFF -DSE_TESTS=OFF \
        -DSE_NATIVE=OFF -DCMAKE_CUDA_ARCHITECTURES=90 "-DCMAKE_EXE_LINKER_FLAGS=-static-libstdc++ -static-libgcc"
    cmake --build build-gpu --target selfextend-cli se-gpu-tests se-gpu-bench
    rm -rf .gpu && mkdir -p .gpu/lib
    cp build-gpu/app/cli/selfextend-cli build-gpu/tests/gpu/se-gpu-tests build-gpu/bench/se-gpu-bench .gpu/
    # Shared libraries the device image lacks (it has the CUDA toolkit's, e.g. cuBLAS).
    for lib in $(ldd build-gpu/tests/gpu/se-gpu-tests | awk '/=>/ {print $3}'); do
        case "$lib" in
            */libsentencepiece* | */libprotobuf* | */libuchardet*) cp -L "$lib" .gpu/lib/ ;;
        esac
    done
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    du -sh .gpu
    ;;
run)
    export LD_LIBRARY_PATH="$PWD/.gpu/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}"
    out="${OUT:-/tmp/gpu-check}"
    mkdir -p "$out"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/device.txt"
    for binary in .gpu/se-gpu-tests .gpu/se-gpu-bench .gpu/selfextend-cli; do
        if ldd "$binary" | grep "not found"; then
            echo "missing shared libraries for $binary (see above)" >&2
            exit 1
        fi
    done
    status=0
    .gpu/se-gpu-tests resources/models/selfextend-demo-8m-f16.gguf resources/samples/door-code.txt \
        2>&1 | tee "$out/gpu-tests.log" || status=$?
    .gpu/selfextend-cli bench --device cuda --prompt 512 --gen 128 2>&1 | tee "$out/demo-bench.log" || status=1
    timeout 420 .gpu/se-gpu-bench 2>&1 | tee "$out/gpu-bench.log" || status=1
    echo
    echo "== summary =="
    grep -E "passed, .* failed" "$out/gpu-tests.log" || echo "gpu tests: no result"
    grep -A20 "== GPU benchmark" "$out/gpu-bench.log" || echo "gpu bench: no result"
    exit $status
    ;;
*)
    echo "usage: tools/gpu-check.sh prepare | run" >&2
    exit 2
    ;;
esac
