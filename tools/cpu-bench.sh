#!/usr/bin/env bash
# The CPU benchmarks of docs/perf.md: the default build (build/, the CPU kernels built for every
# x86-64 level and the best one this CPU has chosen at start) against a native one
# (build-native/, SE_NATIVE=ON: the kernels for this machine only), then each level of the
# default build forced (SE_CPU_KERNELS), prefill and decode, vanilla and Self-Extend in the same
# run; on the bundled demo model (F16 weights) and on SmolLM2 Q4_1 when it is fetched; plus
# tokenizer throughput on a whole book when ../shared is there.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target selfextend-cli >/dev/null
cmake -S . -B build-native -G Ninja -DCMAKE_BUILD_TYPE=Release -DSE_NATIVE=ON -DSE_GUI=OFF \
    -DSE_TESTS=OFF -DSE_CUDA=OFF >/dev/null
cmake --build build-native --target selfextend-cli >/dev/null
cli=build/app/cli/selfextend-cli
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), commit $(git rev-parse --short HEAD)"
$cli info | sed -n 's/^CPU kernels *//p'
models=("")  # "": the bundled demo model
[ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ] && models+=(models/SmolLM2-135M-Instruct.Q4_1.gguf)
for model in "${models[@]}"; do
    m=(); [ -n "$model" ] && m=(-m "$model")
    echo "## ${model:-demo model}: default build, then native"
    $cli bench "${m[@]}" --prompt 512 --gen 128 --repeat 3
    build-native/app/cli/selfextend-cli bench "${m[@]}" --prompt 512 --gen 128 --repeat 3
    for level in $($cli info | sed -n 's/^CPU kernels *//p' | sed 's/; not on this CPU.*//' |
                   grep -o '[a-z0-9.]*' |
                   grep -xE 'avx512fp16|avx512|avx2|sse4.2|portable'); do
        echo "## ${model:-demo model}: SE_CPU_KERNELS=$level"
        SE_CPU_KERNELS=$level $cli bench "${m[@]}" --prompt 512 --gen 128 --repeat 2
    done
done
echo "## long prompt, default build"
$cli bench --prompt 4096 --gen 64 --repeat 2 --group 8 --window 256
book=../shared/corpus/books/middlemarch.txt
if [ -f "$book" ]; then
    echo "## tokenizer"
    $cli tokenize --file "$book" --count
fi
