#!/usr/bin/env python3
"""Tables of the long-context map (docs/long-context.md) from map.py's JSON lines.

    tools/long-context/report.py docs/long-context/smollm2.jsonl [--set A]

For each task and length: one row per W, one column per G (found / tried), vanilla beside; then
the sources figures of the fact task (the planted sentence's rank among the answer's sources,
where the answer states the fact). Markdown on stdout. Only the standard library.
"""

import argparse
import json
from collections import defaultdict


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+")
    parser.add_argument("--set", default=None, help="only this document set (A, B or C)")
    args = parser.parse_args()
    records = []
    for path in args.results:
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    if args.set:
        records = [r for r in records if r["set"] == args.set]

    cells = defaultdict(lambda: [0, 0])  # (model, task, length, G, W, auto) -> [found, tried]
    for r in records:
        key = (r["model"], r["task"], r["length"], r["group"], r["window"], r.get("auto", False))
        cells[key][0] += bool(r["found"])
        cells[key][1] += 1

    for model in sorted({k[0] for k in cells}):
        for task in ("fact", "passkey"):
            for length in sorted({k[2] for k in cells if k[0] == model and k[1] == task}):
                mine = {k: v for k, v in cells.items()
                        if k[0] == model and k[1] == task and k[2] == length}
                print(f"\n### {model}, {task}, {length} tokens\n")
                vanilla = mine.get((model, task, length, 1, 0, False))
                if vanilla:
                    print(f"vanilla: {vanilla[0]}/{vanilla[1]}\n")
                windows = sorted({k[4] for k in mine if k[3] > 1 and not k[5]})
                groups = sorted({k[3] for k in mine if k[3] > 1 and not k[5]})
                if windows:
                    print("| W \\ G | " + " | ".join(f"G={g}" for g in groups) + " |")
                    print("|---|" + "---|" * len(groups))
                    for w in windows:
                        row = []
                        for g in groups:
                            v = mine.get((model, task, length, g, w, False))
                            row.append(f"{v[0]}/{v[1]}" if v else "")
                        print(f"| W={w} | " + " | ".join(row) + " |")
                for k, v in sorted(mine.items()):
                    if k[5]:
                        print(f"\nAuto (G={k[3]}, W={k[4]}): {v[0]}/{v[1]}")

    facts = [r for r in records if r["task"] == "fact" and "source_rank" in r]
    stated = [r for r in facts if r["found"]]
    if stated:
        first = sum(r["source_rank"] == 1 for r in stated)
        top3 = sum(1 <= r["source_rank"] <= 3 for r in stated)
        docs = len({r["trial"].split(":")[0] for r in stated})
        print(f"\n### Sources, fact task ({len(stated)} answers that state the fact, "
              f"{docs} documents)\n")
        print(f"planted sentence source 1: {first}/{len(stated)} "
              f"({100 * first / len(stated):.0f} %); in the top 3: {top3}/{len(stated)}")
        misses = [r for r in stated if r["source_rank"] != 1]
        for r in misses[:10]:
            print(f"- rank {r['source_rank'] or 'not listed'}: {r['trial']} G={r['group']} "
                  f"W={r['window']} «{r['answer'][:60]}»")


if __name__ == "__main__":
    main()
