#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang with ASan and UBSan) in build-fuzz and runs
# each for SECONDS (default 60) from the committed seeds (tests/fuzz/seeds/, written by
# tools/fuzz/make_seeds.py), the tokenizer target once with a byte-level BPE and once with a
# SentencePiece vocabulary. Prints each run's executions and coverage; exits 1 on the first crash,
# leaving the input in build-fuzz/findings/ (make it a regression test).
#
# usage: tools/fuzz.sh [SECONDS]
# env: SE_SHARED_DIR (default ../shared beside the checkout) for the vocabularies.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shared="${SE_SHARED_DIR:-$PWD/../shared}"
jobs=$(nproc)

# The AVX2 level (x86-64-v3: AVX2, FMA, F16C), the portable kernels every AVX2 CPU runs, or the
# baseline x86-64 on a CPU without it: never the building machine's own extensions (clang 14
# took the engine's _Float16 vectors only with -march=native on an AVX512-FP16 CPU; clang 16
# takes them on every level).
march="${SE_FUZZ_MARCH:-}"
if [ -z "$march" ]; then
    march=x86-64
    flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
    if [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* && " $flags " == *" f16c "* ]]; then
        march=x86-64-v3
    fi
fi
echo "fuzz.sh: clang 16, -march=$march"
# A build tree configured by another compiler cannot switch: start it again.
if [ -f build-fuzz/CMakeCache.txt ] && ! grep -q "CMAKE_CXX_COMPILER:.*clang++-16" build-fuzz/CMakeCache.txt; then
    rm -rf build-fuzz
fi
CXX=clang++-16 CC=clang-16 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSE_FUZZ=ON -DSE_FUZZ_MARCH="$march" -DSE_NATIVE=OFF -DSE_GUI=OFF -DSE_CUDA=OFF \
    -DSE_TESTS=OFF > /dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_gguf fuzz_tokenizer fuzz_documents fuzz_chat_request

findings="$PWD/build-fuzz/findings"
mkdir -p "$findings"
# run NAME TARGET SEEDS MAX_LEN: a fresh corpus from the seeds, SECONDS of fuzzing.
run() {
    local name=$1 target=$2 seeds=$3 max_len=$4
    local corpus
    corpus="$(mktemp -d)"
    cp "$seeds"/* "$corpus"/
    echo "== $name: $seconds s"
    local log="build-fuzz/$name.log"
    if ! "build-fuzz/tests/fuzz/$target" -max_total_time="$seconds" -max_len="$max_len" \
        -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$findings/$name-" \
        "$corpus" > "$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz.sh: $name found a crash; the input is in $findings" >&2
        exit 1
    fi
    # The last coverage line and the final statistics.
    grep -E "^#[0-9]+" "$log" | tail -n 1
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log"
    rm -rf "$corpus"
}
run gguf fuzz_gguf tests/fuzz/seeds/gguf 65536
SE_FUZZ_VOCAB="$shared/vocab/ggml-vocab-gpt-2.gguf" \
    run tokenizer-bpe fuzz_tokenizer tests/fuzz/seeds/tokenizer 4096
SE_FUZZ_VOCAB="$shared/vocab/ggml-vocab-llama-spm.gguf" \
    run tokenizer-sentencepiece fuzz_tokenizer tests/fuzz/seeds/tokenizer 4096
run documents fuzz_documents tests/fuzz/seeds/documents 65536
run chat-request fuzz_chat_request tests/fuzz/seeds/chat_request 8192
echo "fuzz.sh: no crash in $seconds s per target"
