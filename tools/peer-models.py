#!/usr/bin/env python3
"""Writes the speed-test models that tools/peer-bench.sh measures both engines on, in F16:

  smollm2-f16.gguf    SmolLM2-135M's shape (30 layers, 576 wide, FFN 1 536, 9 heads / 3 KV,
                      vocab 49 152, output head tied to the embeddings)
  tinyllama-f16.gguf  TinyLlama-1.1B's shape (22 layers, 2 048 wide, FFN 5 632, 32 heads / 4 KV,
                      vocab 32 000)

Random weights (normal, 0.02) are fine for speed: the work per token depends on the shape and the
types only. The Q8_0 and Q4_K_M files users download are then written by llama.cpp's own
quantizer (llama-quantize), so both engines read the same bytes a user would have.

The GGUF writer is llama.cpp's gguf-py from the peer's source tree (--gguf-py), which lives in a
scratch folder outside this repository; the tokenizer is the Llama SPM vocabulary of
../shared/vocab (32 000 pieces), reused for the SmolLM2 shape with the vocabulary padded.

  tools/peer-models.py --gguf-py PEER/src/vendor/llama.cpp/gguf-py --out DIR
"""
import argparse
import os
import sys

import numpy as np

SHAPES = {
    # name: (layers, width, ffn, heads, kv heads, vocab, training window, tied output head)
    "smollm2": (30, 576, 1536, 9, 3, 49152, 8192, True),
    "tinyllama": (22, 2048, 5632, 32, 4, 32000, 2048, False),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--gguf-py", required=True, help="llama.cpp's gguf-py folder")
    ap.add_argument("--out", required=True, help="folder for the F16 files")
    ap.add_argument("--vocab", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "shared", "vocab", "ggml-vocab-llama-spm.gguf"))
    args = ap.parse_args()
    sys.path.insert(0, args.gguf_py)
    import gguf  # noqa: E402  (the peer's, from its source tree)

    vocab = gguf.GGUFReader(args.vocab)

    def field(name):
        return vocab.fields[name]

    def strings(name):
        f = field(name)
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def values(name):
        f = field(name)
        return [f.parts[i][0] for i in f.data]

    tokens = strings("tokenizer.ggml.tokens")
    scores = [float(s) for s in values("tokenizer.ggml.scores")]
    types = [int(t) for t in values("tokenizer.ggml.token_type")]

    rng = np.random.default_rng(1234)
    os.makedirs(args.out, exist_ok=True)
    for name, (layers, width, ffn, heads, kv_heads, n_vocab, window, tied) in SHAPES.items():
        path = os.path.join(args.out, f"{name}-f16.gguf")
        if os.path.exists(path):
            continue
        head_dim = width // heads
        pad = n_vocab - len(tokens)
        w = gguf.GGUFWriter(path + ".part", "llama")
        w.add_name(f"{name}-shaped, random weights (speed tests)")
        w.add_block_count(layers)
        w.add_context_length(window)
        w.add_embedding_length(width)
        w.add_feed_forward_length(ffn)
        w.add_head_count(heads)
        w.add_head_count_kv(kv_heads)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_dimension_count(head_dim)
        w.add_rope_freq_base(10000.0)
        w.add_file_type(1)  # mostly F16
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens + [f"<pad{i}>" for i in range(pad)])
        w.add_token_scores(scores + [0.0] * pad)
        w.add_token_types(types + [gguf.TokenType.UNUSED] * pad)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)

        def matrix(rows, cols):
            return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

        def norm(n):
            return np.ones(n, dtype=np.float32)

        w.add_tensor("token_embd.weight", matrix(n_vocab, width))
        w.add_tensor("output_norm.weight", norm(width))
        if not tied:
            w.add_tensor("output.weight", matrix(n_vocab, width))
        for i in range(layers):
            p = f"blk.{i}."
            w.add_tensor(p + "attn_norm.weight", norm(width))
            w.add_tensor(p + "attn_q.weight", matrix(width, width))
            w.add_tensor(p + "attn_k.weight", matrix(kv_heads * head_dim, width))
            w.add_tensor(p + "attn_v.weight", matrix(kv_heads * head_dim, width))
            w.add_tensor(p + "attn_output.weight", matrix(width, width))
            w.add_tensor(p + "ffn_norm.weight", norm(width))
            w.add_tensor(p + "ffn_gate.weight", matrix(ffn, width))
            w.add_tensor(p + "ffn_up.weight", matrix(ffn, width))
            w.add_tensor(p + "ffn_down.weight", matrix(width, ffn))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        os.replace(path + ".part", path)
        print(path)


if __name__ == "__main__":
    main()
