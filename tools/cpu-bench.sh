#!/usr/bin/env bash
# The CPU benchmarks of docs/perf.md, on the bundled demo model (F16 weights): the native build
# (build/) and a portable one (build-portable/, SE_NATIVE=OFF), prefill and decode, vanilla and
# Self-Extend in the same run, plus tokenizer throughput on a whole book when ../shared is there.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target selfextend-cli >/dev/null
cmake -S . -B build-portable -G Ninja -DCMAKE_BUILD_TYPE=Release -DSE_NATIVE=OFF -DSE_GUI=OFF -DSE_TESTS=OFF -DSE_CUDA=OFF >/dev/null
cmake --build build-portable --target selfextend-cli >/dev/null
cli=build/app/cli/selfextend-cli
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), commit $(git rev-parse --short HEAD)"
echo "## native build (-march=native)"
$cli bench --prompt 512 --gen 256 --repeat 5
$cli bench --prompt 4096 --gen 64 --repeat 2 --group 8 --window 256
echo "## portable build (SE_NATIVE=OFF)"
build-portable/app/cli/selfextend-cli bench --prompt 512 --gen 256 --repeat 3
book=../shared/corpus/books/middlemarch.txt
if [ -f "$book" ]; then
    echo "## tokenizer"
    $cli tokenize --file "$book" --count
fi
