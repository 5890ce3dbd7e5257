#!/usr/bin/env bash
# Measures this engine against the mature one, llama.cpp, on the same GGUF files with the same
# threads, runs interleaved in one session: prefill (pp) and decode (tg) tokens/s.
#
#   tools/peer-bench.sh [ROUNDS]            (default 3 rounds)
#   SE_BENCH_CONTEXTS="512" tools/peer-bench.sh 3     only the short context
#   SE_CLI=/tmp/selfextend-cli tools/peer-bench.sh     another build of ours
#
# llama.cpp's llama-bench is built once from the PyPI sdist of llama-cpp-python (its
# vendor/llama.cpp) in a cache folder outside the repository ($SE_PEER_DIR, default
# ~/.cache/selfextend-studio/peer); none of its code enters this project. Models: SmolLM2 Q4_1
# (tools/fetch-models.sh), a Q8_0 copy made by `selfextend-cli quantize`, and the demo model.
# Context depths: prefill of 512 and 8 192 tokens, decode of 128 tokens after 512 and 8 192 (the
# demo model's window is 512: past it both engines run vanilla attention all the same, a speed
# test, not a quality one).
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
if [ ! -x "$bench" ]; then
    echo "peer-bench: building llama.cpp's llama-bench in $peer_dir (once; several minutes)" >&2
    mkdir -p "$peer_dir"
    python3 -m pip download --quiet --no-deps --no-binary :all: -d "$peer_dir" \
        llama-cpp-python >/dev/null
    sdist=$(ls -t "$peer_dir"/llama_cpp_python-*.tar.gz | head -n 1)
    rm -rf "$peer_dir/src" && mkdir -p "$peer_dir/src"
    tar -xzf "$sdist" -C "$peer_dir/src" --strip-components=1
    # Every vector extension this CPU has, except AMX: with GGML_NATIVE=ON llama.cpp uses AMX
    # tiles, which this kind of virtual machine lists in /proc/cpuinfo but does not let a process
    # enable (SIGILL on the first tileloadd). Our engine does not use AMX either.
    has() { grep -m1 '^flags' /proc/cpuinfo | grep -qw "$1" && echo ON || echo OFF; }
    cmake -S "$peer_dir/src/vendor/llama.cpp" -B "$peer_dir/build" -G Ninja \
        -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2="$(has avx2)" \
        -DGGML_FMA="$(has fma)" -DGGML_F16C="$(has f16c)" -DGGML_AVX_VNNI="$(has avx_vnni)" \
        -DGGML_AVX512="$(has avx512f)" -DGGML_AVX512_VBMI="$(has avx512vbmi)" \
        -DGGML_AVX512_VNNI="$(has avx512_vnni)" -DGGML_AVX512_BF16="$(has avx512_bf16)" \
        -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
        -DLLAMA_CURL=OFF -DGGML_CUDA=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
    cmake --build "$peer_dir/build" -j "$(nproc)" --target llama-bench >/dev/null
fi

smollm=models/SmolLM2-135M-Instruct.Q4_1.gguf
smollm_q8=$peer_dir/SmolLM2-135M-Instruct.Q8_0.gguf
[ -f "$smollm_q8" ] || "$cli" quantize "$smollm" "$smollm_q8" Q8_0 >/dev/null 2>&1
demo=resources/models/selfextend-demo-8m-f16.gguf

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
    local pp tg
    pp=$("$bench" -m "$1" -t "$threads" -p "$2" -n 0 -r 1 -o json 2>/dev/null |
        python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)[0]["avg_ts"])')
    tg=$("$bench" -m "$1" -t "$threads" -p 0 -n "$3" -d "$2" -r 1 -o json 2>/dev/null |
        python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)[0]["avg_ts"])')
    echo "$pp $tg"
}

echo "threads $threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-6s %-14s %6s %9s %9s %9s %9s %9s %9s\n' round model context \
    ours-pp peer-pp ours-tg peer-tg se-pp se-tg
for round in $(seq "$rounds"); do
    for model in "$smollm" "$smollm_q8" "$demo"; do
        for context in $contexts; do
            read -r our_pp our_tg se_pp se_tg < <(ours "$model" "$context" 128)
            read -r peer_pp peer_tg < <(peer "$model" "$context" 128)
            printf '%-6s %-14s %6s %9s %9s %9s %9s %9s %9s\n' "$round" \
                "$(basename "$model" .gguf | cut -c1-14)" "$context" "$our_pp" "$peer_pp" \
                "$our_tg" "$peer_tg" "$se_pp" "$se_tg"
        done
    done
done
