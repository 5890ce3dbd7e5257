#!/usr/bin/env python3
"""The map of Self-Extend's group size G and neighbour window W on a real model (docs/long-context.md).

Two tasks at each prompt length, in every cell (G, W) and in vanilla:
  passkey  the paper's pass-key test (selfextend-cli passkey), one trial per depth;
  fact     facts planted in natural text (books from ../shared/corpus/books), three per document
           at a low, a middle and a high depth, each asked on its own (selfextend-cli ask, the
           model's chat template, greedy). A fact is used only once the model has stated it from
           the same passage cut to fit inside its window (vanilla), so that a miss at the full
           length is the long context's, not the fact's.

The runner is resumable: every trial is one JSON line appended to --out as soon as it ends, and a
trial already there is skipped. Run it in the background; it prints a line per trial with the
time it took and an estimate of what is left:

    tools/long-context/map.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf \\
        --lengths 12000,16000 --out docs/long-context/smollm2.jsonl

The document set ("A" by default, "B" and "C" for a second and a third, disjoint set of books)
and the cells are options; --cells auto runs the cell the CLI's `--group auto` chooses instead of
the grid. The engine's thread count is read before every call from --threads-file when it exists
(so that a build beside the run can take a core), else --threads.

Only the Python standard library; the product itself runs no Python.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (sentence planted in the text, question, answer that must appear in the reply). Invented names
# and codes, so that the answer cannot come from the model's knowledge or the book itself.
FACTS = [
    ("The secret password of the records office is bluebird-58.",
     "What is the secret password of the records office?", "bluebird-58"),
    ("The lighthouse keeper's cat was called Pepperwhistle.",
     "What was the lighthouse keeper's cat called?", "Pepperwhistle"),
    ("Captain Harrow's ship was named the Silver Heron.",
     "What was Captain Harrow's ship named?", "Silver Heron"),
    ("The combination of the old iron safe is 7391.",
     "What is the combination of the old iron safe?", "7391"),
    ("The village baker's secret ingredient was cardamom honey.",
     "What was the village baker's secret ingredient?", "cardamom honey"),
    ("The name of the hidden garden was Elderglade.",
     "What was the name of the hidden garden?", "Elderglade"),
    ("The stolen painting was found in a barn at Wexcombe.",
     "Where was the stolen painting found?", "Wexcombe"),
    ("The professor's favourite tea was smoked jasmine.",
     "What was the professor's favourite tea?", "smoked jasmine"),
    ("The train to the northern mines left from platform 14.",
     "From which platform did the train to the northern mines leave?", "14"),
    ("The code word for the midnight meeting was tangerine.",
     "What was the code word for the midnight meeting?", "tangerine"),
    ("The old clockmaker's apprentice was named Tobias Quill.",
     "What was the old clockmaker's apprentice named?", "Tobias Quill"),
    ("The smuggler's boat was painted bright violet.",
     "What colour was the smuggler's boat painted?", "violet"),
    ("The blacksmith's dog was called Cinder.",
     "What was the blacksmith's dog called?", "Cinder"),
    ("The vault of the county bank opens with the number 4062.",
     "What number opens the vault of the county bank?", "4062"),
    ("The governess was born in the town of Hollowmere.",
     "In which town was the governess born?", "Hollowmere"),
    ("The secret society met every Thursday in the Crimson Parlour.",
     "Where did the secret society meet every Thursday?", "Crimson Parlour"),
    ("The password for the garden gate is moonstone-21.",
     "What is the password for the garden gate?", "moonstone-21"),
    ("The doctor's carriage horse was named Bramblewick.",
     "What was the doctor's carriage horse named?", "Bramblewick"),
    ("The missing letters were hidden inside a hollow copy of the Odyssey.",
     "Where were the missing letters hidden?", "Odyssey"),
    ("The mayor's prize rose was called Scarlet Duchess.",
     "What was the mayor's prize rose called?", "Scarlet Duchess"),
    ("The hermit on the hill kept exactly 23 goats.",
     "How many goats did the hermit on the hill keep?", "23"),
    ("The first prize at the county fair was a silver teapot.",
     "What was the first prize at the county fair?", "silver teapot"),
    ("The inn by the river was called the Drowsy Otter.",
     "What was the inn by the river called?", "Drowsy Otter"),
    ("The captain's parrot could only say the word marmalade.",
     "What word could the captain's parrot say?", "marmalade"),
]

DEPTH_BANDS = [(0.1, 0.2, 0.3), (0.4, 0.5, 0.6), (0.7, 0.8, 0.9)]  # low, middle, high
DOCS_PER_LENGTH = 6
INSIDE_TOKENS = 6000        # the in-window check's excerpt: well inside an 8k window
# The document sets, disjoint: where each takes its books from the sorted list (A from the front,
# B from the back, C from a third of the way in, past the books A's lengths take) and the first
# of FACTS it plants.
BOOK_SETS = {
    "A": (lambda books: books, 0),
    "B": (lambda books: list(reversed(books)), 11),
    "C": (lambda books: books[len(books) // 3:], 5),
}
ANSWER_TOKENS = 32          # -n of each ask: a one-sentence answer
SOURCES = 5                 # the answer's sources listed (ask --sources): the planted one's rank
PROMPT_OVERHEAD = 60        # chat template and question tokens around the document


def normalized(text):
    return re.sub(r"[^0-9a-z]", "", text.lower())


def answered(reply, answer):
    return normalized(answer) in normalized(reply)


class Cli:
    """selfextend-cli with the model, threads and a private KV disk cache."""

    def __init__(self, binary, model, threads, threads_file, cache_dir):
        self.binary, self.model = binary, model
        self.threads, self.threads_file = threads, threads_file
        self.env = dict(os.environ, SE_CACHE_DIR=str(cache_dir))

    def current_threads(self):
        try:
            return int(Path(self.threads_file).read_text().strip())
        except (OSError, ValueError, TypeError):
            return self.threads

    def run(self, *args):
        command = [self.binary, args[0], "-m", self.model, "-t", str(self.current_threads()),
                   *args[1:]]
        done = subprocess.run(command, capture_output=True, text=True, env=self.env)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{done.stderr[-2000:]}")
        return done.stdout, done.stderr

    def count_tokens(self, path):
        out, err = self.run("tokenize", "--file", str(path), "--count")
        return int(re.search(r"(\d+) tokens", (out + err).replace(" ", "").replace("tokens", " tokens")).group(1))

    def ask(self, document, question, group, window, cache, sources=0):
        """(reply, prompt tokens, source previews best first) of one question."""
        args = ["ask", "--doc", str(document), "--question", question, "-n", str(ANSWER_TOKENS)]
        if group != "auto":
            args += ["--group", str(group)]
            if group > 1:
                args += ["--window", str(window)]
        if sources:
            args += ["--sources", str(sources)]
        if not cache:
            args.append("--no-cache")
        out, err = self.run(*args)
        prompt = re.search(r"prompt (\d+) tokens", err)
        reply, _, listing = out.partition("\nsources")
        previews = re.findall(r"^ +\d+\. +[\d.]+% +(.*)$", listing, re.M)
        mode = re.search(r"(vanilla|self-extend G=(\d+) W=(\d+))\n", err)
        self.last_mode = (int(mode.group(2)), int(mode.group(3))) if mode and mode.group(2) \
            else (1, 0)
        return reply.strip(), int(prompt.group(1)) if prompt else None, previews


def book_text(path):
    """The book's running text: its first and last tenth (front matter, licence) left out."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    return text[len(text) // 10: len(text) * 9 // 10]


