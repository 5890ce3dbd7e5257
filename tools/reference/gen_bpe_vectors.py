#!/usr/bin/env python3
"""Expected token ids for SmolLM2's byte-level BPE vocabulary, from an independent tokenizer.

Reads the vocabulary and merges of models/SmolLM2-135M-Instruct.Q4_1.gguf with the PyPI `gguf`
package, builds a Hugging Face `tokenizers` BPE from them (pre-tokenizer: digits one by one, then
GPT-2's byte-level regex; ByteLevel decoder; no added tokens, so text that spells a special token
is tokenized as plain text) and writes

    tests/data/tokenizer/smollm2-vectors.inp   the texts, each followed by "\\n__ggml_vocab_test__\\n"
    tests/data/tokenizer/smollm2-vectors.out   one line of ids per text

in the format of llama.cpp's ggml-vocab-*.gguf.inp/.out files; for whole books, the number of
ids and the SHA-256 of them as little-endian int32 (smollm2-books.txt); and, for the same texts,
how four pre-tokenizers cut them, as UTF-8 byte lengths of the pieces (pre-tokens-NAME.out: gpt2,
smollm, llama3, qwen2, with the split patterns of their tokenizer.json files). Nothing of the
engine is used.

    pip install gguf tokenizers
    tools/reference/gen_bpe_vectors.py [--model PATH] [--books DIR]
"""
import argparse
import hashlib
import os
import random
import struct

import gguf
from tokenizers import Regex, pre_tokenizers

from smollm2_tokenizer import build_tokenizer, read_vocabulary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEPARATOR = "\n__ggml_vocab_test__\n"


