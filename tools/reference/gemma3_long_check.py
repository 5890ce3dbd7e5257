#!/usr/bin/env python3
"""Gemma 3 past its window: is a miss the engine's or the model's? (docs/long-context.md)

One pass-key trial, tens of thousands of tokens long, under one Self-Extend setting (or vanilla),
computed twice: by the engine (`selfextend-cli logits --last K`, the product's defaults: F16 KV
cache, the CPU's integer kernels) and by the plain float64 forward pass of gemma3_reference.py
(attention a block of query rows at a time, so that 40 000 tokens fit in memory). The key's
tokens are appended to the prompt (teacher forcing), so the K rows compared are the logits at
every answer position: the engine's greedy answer starts with the key exactly when its argmax
is the key's next token on every row, and the same holds for the reference.

The prompt is the pass-key prompt of ../shared/SELFEXTEND.md, built here and tokenized by the
PyPI `sentencepiece` package on the GGUF's vocabulary (gemma3_tokenizer.py); the engine is given
the same ids (`--tokens-file`), so both compute the same sequence. One JSON line per run is
appended to --out; the summary is printed.

    tools/reference/gemma3_long_check.py --tokens 40000 --depth 0.2 --key 95250 \\
        --group 2 --window 4096 --cli build/app/cli/selfextend-cli

Needs: pip install gguf numpy sentencepiece protobuf. The reference takes tens of minutes at
40 000 tokens on two cores, the engine a few.
"""

import argparse
import json
import pathlib
import subprocess
import time

import numpy as np

import gemma3_reference as reference
from gemma3_tokenizer import gemma3_processor

REPO = pathlib.Path(__file__).resolve().parents[2]

INTRODUCTION = ("There is an important info hidden inside a lot of irrelevant text. Find it and "
                "memorize them. I will quiz you about the important information there.")
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
QUESTION = "What is the pass key? The pass key is"


def needle(key):
    return f"The pass key is {key}. Remember it. {key} is the pass key."


def prompt_text(fillers, depth, key):
    """SELFEXTEND.md's prompt with `fillers` copies of the filler, the needle after a `depth`
    fraction of them."""
    before = round(depth * fillers)
    pieces = [INTRODUCTION] + [FILLER] * before + [needle(key)] + [FILLER] * (fillers - before)
    return " ".join(pieces + [QUESTION])


def build_prompt(sp, bos, target_tokens, depth, key):
    """(ids with BOS, the key's answer ids, the needle's first token): the most fillers whose
    prompt stays within target_tokens."""
    per_filler = len(sp.encode(" " + FILLER))
    fillers = target_tokens // per_filler
    while (excess := 1 + len(sp.encode(prompt_text(fillers, depth, key))) - target_tokens) > 0:
        fillers -= 1 + excess // per_filler
    text = prompt_text(fillers, depth, key)
    ids = [bos] + sp.encode(text)
    with_answer = [bos] + sp.encode(text + " " + key)
    assert with_answer[: len(ids)] == ids, "the answer must not change the prompt's tokens"
    needle_token = 1 + len(sp.encode(text[: text.index(needle(key))]))
    return ids, with_answer[len(ids):], needle_token


def engine_logits(cli, model, ids, rows, group, window, threads, work):
    path = work / "ids.txt"
    path.write_text(" ".join(str(t) for t in ids))
    out = work / "engine.f32"
    command = [str(cli), "logits", "-m", str(model), "-t", str(threads), "--tokens-file",
               str(path), "--last", str(rows), "--out", str(out), "--group", str(group)]
    if group > 1:
        command += ["--window", str(window)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return np.fromfile(out, dtype="<f4").reshape(rows, -1).astype(np.float64), done.stderr.strip()


def row_report(logits, expected, sp):
    """What one row says about the expected next token."""
    top = np.argsort(-logits, kind="stable")[:5]
    best_other = np.max(np.delete(logits, expected))
    return {
        "argmax": int(top[0]),
        "argmax_piece": sp.id_to_piece(int(top[0])),
        "expected_rank": int(np.sum(logits > logits[expected])) + 1,
        "margin": round(float(logits[expected] - best_other), 4),  # > 0: the expected wins
        "top5": [int(t) for t in top],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=REPO / "models/gemma-3-270m-q4_k_m.gguf")
    parser.add_argument("--cli", default=REPO / "build/app/cli/selfextend-cli")
    parser.add_argument("--tokens", type=int, default=40000)
    parser.add_argument("--depth", type=float, default=0.2)
    parser.add_argument("--key", default="95250")
    parser.add_argument("--group", type=int, default=2)
    parser.add_argument("--window", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="/tmp/selfextend-gemma3-long")
    parser.add_argument("--out", default=REPO / "docs/long-context/gemma3-reference.jsonl")
    args = parser.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    sp, bos, _ = gemma3_processor(args.model)
    ids, answer, needle_token = build_prompt(sp, bos, args.tokens, args.depth, args.key)
    # Teacher forcing: row k of the last len(answer) rows predicts answer[k].
    sequence = ids + answer[:-1]
    rows = len(answer)
    print(f"{len(ids)} prompt tokens, key {args.key} at depth {args.depth} ({len(ids) - needle_token} "
          f"tokens back) = answer "
          f"{[sp.id_to_piece(t) for t in answer]}; G={args.group} W={args.window}", flush=True)

    started = time.time()
    ours, engine_line = engine_logits(args.cli, args.model, sequence, rows, args.group,
                                      args.window, args.threads, work)
    engine_seconds = time.time() - started
    print(f"engine: {engine_seconds:.0f} s ({engine_line.splitlines()[-1]})", flush=True)

    started = time.time()
    m = reference.Gemma3(args.model)
    hidden = reference.forward(m, sequence, args.group, args.window)[-rows:]
    theirs = hidden @ m.embedding.T
    reference_seconds = time.time() - started
    print(f"reference: {reference_seconds:.0f} s", flush=True)

    per_row = []
    for k, expected in enumerate(answer):
        scale = np.abs(theirs[k]).max()
        per_row.append({
            "expected": int(expected),
            "expected_piece": sp.id_to_piece(int(expected)),
            "max_abs_delta_over_max_logit": round(float(np.abs(ours[k] - theirs[k]).max() / scale), 6),
            "engine": row_report(ours[k], expected, sp),
            "reference": row_report(theirs[k], expected, sp),
        })
    found = {who: all(r[who]["argmax"] == r["expected"] for r in per_row)
             for who in ("engine", "reference")}
    record = {
        "model": pathlib.Path(args.model).name, "prompt_tokens": len(ids), "depth": args.depth,
        "key": args.key, "group": args.group, "window": args.window,
        "key_distance": len(ids) - needle_token,  # tokens from the needle to the question's end
        "engine_found": found["engine"], "reference_found": found["reference"],
        "engine_seconds": round(engine_seconds), "reference_seconds": round(reference_seconds),
        "rows": per_row,
    }
    with open(args.out, "a") as out:
        out.write(json.dumps(record) + "\n")
    for r in per_row:
        print(f"  {r['expected_piece']!r:>8}: engine argmax {r['engine']['argmax_piece']!r} "
              f"(rank {r['engine']['expected_rank']}, margin {r['engine']['margin']:+.3f}), "
              f"reference {r['reference']['argmax_piece']!r} (rank "
              f"{r['reference']['expected_rank']}, margin {r['reference']['margin']:+.3f}); "
              f"max |delta| / max |logit| {r['max_abs_delta_over_max_logit']:.2e}")
    print(f"key found: engine {found['engine']}, reference {found['reference']}")


if __name__ == "__main__":
    main()