def paragraph_start_near(text, position):
    """The start of the paragraph at or after `position` (so a fact never splits a sentence)."""
    found = text.find("\n\n", position)
    return len(text) if found < 0 else found + 2


def plant(text, facts_at):
    """`text` with each (fraction, sentence) planted as its own paragraph."""
    out, last = [], 0
    for fraction, sentence in sorted(facts_at):
        at = max(last, paragraph_start_near(text, int(len(text) * fraction)))
        out += [text[last:at], sentence, "\n\n"]
        last = at
    out.append(text[last:])
    return "".join(out)


def fit_to_tokens(cli, text, target, work, name):
    """The longest prefix (at a paragraph end) of `text` whose tokens are about `target`."""
    path = work / name
    chars = min(len(text), int(target * 4.2))
    for _ in range(6):
        cut = text.rfind("\n\n", 0, chars)
        piece = text[:cut if cut > 0 else chars]
        path.write_text(piece, encoding="utf-8")
        tokens = cli.count_tokens(path)
        if abs(tokens - target) <= target * 0.01 or (tokens < target and chars >= len(text)):
            return piece, tokens
        chars = int(chars * target / tokens)
    return piece, tokens


def smallest_group(L, window, needed):
    return max(1, -(-(needed - window) // (L - window)))


def grid_cells(L, length, windows):
    """W in `windows` × G in {the smallest that fits, one more, twice it}."""
    cells = []
    for w in windows:
        g = smallest_group(L, w, length + ANSWER_TOKENS)
        for group in sorted({g, g + 1, 2 * g}):
            cells.append((group, w))
    return cells


class Results:
    """The JSON-lines file: what is done, and appending what ends."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done = set()
        self.auto_done = set()  # Auto's trials, whatever G and W it chose
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    self.note(json.loads(line))

    def note(self, r):
        self.done.add(self.key(r))
        if r.get("auto"):
            self.auto_done.add((r["task"], r["set"], r["length"], r["trial"]))

    @staticmethod
    def key(r):
        return (r["task"], r["set"], r["length"], r["group"], r["window"], r["trial"])

    def has(self, **r):
        return self.key(r) in self.done

    def add(self, record):
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        self.note(record)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--lengths", default="12000,16000")
    parser.add_argument("--windows", default="1024,2048,4096")
    parser.add_argument("--cells", default="grid",
                        help="grid, none (vanilla only), or a list of auto and G:W (e.g. "
                             "auto,3:4096,2:16384)")
    parser.add_argument("--documents-per-length", type=int, default=DOCS_PER_LENGTH)
    parser.add_argument("--set", default="A", choices=sorted(BOOK_SETS), help="which books")
    parser.add_argument("--tasks", default="fact,passkey")
    parser.add_argument("--passkey-depths", default="0.1,0.5,0.9",
                        help="where the pass key sits (its trials: one per depth and mode)")
    parser.add_argument("--no-vanilla", action="store_true")
    parser.add_argument("--out", required=True)
    parser.add_argument("--work", default="/tmp/selfextend-map")
    parser.add_argument("--documents", default=str(ROOT / "docs" / "long-context" / "documents"),
                        help="where the documents' descriptions are kept (no book text)")
    parser.add_argument("--cli", default=str(ROOT / "build" / "app" / "cli" / "selfextend-cli"))
    parser.add_argument("--shared", default=os.environ.get("SE_SHARED_DIR", str(ROOT.parent / "shared")))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--threads-file", default=None)
    parser.add_argument("--training-window", type=int, default=0,
                        help="L (default: read from `selfextend-cli info`)")
    args = parser.parse_args()

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    Path(args.documents).mkdir(parents=True, exist_ok=True)
    cli = Cli(args.cli, args.model, args.threads, args.threads_file, work / "kv")
    results = Results(args.out)
    info, _ = cli.run("info")
    L = args.training_window or int(re.search(r"window\D*([\d ]+)", info).group(1).replace(" ", ""))
    model_name = Path(args.model).name
    tasks = args.tasks.split(",")
    books = sorted((Path(args.shared) / "corpus" / "books").glob("*.txt"))
    trials_run, trial_seconds = 0, 0.0
    progress = {"left": 0}  # trials of the current length not yet in the results

    def log(message):
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def record(**r):
        nonlocal trials_run, trial_seconds
        trials_run += 1
        trial_seconds += r["seconds"]
        progress["left"] = max(0, progress["left"] - 1)
        r.update(model=model_name, set=args.set)
        results.add(r)
        # The ETA from this run's own rate (a fact's first question prefills the document, the
        # other two are read from the disk cache: the mean covers both).
        eta = progress["left"] * trial_seconds / trials_run
        log(f"{r['task']} len={r['length']} G={r['group']} W={r['window']} {r['trial']}: "
            f"{'FOUND' if r['found'] else 'missed'}  «{r['answer'][:70]}» "
            f"[{progress['left']} trials left at this length, about {eta / 3600:.1f} h]")

    for length_index, length in enumerate(int(x) for x in args.lengths.split(",")):
        if args.cells == "grid":
            cells = grid_cells(L, length, [int(w) for w in args.windows.split(",")])
        elif args.cells == "none":  # vanilla only (inside the window: the sources' check)
            cells = []
        else:
            cells = [c if c == "auto" else tuple(int(v) for v in c.split(":"))
                     for c in args.cells.split(",")]
        modes = ([] if args.no_vanilla else [(1, 0)]) + cells
        log(f"length {length}: L={L}, modes {modes}")

        # The documents: the set's books, each length its own.
        order, first_fact = BOOK_SETS[args.set]
        candidates = iter(order(books)[length_index * 2 * args.documents_per_length:])
        documents = []
        next_fact = (length_index * 7 + first_fact) % len(FACTS)
        while "fact" in tasks and len(documents) < args.documents_per_length:
            book = next(candidates)
            text = book_text(book)
            if len(text) < (length + 2000) * 4.6:
                continue  # too short for this length
            band = len(documents) % 3
            depths = [DEPTH_BANDS[k][band] for k in range(3)]
            doc_id = f"{book.stem}@{length}"
            # What each document is (its book's first base_chars characters of running text,
            # the facts planted and where) is kept in the repository, so that a later session
            # rebuilds the same documents without asking the in-window questions again; the
            # text itself is written to --work only.
            meta_path = Path(args.documents) / f"{args.set}-{doc_id}.json"
            doc_path = work / f"{args.set}-{doc_id}.txt"
            if meta_path.exists():
                meta = json.loads(meta_path.read_text())
                if not meta.get("skipped"):
                    if not doc_path.exists():
                        doc_path.write_text(
                            plant(text[:meta["base_chars"]],
                                  [(c["depth"], c["sentence"]) for c in meta["facts"]]),
                            encoding="utf-8")
                    meta["path"] = str(doc_path)
                    documents.append(meta)
                continue
            base, base_tokens = fit_to_tokens(cli, text, length - PROMPT_OVERHEAD, work, "fit.txt")
            chars_per_token = len(base) / base_tokens
            chosen = []
            for stated, depth in enumerate(depths):
                # The fact must be stated from a passage that fits in the window, with the fact
                # where it will be: the excerpt of INSIDE_TOKENS tokens around it.
                for _ in range(4):
                    sentence, question, answer = FACTS[next_fact % len(FACTS)]
                    next_fact += 1
                    if any(answer == c["answer"] for c in chosen):
                        continue
                    at = paragraph_start_near(base, int(len(base) * depth))
                    half = int(INSIDE_TOKENS * chars_per_token / 2)
                    lo = base.rfind("\n\n", 0, max(0, at - half)) + 2 if at > half else 0
                    hi = base.find("\n\n", at + half)
                    hi = len(base) if hi < 0 else hi
                    excerpt = base[lo:at] + sentence + "\n\n" + base[at:hi]
                    inside = work / "inside.txt"
                    inside.write_text(excerpt, encoding="utf-8")
                    reply, tokens, _ = cli.ask(inside, question, 1, 0, cache=False)
                    ok = answered(reply, answer)
                    log(f"inside the window ({tokens} tokens) {book.stem} depth {depth}: "
                        f"{'ok' if ok else 'not stated'} «{reply[:70]}»")
                    if ok:
                        chosen.append({"depth": depth, "sentence": sentence, "question": question,
                                       "answer": answer, "inside_tokens": tokens,
                                       "inside_reply": reply})
                        break
                if len(chosen) == stated:
                    break  # no fact stated at this depth: the book cannot give three
            if len(chosen) < 3:
                log(f"{book.stem}: only {len(chosen)} facts stated inside the window; book skipped")
                meta_path.write_text(json.dumps({"id": doc_id, "skipped": True}))
                continue
            planted = plant(base, [(c["depth"], c["sentence"]) for c in chosen])
            doc_path.write_text(planted, encoding="utf-8")
            meta = {"id": doc_id, "book": book.name, "base_chars": len(base),
                    "tokens": cli.count_tokens(doc_path), "facts": chosen}
            meta_path.write_text(json.dumps(meta, indent=1))
            meta["path"] = str(doc_path)
            documents.append(meta)

        # Units in an order that compares every mode on the same trials early: a document (all
        # modes), then a pass-key depth (all modes), and so on.
        units = []
        passkey_depths = ([float(d) for d in args.passkey_depths.split(",")]
                          if "passkey" in tasks else [])
        for k in range(max(len(documents), len(passkey_depths) * 2)):
            if k < len(documents):
                units.append(("fact", documents[k]))
            if k % 2 == 1 and k // 2 < len(passkey_depths):
                units.append(("passkey", passkey_depths[k // 2]))
        def done(mode, task, trial):
            if mode == "auto":
                return (task, args.set, length, trial) in results.auto_done
            return results.has(task=task, set=args.set, length=length, group=mode[0],
                               window=mode[1], trial=trial)

        def trials_of(kind, unit):
            if kind == "passkey":
                return [f"depth={unit}"]
            return [f"{unit['id']}:{fact['depth']}" for fact in unit["facts"]]

        # What this run has left: its own modes' trials not in the results yet.
        progress["left"] = sum(1 for kind, unit in units for mode in modes
                               for trial in trials_of(kind, unit) if not done(mode, kind, trial))
        for kind, unit in units:
            for mode in modes:
                if mode == "auto":
                    group_flag, window_flag = "auto", None
                else:
                    group_flag, window_flag = mode

                if kind == "passkey":
                    trial = f"depth={unit}"
                    if done(mode, "passkey", trial):
                        continue
                    # Vanilla as G = 1, which the position rule leaves exact (one prefill).
                    # A key of its own at each depth and length (the same for every mode).
                    cmd = ["passkey", "--lengths", str(length), "--depths", str(unit), "--json",
                           "--seed", str(length + int(unit * 1000)),
                           "--group", str(group_flag), "--no-vanilla"]
                    if window_flag:
                        cmd += ["--window", str(window_flag)]
                    t0 = time.time()
                    out, _ = cli.run(*cmd)
                    row = json.loads(out)["results"][0]
                    detail = row["details"][0]
                    group = row["group"] if row["group"] > 1 else 1
                    window = row["window"] if group > 1 else 0
                    record(task="passkey", length=length, group=group, window=window,
                           trial=trial, auto=(mode == "auto"), prompt_tokens=detail["length"],
                           depth=unit, expected=detail["key"], answer=detail["answer"],
                           found=detail["correct"], seconds=round(time.time() - t0, 1))
                    continue
                document = unit
                for fact in document["facts"]:
                    trial = f"{document['id']}:{fact['depth']}"
                    if done(mode, "fact", trial):
                        continue
                    t0 = time.time()
                    reply, prompt_tokens, previews = cli.ask(
                        document["path"], fact["question"], group_flag, window_flag, cache=True,
                        sources=SOURCES)
                    group, window = cli.last_mode
                    # Where the planted sentence is among the answer's sources (0: not listed).
                    planted = fact["sentence"][:60]
                    source_rank = next((k + 1 for k, p in enumerate(previews)
                                        if planted in p or p.rstrip("…") in fact["sentence"]), 0)
                    record(task="fact", length=length, group=group, window=window, trial=trial,
                           auto=(mode == "auto"), prompt_tokens=prompt_tokens,
                           book=document["book"], depth=fact["depth"], question=fact["question"],
                           expected=fact["answer"], answer=reply,
                           found=answered(reply, fact["answer"]), source_rank=source_rank,
                           sources=len(previews), seconds=round(time.time() - t0, 1))
    log("done")


if __name__ == "__main__":
    sys.exit(main())
