#!/usr/bin/env python3
"""Reference logits of Gemma 3 270M (Q4_K_M GGUF) for tests/engine/tst_gemma3.cpp.

An independent, plain float64 forward pass of Gemma 3, written from the description in
../shared/REAL_MODELS.md ("Gemma 3 forward pass, as checked here"), with Self-Extend attention
on the global layers exactly as stated in ../shared/SELFEXTEND.md. Nothing of the engine is used:

  * the GGUF file is read with the PyPI `gguf` package and every tensor is dequantized with
    `gguf.quants.dequantize`;
  * the passage is tokenized by the PyPI `sentencepiece` package on a model proto rebuilt from
    the GGUF's vocabulary (gemma3_tokenizer.py), with BOS first as the file asks.

The passage is read from ../shared/corpus/books at run time and is not copied into the repository:
tokens.bin holds its ids and README.md there says where it starts. Writes tokens.bin and one
logits_<setting>.bin per attention setting into the output folder (format: README.md there).
Needs: pip install gguf numpy sentencepiece protobuf. Takes a few minutes.

    tools/reference/gemma3_reference.py [--model models/gemma-3-270m-q4_k_m.gguf]
                                        [--out tests/data/gemma3]
"""

import argparse
import pathlib
import struct
import time

import gguf
import numpy as np
from gguf.quants import dequantize

from gemma3_tokenizer import gemma3_processor

REPO = pathlib.Path(__file__).resolve().parents[2]

# (file name, group G, window W). G = 1 is vanilla attention. Positions past W exist only when the
# passage is longer than W: at about 1 300 tokens both settings group the far keys of the global
# layers, and every local layer's window (512) is full for most rows.
SETTINGS = [
    ("vanilla", 1, 0),
    ("g4_w1024", 4, 1024),
    ("g8_w600", 8, 600),  # W not a multiple of G
]

# The passage: whole paragraphs of Persuasion, chapter 1, from its first paragraph on, until it has
# at least MIN_TOKENS tokens (BOS included).
BOOK = "corpus/books/pg105_persuasion.txt"
PASSAGE_START = "Sir Walter Elliot, of Kellynch Hall"
MIN_TOKENS = 1200

FULL_ROWS = 2  # rows stored in full: the middle one and the last (a row is 1 MB)
TOP_K = 8  # for every row, the TOP_K largest logits and their token ids
OUTPUT_ROWS = 64  # rows of logits computed at once (a full [n, 262 144] float64 array is 2.6 GB)


# --- the model file -------------------------------------------------------------------------


class Gguf:
    """Metadata and dequantized (float64) tensors of a GGUF file, through the `gguf` package."""

    def __init__(self, path):
        self.reader = gguf.GGUFReader(str(path))
        self.tensors = {t.name: t for t in self.reader.tensors}

    def value(self, key, default=None):
        field = self.reader.fields.get(key)
        return default if field is None else field.contents()

    def tensor(self, name):
        """float64 array; a matrix stored with ne = [in, out] comes back as [out, in]."""
        t = self.tensors[name]
        return dequantize(t.data, t.tensor_type).astype(np.float64)


class Gemma3:
    def __init__(self, path):
        f = Gguf(path)
        self.file = f
        assert f.value("general.architecture") == "gemma3"
        self.n_layer = f.value("gemma3.block_count")
        self.dim = f.value("gemma3.embedding_length")
        self.n_head = f.value("gemma3.attention.head_count")
        self.n_kv_head = f.value("gemma3.attention.head_count_kv")
        self.head_dim = f.value("gemma3.attention.key_length")
        self.rope_base_global = f.value("gemma3.rope.freq_base")
        self.rope_base_local = f.value("gemma3.rope.freq_base_swa", 10000.0)
        self.sliding_window = f.value("gemma3.attention.sliding_window")
        self.eps = f.value("gemma3.attention.layer_norm_rms_epsilon")
        self.embedding = f.tensor("token_embd.weight")  # [vocab, dim], also the output matrix
        self.vocab = self.embedding.shape[0]
        self.output_norm = f.tensor("output_norm.weight")
        self.layers = []
        for l in range(self.n_layer):
            w = lambda name: f.tensor(f"blk.{l}.{name}.weight")  # noqa: E731
            self.layers.append(
                {
                    "local": l % 6 < 5,  # five sliding-window layers, then a global one
                    "attn_norm": w("attn_norm"),
                    "wq": w("attn_q"),  # [n_head * head_dim, dim]
                    "wk": w("attn_k"),  # [n_kv_head * head_dim, dim]
                    "wv": w("attn_v"),
                    "q_norm": w("attn_q_norm"),  # [head_dim]
                    "k_norm": w("attn_k_norm"),
                    "wo": w("attn_output"),  # [dim, n_head * head_dim]
                    "post_attn_norm": w("post_attention_norm"),
                    "ffn_norm": w("ffn_norm"),
                    "w_gate": w("ffn_gate"),  # [ffn, dim]
                    "w_up": w("ffn_up"),
                    "w_down": w("ffn_down"),  # [dim, ffn]
                    "post_ffn_norm": w("post_ffw_norm"),
                }
            )


