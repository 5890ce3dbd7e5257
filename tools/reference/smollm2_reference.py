#!/usr/bin/env python3
"""Reference logits of SmolLM2-135M-Instruct (Q4_1 GGUF) for tests/engine/tst_smollm2.cpp.

An independent, plain float64 forward pass of the Llama architecture, written top to bottom in
the order of the paper (llama2.c style), with Self-Extend attention exactly as stated in
../shared/SELFEXTEND.md. Nothing of the engine is used:

  * the GGUF file is read with the PyPI `gguf` package and every tensor is dequantized with
    `gguf.quants.dequantize`;
  * the passage is tokenized with the PyPI `tokenizers` package, with a byte-level BPE built from
    the vocabulary and merges stored in the GGUF.

Writes tokens.bin, passage.txt and one logits_<setting>.bin per attention setting into the output
folder (format: README.md there). Needs: pip install gguf numpy tokenizers. Takes a few minutes.

    tools/reference/smollm2_reference.py [--model models/SmolLM2-135M-Instruct.Q4_1.gguf]
                                         [--out tests/data/smollm2]
"""

import argparse
import pathlib
import struct
import time

import gguf
import numpy as np
from gguf.quants import dequantize
from tokenizers import Tokenizer

from smollm2_tokenizer import smollm2_tokenizer

REPO = pathlib.Path(__file__).resolve().parents[2]

# (file name, group G, window W). G = 1 is vanilla attention.
SETTINGS = [
    ("vanilla", 1, 0),
    ("g4_w256", 4, 256),
    ("g8_w128", 8, 128),
    ("g3_w100", 3, 100),  # W not a multiple of G: W - W // G is not W * (1 - 1/G)
]

# The passage: whole paragraphs of Moby-Dick, chapter 1 (from its second paragraph on), until
# the passage has at least MIN_TOKENS tokens (1 071 tokens: paragraphs 2 to 6).
BOOK = "corpus/books/pg2701_moby_dick.txt"
PASSAGE_START = "There now is your insular city of the Manhattoes"
MIN_TOKENS = 1000

FULL_ROWS = 8  # rows whose logits are stored in full, spread over the passage, last included
TOP_K = 8  # for every row, the TOP_K largest logits and their token ids


# --- the model file -------------------------------------------------------------------------


class Gguf:
    """Metadata and dequantized (float64) tensors of a GGUF file, through the `gguf` package."""

    def __init__(self, path):
        self.reader = gguf.GGUFReader(str(path))
        self.tensors = {t.name: t for t in self.reader.tensors}

    def value(self, key):
        return self.reader.fields[key].contents()

    def tensor(self, name):
        """float64 array; a matrix stored with ne = [in, out] comes back as [out, in]."""
        t = self.tensors[name]
        return dequantize(t.data, t.tensor_type).astype(np.float64)


class Llama:
    def __init__(self, path):
        f = Gguf(path)
        self.file = f
        self.n_layer = f.value("llama.block_count")
        self.dim = f.value("llama.embedding_length")
        self.n_head = f.value("llama.attention.head_count")
        self.n_kv_head = f.value("llama.attention.head_count_kv")
        self.head_dim = self.dim // self.n_head
        self.rope_base = f.value("llama.rope.freq_base")
        self.eps = f.value("llama.attention.layer_norm_rms_epsilon")
        self.training_window = f.value("llama.context_length")
        self.embedding = f.tensor("token_embd.weight")  # [vocab, dim]
        self.vocab = self.embedding.shape[0]
        # Tied embeddings: the output projection is the embedding matrix itself.
        self.output = (
            f.tensor("output.weight") if "output.weight" in f.tensors else self.embedding
        )
        self.output_norm = f.tensor("output_norm.weight")
        self.layers = []
        for l in range(self.n_layer):
            w = lambda name: f.tensor(f"blk.{l}.{name}.weight")  # noqa: E731
            self.layers.append(
                {
                    "attn_norm": w("attn_norm"),
                    "wq": w("attn_q"),  # [n_head * head_dim, dim]
                    "wk": w("attn_k"),  # [n_kv_head * head_dim, dim]
                    "wv": w("attn_v"),
                    "wo": w("attn_output"),  # [dim, dim]
                    "ffn_norm": w("ffn_norm"),
                    "w_gate": w("ffn_gate"),  # [ffn, dim]
                    "w_up": w("ffn_up"),
                    "w_down": w("ffn_down"),  # [dim, ffn]
                }
            )


# --- the tokenizer ----------------------------------------------------------------------------


def read_passage(shared: pathlib.Path, tok: Tokenizer):
    """Whole paragraphs from PASSAGE_START on, until the passage has MIN_TOKENS tokens."""
    text = (shared / BOOK).read_text(encoding="utf-8").replace("\r\n", "\n")
    paragraphs = text[text.index(PASSAGE_START) :].split("\n\n")
    passage = ""
    for p in paragraphs:
        passage = p if not passage else passage + "\n\n" + p
        ids = tok.encode(passage, add_special_tokens=False).ids
        if len(ids) >= MIN_TOKENS:
            break
    assert tok.decode(ids) == passage, "byte-level BPE must round-trip the passage"
    return passage, ids


# --- the forward pass -------------------------------------------------------------------------