# The split regexes of Llama 3's and Qwen2's tokenizer.json files.
LLAMA3 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def pre_tokenizer_family():
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    digits = pre_tokenizers.Digits(individual_digits=True)

    def utf8_length(piece):
        return len(piece.encode())

    return {
        # ByteLevel's pieces come back in the byte table's characters: one per byte.
        "gpt2": (byte_level, len),
        "smollm": (pre_tokenizers.Sequence([digits, byte_level]), len),
        "llama3": (pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"), utf8_length),
        "qwen2": (pre_tokenizers.Split(Regex(QWEN2), behavior="isolated"), utf8_length),
    }


def ids_digest(ids):
    return hashlib.sha256(struct.pack(f"<{len(ids)}i", *ids)).hexdigest()


def passage(path, fraction, chars):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start = int(len(text) * fraction)
    return text[start : start + chars]


# Texts with bytes the vocabulary lacks: they do not come back from decode.
LOSSY = ["drop\x04ped \x06 controls", "plane \U00050000 four\U00044444x"]


def hand_picked():
    return [
        "",
        "Hello world",
        " Hello world",
        # line ends and tabs
        "line one\r\nline two\r\n\r\nthird line\r\n",
        "\r\n",
        "\r",
        "a\rb",
        "\tindented\t\ttext\t",
        "\t\n",
        "col1\tcol2\tcol3\n1\t2\t3\n",
        # whitespace runs
        "a  b   c    d     e",
        "trailing   ",
        "   leading",
        "x \n y",
        "a \t\n b",
        "word\n\n\n   indented after blank lines",
        "end.\nThe next line",
        "end.\n\nThe next paragraph",
        "end. \nThe line after a trailing space",
        # only spaces, only newlines
        " ",
        "  ",
        "                ",
        "\n",
        "\n\n",
        "\n\n\n\n\n\n",
        " \n \n ",
        # digits
        "1234567890",
        "3.14159",
        "2026-08-01",
        "x1y22z333",
        " 42 and 7",
        "The pass key is 38117.",
        "\uff11\uff12\uff13 fullwidth",
        "\u0663\u0664\u0665 Arabic-Indic",
        "\u00bd \u00b2 \u2167 \u2460",
        # contractions
        "it's don't we're they've I'm we'll he'd",
        "IT'S DON'T WE'RE THEY'VE I'M WE'LL HE'D",
        "It'S dOn'T",
        "'s 't 're 've 'm 'll 'd",
        "rock 'n' roll, 'tis the season's end",
        "the cat\u2019s whiskers",
        # scripts
        "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac: \u03ba\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u03ba\u03cc\u03c3\u03bc\u03b5",
        "\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442, \u0451\u0436\u0438\u043a!",
        "\u4e2d\u6587\u5b57\u7b26\u548c\u6807\u70b9\u3002\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\ud55c\uad6d\uc5b4",
        "\u0627\u0644\u0639\u0631\u0628\u064a\u0629: \u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
        "\u0939\u093f\u0928\u094d\u0926\u0940 \u092e\u0947\u0902 \u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
        "\u05e2\u05d1\u05e8\u05d9\u05ea \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22 \u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8",
        "Ünïcödé àccénts — “quotes” … ½",
        "e\u0301 A\u0308 combining marks",
        "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522 \U00010348",
        # emoji, with skin tones, flags and ZWJ sequences
        "emoji \U0001f600\U0001f680 \u2764\ufe0f \U0001f44d\U0001f3fd",
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family",
        "\U0001f3f3\ufe0f\u200d\U0001f308 \U0001f1f3\U0001f1f4\U0001f1ef\U0001f1f5",
        "\U0001f642",
        " \U0001f642 ",
        # unusual whitespace and format characters
        "no\u00a0break\u2003em\u3000ideographic",
        "mongolian\u180evowel separator",
        "next\u0085line and\u2028line\u2029paragraph",
        "zero\u200bwidth\u200cnon\u200djoiner",
        "vertical\x0btab\x0cform feed",
        "\x00\x01\x7f controls",
        # bytes SmolLM2's vocabulary has no token for are dropped (U+0004, lead byte F1)
        LOSSY[0],
        LOSSY[1],
        # special-token text stays plain text
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
        "<|endoftext|>",
        "<|im_start|>",
        "<repo_name><file_sep>",
        # code and symbols
        "def f(x):\n    return x ** 2  # square\n",
        "if (a <= b && c != d) { return y[2] * 3; }",
        "https://example.org/path?q=1&r=two#frag user@example.com",
        "!!!???...---___***",
        "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "$100.00 \u20ac50 \u00a330 \u00a5200",
    ]


def random_texts(count, seed):
    """Mixtures of everything the pre-tokenizer distinguishes, from a fixed seed."""
    alphabet = (
        list("abcXYZ ") * 3
        + list("0123456789")
        + list("  \n\n\t\r'.,!?-_()")
        + ["'s", "'T", "'ll", "\u00e9", "\u00df", "\u0436", "\u03a9", "\u4e2d", "\u3042", "\ud55c"]
        + ["\u0301", "\u00a0", "\u3000", "\u2028", "\u00bd", "\uff15", "\u0663"]
        + ["\U0001f600", "\u200d", "\ufe0f", "\U0001f1f3", "\U0001d518", "\u20ac", "\u2014"]
    )
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))) for _ in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", default=os.path.join(ROOT, "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--books", default=os.path.join(ROOT, "../shared/corpus/books"))
    parser.add_argument(
        "--out", default=os.path.join(ROOT, "tests/data/tokenizer/smollm2-vectors"))
    args = parser.parse_args()

    tokens, merges = read_vocabulary(args.model)
    tokenizer = build_tokenizer(tokens, merges)

    books = [
        ("middlemarch.txt", 0.10),
        ("pg2600_war_and_peace.txt", 0.50),
        ("pg2610_notre_dame_de_paris.txt", 0.30),
        ("pg1228_origin_of_species.txt", 0.70),
    ]
    texts = [passage(os.path.join(args.books, name), at, 3000) for name, at in books]
    texts += hand_picked() + random_texts(40, seed=2026)

    lines = []
    for text in texts:
        assert SEPARATOR not in text
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        assert tokenizer.decode(ids) == text or text in LOSSY, repr(text)
        lines.append(" ".join(str(i) for i in ids))

    folder = os.path.dirname(args.out)
    os.makedirs(folder, exist_ok=True)
    with open(args.out + ".inp", "w", encoding="utf-8", newline="") as f:
        f.write("".join(text + SEPARATOR for text in texts))
    with open(args.out + ".out", "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(line + "\n" for line in lines))
    print(f"{len(texts)} texts, {sum(len(l.split()) for l in lines)} ids -> {args.out}.inp/.out")

    for name, (pre_tokenizer, byte_length) in pre_tokenizer_family().items():
        path = os.path.join(folder, f"pre-tokens-{name}.out")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for text in texts:
                pieces = pre_tokenizer.pre_tokenize_str(text)
                lengths = [byte_length(piece) for piece, _ in pieces]
                assert sum(lengths) == len(text.encode()), (name, repr(text))
                f.write(" ".join(str(n) for n in lengths) + "\n")

    with open(os.path.join(folder, "smollm2-books.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# book, bytes, ids, SHA-256 of the ids as little-endian int32\n")
        for name in ["middlemarch.txt", "pg2600_war_and_peace.txt"]:
            with open(os.path.join(args.books, name), "rb") as book:
                data = book.read()
            ids = tokenizer.encode(data.decode("utf-8"), add_special_tokens=False).ids
            f.write(f"{name} {len(data)} {len(ids)} {ids_digest(ids)}\n")
            print(f"{name}: {len(data)} bytes, {len(ids)} ids")


if __name__ == "__main__":
    main()