# --- the passage ------------------------------------------------------------------------------


def read_passage(shared: pathlib.Path, sp, bos):
    """Whole paragraphs from PASSAGE_START on, until BOS + the ids have MIN_TOKENS tokens."""
    text = (shared / BOOK).read_text(encoding="utf-8").replace("\r\n", "\n")
    paragraphs = text[text.index(PASSAGE_START) :].split("\n\n")
    passage = ""
    for p in paragraphs:
        passage = p if not passage else passage + "\n\n" + p
        ids = [bos] + sp.encode(passage)
        if len(ids) >= MIN_TOKENS:
            break
    assert sp.decode(ids[1:]) == passage, "SentencePiece must round-trip the passage"
    return passage, ids


# --- the forward pass -------------------------------------------------------------------------


def rmsnorm(x, weight, eps):
    """Over the last axis; the GGUF's weights already hold Gemma's 1 + w and are used as stored."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, positions, base):
    """Rotates x [n, heads, head_dim] by its row's position in the half-split (NEOX) layout: the
    pair (x[k], x[k + d/2]) turns by the angle position * base^(-2k / d)."""
    half = x.shape[-1] // 2
    k = np.arange(half)
    angle = positions[:, None].astype(np.float64) * base ** (-2.0 * k / (2 * half))  # [n, d/2]
    cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    first, second = x[..., :half], x[..., half:]
    return np.concatenate([first * cos - second * sin, first * sin + second * cos], axis=-1)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


QUERY_ROWS = 256  # query rows attended at once: a [rows, keys] score block, not [n, n] (40k tokens)


def attend(scores_of, v, n_head, rows, keys, scale):
    """softmax(scores) @ v for query rows `rows` over key rows `keys` (index arrays, ascending);
    scores_of(hq, hk, rows, keys) gives the raw scores [len(rows), len(keys)] with the masked
    pairs at -inf. One query head at a time; v is [n, n_kv_head, head_dim]."""
    heads_per_kv = n_head // v.shape[1]
    out = np.empty((len(rows), n_head, v.shape[2]))
    for hq in range(n_head):
        hk = hq // heads_per_kv
        scores = scores_of(hq, hk, rows, keys) * scale
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        out[:, hq] = p @ v[keys, hk]
    return out


def forward(m: Gemma3, ids, group, window):
    """Final hidden states [n, dim] (after the output norm), float64. group = 1 is vanilla.
    Attention runs QUERY_ROWS query rows at a time over the keys they can see, so memory stays
    linear in n."""
    n = len(ids)
    i = np.arange(n)
    # Self-Extend positions (SELFEXTEND.md), global layers only. Neighbour pairs (i - j < W):
    # query at i, key at j. Grouped pairs (i - j >= W): query at i // G + W - W // G, key at j // G.
    grouped_query_pos = i // group + window - window // group
    grouped_key_pos = i // group
    scale = 1.0 / np.sqrt(m.head_dim)

    x = m.embedding[ids] * np.sqrt(m.dim)  # scaled token embeddings [n, dim]
    for layer in m.layers:
        h = rmsnorm(x, layer["attn_norm"], m.eps)
        q = (h @ layer["wq"].T).reshape(n, m.n_head, m.head_dim)
        k = (h @ layer["wk"].T).reshape(n, m.n_kv_head, m.head_dim)
        v = (h @ layer["wv"].T).reshape(n, m.n_kv_head, m.head_dim)
        # every head of q and k normalised on its own
        q = rmsnorm(q, layer["q_norm"], m.eps)
        k = rmsnorm(k, layer["k_norm"], m.eps)
        attended = np.empty((n, m.n_head, m.head_dim))
        if layer["local"]:
            # sliding window, local RoPE base, plain attention under every setting
            q_near, k_near = rope(q, i, m.rope_base_local), rope(k, i, m.rope_base_local)

            def scores_of(hq, hk, rows, keys):
                distance = rows[:, None] - keys[None, :]
                seen = (distance >= 0) & (distance < m.sliding_window)
                return np.where(seen, q_near[rows, hq] @ k_near[keys, hk].T, -np.inf)

        else:
            base = m.rope_base_global
            q_near, k_near = rope(q, i, base), rope(k, i, base)
            q_far, k_far = rope(q, grouped_query_pos, base), rope(k, grouped_key_pos, base)

            def scores_of(hq, hk, rows, keys):
                distance = rows[:, None] - keys[None, :]
                near = q_near[rows, hq] @ k_near[keys, hk].T
                if group > 1 and len(keys) > 0 and rows[-1] - keys[0] >= window:
                    far = q_far[rows, hq] @ k_far[keys, hk].T
                    near = np.where(distance < window, near, far)  # one merged row per query
                return np.where(distance >= 0, near, -np.inf)

        for r0 in range(0, n, QUERY_ROWS):
            rows = i[r0 : r0 + QUERY_ROWS]
            first_key = max(0, r0 - m.sliding_window + 1) if layer["local"] else 0
            keys = i[first_key : rows[-1] + 1]
            attended[rows] = attend(scores_of, v, m.n_head, rows, keys, scale)
        a = attended.reshape(n, m.n_head * m.head_dim) @ layer["wo"].T
        x = x + rmsnorm(a, layer["post_attn_norm"], m.eps)
        h = rmsnorm(x, layer["ffn_norm"], m.eps)
        f = (gelu_tanh(h @ layer["w_gate"].T) * (h @ layer["w_up"].T)) @ layer["w_down"].T
        x = x + rmsnorm(f, layer["post_ffn_norm"], m.eps)
    return rmsnorm(x, m.output_norm, m.eps)


class Logits:
    """The tied output projection, a few rows at a time: top-k of every row and chosen full rows."""

    def __init__(self, m: Gemma3, hidden, full_rows):
        n = hidden.shape[0]
        self.full_rows = full_rows
        self.full = np.empty((len(full_rows), m.vocab))
        self.top_ids = np.empty((n, TOP_K), dtype=np.int64)
        self.top_logits = np.empty((n, TOP_K))
        self.max_abs = 0.0
        self.argmax = np.empty(n, dtype=np.int64)
        for r0 in range(0, n, OUTPUT_ROWS):
            rows = hidden[r0 : r0 + OUTPUT_ROWS] @ m.embedding.T
            self.max_abs = max(self.max_abs, np.abs(rows).max())
            top = np.argsort(-rows, axis=1, kind="stable")[:, :TOP_K]
            self.top_ids[r0 : r0 + len(rows)] = top
            self.top_logits[r0 : r0 + len(rows)] = np.take_along_axis(rows, top, axis=1)
            self.argmax[r0 : r0 + len(rows)] = top[:, 0]
            for k, row in enumerate(full_rows):
                if r0 <= row < r0 + len(rows):
                    self.full[k] = rows[row - r0]


# --- the output files (format: README.md beside them) ----------------------------------------


def write_tokens(path, ids):
    with open(path, "wb") as out:
        out.write(b"SETOKEN1")
        out.write(struct.pack("<I", len(ids)))
        out.write(np.asarray(ids, dtype="<i4").tobytes())


def write_logits(path, group, window, logits: Logits, vocab):
    n = logits.top_ids.shape[0]
    with open(path, "wb") as out:
        out.write(b"SELOGIT1")
        out.write(struct.pack("<6I", group, window, n, vocab, len(logits.full_rows), TOP_K))
        out.write(np.asarray(logits.full_rows, dtype="<i4").tobytes())
        out.write(logits.full.astype("<f4").tobytes())
        out.write(logits.top_ids.astype("<i4").tobytes())
        out.write(logits.top_logits.astype("<f4").tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=REPO / "models/gemma-3-270m-q4_k_m.gguf")
    parser.add_argument("--shared", default=REPO.parent / "shared")
    parser.add_argument("--out", default=REPO / "tests/data/gemma3")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    m = Gemma3(args.model)
    sp, bos, add_bos = gemma3_processor(args.model)
    assert add_bos, "Gemma 3 adds BOS"
    passage, ids = read_passage(pathlib.Path(args.shared), sp, bos)
    n = len(ids)
    print(f"{n} tokens ({len(passage)} characters); layers {m.n_layer}, dim {m.dim}, heads "
          f"{m.n_head}/{m.n_kv_head} of {m.head_dim}, rope base {m.rope_base_global:g} global / "
          f"{m.rope_base_local:g} local, window {m.sliding_window}, eps {m.eps:g}, vocab {m.vocab}")
    write_tokens(out / "tokens.bin", ids)
    full_rows = [n // 2, n - 1]

    vanilla = None
    for name, group, window in SETTINGS:
        start = time.time()
        logits = Logits(m, forward(m, ids, group, window), full_rows)
        write_logits(out / f"logits_{name}.bin", group, window, logits, m.vocab)
        line = f"{name}: {time.time() - start:.0f} s, max |logit| {logits.max_abs:.2f}"
        if vanilla is None:
            vanilla = logits
        else:
            moved = np.abs(logits.full - vanilla.full).max() / vanilla.max_abs
            same_top1 = np.mean(logits.argmax == vanilla.argmax)
            line += (f"; vs vanilla: max |delta| / max |logit| = {moved:.3g} (the "
                     f"{len(full_rows)} full rows), same top-1 on {100 * same_top1:.1f} % of rows")
        print(line, flush=True)


if __name__ == "__main__":
    main()
