#!/usr/bin/env python3
"""Tune on document (selfextend-cli probe) checked against the long-context map (docs/long-context.md).

For each fact document of the map at the given lengths, the probe runs on the document's book
excerpt *without* the map's planted facts (the probe plants its own), as a user would run Tune on
it; its recommendation and Auto's choice are then looked up in the map: how many of the map's
facts each setting stated on that very document. Tune is at least as good as Auto when the
recommendations' total is at least Auto's.

Resumable like map.py (one JSON line per document appended to --out):

    tools/long-context/tune_check.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf \\
        --map docs/long-context/smollm2.jsonl --lengths 12000 --out docs/long-context/smollm2-tune.jsonl

Only the Python standard library; the product itself runs no Python.
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import map as lcmap  # noqa: E402  (the map's documents, books and CLI wrapper)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--map", required=True, help="the map's results (JSON lines)")
    parser.add_argument("--lengths", default="12000,16000")
    parser.add_argument("--set", default="A", choices=sorted(lcmap.BOOK_SETS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--work", default="/tmp/selfextend-tune-check")
    parser.add_argument("--documents", default=str(lcmap.ROOT / "docs" / "long-context" / "documents"))
    parser.add_argument("--cli", default=str(lcmap.ROOT / "build" / "app" / "cli" / "selfextend-cli"))
    parser.add_argument("--shared", default=str(lcmap.ROOT.parent / "shared"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--threads-file", default=None)
    args = parser.parse_args()

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cli = lcmap.Cli(args.cli, args.model, args.threads, args.threads_file, work / "kv")
    out = Path(args.out)
    done = set()
    if out.exists():
        done = {json.loads(line)["document"] for line in out.read_text().splitlines() if line}
    trials = [json.loads(line) for line in Path(args.map).read_text().splitlines() if line]

    def map_found(doc_id, group, window):
        """(stated, asked) of the map's facts on this document in this cell."""
        rows = [r for r in trials if r["task"] == "fact" and r["set"] == args.set
                and r["trial"].startswith(doc_id + ":") and r["group"] == group
                and r["window"] == window]
        return sum(r["found"] for r in rows), len(rows)

    for length in (int(x) for x in args.lengths.split(",")):
        for meta_path in sorted(Path(args.documents).glob(f"{args.set}-*@{length}.json")):
            meta = json.loads(meta_path.read_text())
            if meta.get("skipped") or meta["id"] in done:
                continue
            book = Path(args.shared) / "corpus" / "books" / meta["book"]
            base = work / f"{meta['id']}.txt"
            base.write_text(lcmap.book_text(book)[:meta["base_chars"]], encoding="utf-8")
            t0 = time.time()
            stdout, stderr = cli.run("probe", "--doc", str(base), "--json")
            seconds = round(time.time() - t0, 1)
            probe = json.loads(stdout)
            auto = re.search(r"Auto: self-extend G=(\d+) W=(\d+)", stderr)
            auto_cell = (int(auto.group(1)), int(auto.group(2))) if auto else (1, 0)
            best = next(r for r in probe["results"] if r["recommended"])
            best_cell = (best["group"] if best["group"] > 1 else 1,
                         best["window"] if best["group"] > 1 else 0)
            record = {
                "document": meta["id"], "length": length, "document_tokens": probe["document_tokens"],
                "seconds": seconds,
                "probe": [{"group": r["group"], "window": r["window"], "found": r["found"],
                           "answers": [a["answer"] for a in r["answers"]]}
                          for r in probe["results"]],
                "auto": auto_cell, "recommended": best_cell,
                "map_auto": map_found(meta["id"], *auto_cell),
                "map_recommended": map_found(meta["id"], *best_cell),
            }
            with out.open("a") as f:
                f.write(json.dumps(record) + "\n")
            print(f"[{time.strftime('%H:%M:%S')}] {meta['id']}: probe {seconds} s, "
                  f"recommended G={best_cell[0]} W={best_cell[1]} "
                  f"(map {record['map_recommended']}), Auto G={auto_cell[0]} W={auto_cell[1]} "
                  f"(map {record['map_auto']})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