def rmsnorm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, positions, base):
    """Rotates x [n, heads, head_dim] by its row's position, GGUF llama (adjacent-pair) layout:
    the pair (x[2k], x[2k+1]) turns by the angle position * base^(-2k / head_dim)."""
    head_dim = x.shape[-1]
    k = np.arange(head_dim // 2)
    angle = positions[:, None].astype(np.float64) * base ** (-2.0 * k / head_dim)  # [n, hd/2]
    cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def silu(x):
    return x / (1.0 + np.exp(-x))


def forward(m: Llama, ids, group, window):
    """Logits [n, vocab] of every position, float64. group = 1 is vanilla attention."""
    n = len(ids)
    i = np.arange(n)
    # Self-Extend positions (SELFEXTEND.md). Neighbour pairs (i - j < W): query at i, key at j.
    # Grouped pairs (i - j >= W): query at i // G + W - W // G, key at j // G.
    grouped_query_pos = i // group + window - window // group
    grouped_key_pos = i // group
    causal = i[None, :] <= i[:, None]  # [query, key]
    neighbour = (i[:, None] - i[None, :]) < window
    heads_per_kv = m.n_head // m.n_kv_head
    scale = 1.0 / np.sqrt(m.head_dim)

    x = m.embedding[ids]  # token embeddings [n, dim]
    for layer in m.layers:
        # attention rmsnorm
        h = rmsnorm(x, layer["attn_norm"], m.eps)
        # q, k, v projections
        q = (h @ layer["wq"].T).reshape(n, m.n_head, m.head_dim)
        k = (h @ layer["wk"].T).reshape(n, m.n_kv_head, m.head_dim)
        v = (h @ layer["wv"].T).reshape(n, m.n_kv_head, m.head_dim)
        # RoPE at the normal positions, and at the grouped ones
        q_near, k_near = rope(q, i, m.rope_base), rope(k, i, m.rope_base)
        q_far, k_far = rope(q, grouped_query_pos, m.rope_base), rope(k, grouped_key_pos, m.rope_base)
        # attention per query head; head hq reads the K/V head hq // (n_head / n_kv_head)
        attended = np.empty((n, m.n_head, m.head_dim))
        for hq in range(m.n_head):
            hk = hq // heads_per_kv
            near = q_near[:, hq] @ k_near[:, hk].T * scale
            far = q_far[:, hq] @ k_far[:, hk].T * scale
            scores = np.where(neighbour, near, far)  # one merged row per query
            scores = np.where(causal, scores, -np.inf)
            scores -= scores.max(axis=1, keepdims=True)
            p = np.exp(scores)
            p /= p.sum(axis=1, keepdims=True)
            attended[:, hq] = p @ v[:, hk]
        # output projection and residual
        x = x + attended.reshape(n, m.dim) @ layer["wo"].T
        # ffn rmsnorm, SwiGLU, residual
        h = rmsnorm(x, layer["ffn_norm"], m.eps)
        x = x + (silu(h @ layer["w_gate"].T) * (h @ layer["w_up"].T)) @ layer["w_down"].T
    # final rmsnorm and the (tied) output projection
    x = rmsnorm(x, m.output_norm, m.eps)
    return x @ m.output.T


# --- the output files (format: README.md beside them) ----------------------------------------


def write_tokens(path, ids):
    with open(path, "wb") as out:
        out.write(b"SETOKEN1")
        out.write(struct.pack("<I", len(ids)))
        out.write(np.asarray(ids, dtype="<i4").tobytes())


def write_logits(path, group, window, logits, full_rows):
    n, vocab = logits.shape
    top_ids = np.argsort(-logits, axis=1, kind="stable")[:, :TOP_K]
    top_logits = np.take_along_axis(logits, top_ids, axis=1)
    with open(path, "wb") as out:
        out.write(b"SELOGIT1")
        out.write(struct.pack("<6I", group, window, n, vocab, len(full_rows), TOP_K))
        out.write(np.asarray(full_rows, dtype="<i4").tobytes())
        out.write(logits[full_rows].astype("<f4").tobytes())
        out.write(top_ids.astype("<i4").tobytes())
        out.write(top_logits.astype("<f4").tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=REPO / "models/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--shared", default=REPO.parent / "shared")
    parser.add_argument("--out", default=REPO / "tests/data/smollm2")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    m = Llama(args.model)
    assert not m.file.value("tokenizer.ggml.add_bos_token"), "SmolLM2 adds no BOS"
    tok = smollm2_tokenizer(args.model)
    passage, ids = read_passage(pathlib.Path(args.shared), tok)
    n = len(ids)
    print(f"{n} tokens; layers {m.n_layer}, dim {m.dim}, heads {m.n_head}/{m.n_kv_head}, "
          f"rope base {m.rope_base:g}, eps {m.eps:g}, vocab {m.vocab}")
    (out / "passage.txt").write_text(passage, encoding="utf-8")
    write_tokens(out / "tokens.bin", ids)
    full_rows = np.unique(np.linspace(0, n - 1, FULL_ROWS).round().astype(int))

    vanilla = None
    for name, group, window in SETTINGS:
        start = time.time()
        logits = forward(m, ids, group, window)
        write_logits(out / f"logits_{name}.bin", group, window, logits, full_rows)
        line = f"{name}: {time.time() - start:.0f} s, max |logit| {np.abs(logits).max():.2f}"
        if vanilla is None:
            vanilla = logits
        else:
            scale = np.abs(vanilla).max()
            moved = np.abs(logits - vanilla).max() / scale
            moved_full = np.abs(logits[full_rows] - vanilla[full_rows]).max() / scale
            same_top1 = np.mean(logits.argmax(axis=1) == vanilla.argmax(axis=1))
            line += (f"; vs vanilla: max |delta| / max |logit| = {moved:.3g} (all rows), "
                     f"{moved_full:.3g} (the {len(full_rows)} full rows), "
                     f"same top-1 on {100 * same_top1:.1f} % of rows")
        print(line, flush=True)


if __name__ == "__main__":
    main()
