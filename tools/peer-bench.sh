#!/usr/bin/env bash
# Measures this engine against the mature one, llama.cpp, on the same GGUF files with the same
# threads, runs interleaved in one session: prefill (pp) and decode (tg) tokens/s.
#
#   tools/peer-bench.sh [ROUNDS]            (default 3 rounds)
#   SE_BENCH_CONTEXTS="512" tools/peer-bench.sh 3     only the short context
#   SE_BENCH_MODELS="tinyllama-q4_k_m" tools/peer-bench.sh 1    only some rows (names below)
#   SE_CLI=/tmp/selfextend-cli tools/peer-bench.sh     another build of ours
#
# llama.cpp's llama-bench and llama-quantize are built once from the PyPI sdist of
# llama-cpp-python (its vendor/llama.cpp) in a cache folder outside the repository ($SE_PEER_DIR,
# default ~/.cache/selfextend-studio/peer), with llama.cpp's own defaults: GGML_NATIVE=ON
# (-march=native), less AMX only (this kind of virtual machine lists AMX in /proc/cpuinfo but does
# not let a process enable it: SIGILL on the first tile load; our engine does not use AMX either).
# None of its code enters this project.
#
# Models (issue 23's rows): SmolLM2-135M-Instruct Q4_1 (the real file, tools/fetch-models.sh);
# SmolLM2's shape in F16 and Q8_0; TinyLlama-1.1B's shape in Q8_0 and Q4_K_M. The shapes have random
# weights (tools/peer-models.py, F16), quantized by llama.cpp's own llama-quantize: the files
# users have. Context: prefill of CONTEXT tokens from empty, decode of 128 tokens after them
# (llama-bench -p CONTEXT -n 0, and -p 0 -n 128 -d CONTEXT; -fa 1 at 8 192, as the issue measures).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${SE_BENCH_THREADS:-$(nproc)}
contexts=${SE_BENCH_CONTEXTS:-512 8192}  # prompt lengths, and the context decode runs after
peer_dir=${SE_PEER_DIR:-$HOME/.cache/selfextend-studio/peer}
cli=${SE_CLI:-build/app/cli/selfextend-cli}  # a copy, to keep building while it runs
[ -x "$cli" ] || { echo "peer-bench: build first (cmake --build build)" >&2; exit 2; }
tools/fetch-models.sh smollm2 >/dev/null

bench=$peer_dir/build/bin/llama-bench
quantize=$peer_dir/build/bin/llama-quantize
if [ ! -x "$bench" ] || [ ! -x "$quantize" ]; then
    echo "peer-bench: building llama.cpp in $peer_dir (once; about 10 minutes)" >&2
    mkdir -p "$peer_dir"
    python3 -m pip download --quiet --no-deps --no-binary :all: -d "$peer_dir" \
        llama-cpp-python >/dev/null
    sdist=$(ls -t "$peer_dir"/llama_cpp_python-*.tar.gz | head -n 1)
    rm -rf "$peer_dir/src" && mkdir -p "$peer_dir/src"
    tar -xzf "$sdist" -C "$peer_dir/src" --strip-components=1
    no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"  # (GCC: explicit -mno- beats -march)
    cmake -S "$peer_dir/src/vendor/llama.cpp" -B "$peer_dir/build" -G Ninja \
        -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DCMAKE_C_FLAGS="$no_amx" -DCMAKE_CXX_FLAGS="$no_amx" -DLLAMA_CURL=OFF -DGGML_CUDA=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
    cmake --build "$peer_dir/build" -j "$(nproc)" --target llama-bench llama-quantize >/dev/null
fi

models=$peer_dir/models
python3 tools/peer-models.py --gguf-py "$peer_dir/src/vendor/llama.cpp/gguf-py" --out "$models"
for spec in smollm2:Q8_0 tinyllama:Q8_0 tinyllama:Q4_K_M; do
    shape=${spec%%:*} type=${spec#*:}
    out=$models/$shape-$(echo "$type" | tr 'A-Z' 'a-z').gguf
    [ -f "$out" ] || "$quantize" "$models/$shape-f16.gguf" "$out" "$type" >/dev/null 2>&1
done
cp -n models/SmolLM2-135M-Instruct.Q4_1.gguf "$models/smollm2-real-q4_1.gguf"
rows=${SE_BENCH_MODELS:-smollm2-real-q4_1 smollm2-f16 smollm2-q8_0 tinyllama-q8_0 tinyllama-q4_k_m}

# ours MODEL PROMPT GEN: "prefill decode" tok/s of the vanilla row of `bench --json`, then of the
# Self-Extend row (Auto's G and W), measured in the same run; one run each, as llama-bench -r 1.
ours() {
    "$cli" bench -m "$1" -t "$threads" --prompt "$2" --gen "$3" --repeat 1 --json 2>/dev/null |
        python3 -c 'import json,sys
rows = json.load(sys.stdin)["results"]
v = [x for x in rows if x["mode"] == "vanilla"][0]
e = [x for x in rows if x["mode"] != "vanilla"][0]
print("%.0f %.0f %.0f %.0f" % (v["prefill_tok_s"], v["decode_tok_s"], e["prefill_tok_s"], e["decode_tok_s"]))'
}
# peer MODEL PROMPT GEN: the same from llama-bench (pp at depth 0, tg after PROMPT tokens).
peer() {
    local pp tg fa=0
    [ "$2" -gt 2048 ] && fa=1
    pp=$("$bench" -m "$1" -t "$threads" -fa $fa -p "$2" -n 0 -r 1 -o json 2>/dev/null |
        python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)[0]["avg_ts"])')
    tg=$("$bench" -m "$1" -t "$threads" -fa $fa -p 0 -n "$3" -d "$2" -r 1 -o json 2>/dev/null |
        python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)[0]["avg_ts"])')
    echo "$pp $tg"
}

echo "threads $threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-6s %-18s %6s %9s %9s %9s %9s %9s %9s\n' round model context \
    ours-pp peer-pp ours-tg peer-tg se-pp se-tg
for round in $(seq "$rounds"); do
    for row in $rows; do
        model=$models/$row.gguf
        for context in $contexts; do
            read -r our_pp our_tg se_pp se_tg < <(ours "$model" "$context" 128)
            read -r peer_pp peer_tg < <(peer "$model" "$context" 128)
            printf '%-6s %-18s %6s %9s %9s %9s %9s %9s %9s\n' "$round" \
                "$row" "$context" "$our_pp" "$peer_pp" \
                "$our_tg" "$peer_tg" "$se_pp" "$se_tg"
        done
    done
done
