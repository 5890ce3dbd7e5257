#!/usr/bin/env bash
# Builds everything and runs every test: the release build (engine, CLI, GUI, CUDA sources when
# nvcc is installed) with all tests, then an ASan+UBSan build of the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
# The real models some tests use (SmolLM2, Gemma 3); offline, those tests skip with a message
# (under CI=true they fail instead).
tools/fetch-models.sh || echo "test.sh: a model could not be fetched; its tests will skip" >&2
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j 1) 2>&1 | tee build/ctest.log

# Sanitizers: every engine and CLI suite (the GUI is left out of this build).
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSE_SANITIZE=ON -DSE_CUDA=OFF -DSE_GUI=OFF
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j 1 -LE realmodel) 2>&1 | tee build-asan/ctest.log

# Fuzzing: the GGUF reader, both tokenizers and the document loaders, a minute each (clang).
tools/fuzz.sh 60

# What ran, last, where a reader of a long log looks first.
echo "== test.sh summary =="
for log in build/ctest.log build-asan/ctest.log; do
    echo "$log:"
    grep -E "tests passed|tests failed out of|Total Test time" "$log"
done
