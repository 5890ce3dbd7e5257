#!/usr/bin/env python3
"""Expected token ids for Gemma 3's SentencePiece vocabulary, from the PyPI `sentencepiece`
package on a model proto rebuilt from the GGUF (gemma3_tokenizer.py; nothing of the engine is
used). Writes into tests/data/gemma3/:

    tokenizer-extra.inp   texts that matter to this vocabulary (whitespace and newline runs it
                          has pieces for, byte fallback, chat markers as plain text, a dummy
                          prefix that must not be added), each followed by "\\n__ggml_vocab_test__\\n"
    tokenizer-extra.out   their ids, one line per text (no BOS)
    tokenizer-shared.out  the ids of the texts of tests/data/tokenizer/smollm2-vectors.inp (book
                          passages, scripts, emoji, digits, random mixtures), one line per text
    tokenizer-books.txt   for whole books of ../shared/corpus/books: bytes, id count, SHA-256 of
                          the ids as little-endian int32

    pip install gguf sentencepiece protobuf
    tools/reference/gen_gemma3_tokenizer_vectors.py [--model PATH] [--books DIR]
"""

import argparse
import hashlib
import os
import struct

from gemma3_tokenizer import encode, gemma3_processor, spaced_user_pieces

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEPARATOR = "\n__ggml_vocab_test__\n"
BOOKS = ["middlemarch.txt", "pg2600_war_and_peace.txt"]


def extra_texts():
    return [
        "",
        "Hello",
        " Hello",
        "  Hello  ",
        "Hello\n",
        "\n",
        "\n\n",
        "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
        "a\n\n\nb\n\n\n\nc",
        "\t",
        "\t\t\t\t\t\t\t\t",
        "x\t\t\ty",
        "                                ",
        "word   word    word",
        " \n \n\t\n",
        "<start_of_turn>user\nWhat is the pass key?<end_of_turn>\n<start_of_turn>model\n",
        "<bos><eos><pad><unk><mask>",
        "[multimodal]",
        "<start_of_image>",
        "<div><p>HTML &amp; tags</p></div>",
        "The pass key is 38117. Remember it. 38117 is the pass key.",
        "1234567890 3.14159 2026-08-01",
        "plane \U00050000 four\U00044444x",
        "\x00\x01\x7f controls",
        "drop\x04ped \x06 controls",
        "\u2581 the marker itself, \u2581\u2581 twice",
        "caf\u00e9 e\u0301 \uff21\uff22\uff23 \ufb01 \u2126",
        "\u4e2d\u6587 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
        "emoji \U0001f600 \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f1f3\U0001f1f4",
        "def f(x):\n    return x ** 2\n",
        "trailing space ",
        # Runs of spaces are user-defined pieces, matched whole (llama.cpp: "a  b   c    d" is
        # 236746, 138, 236763, 139, ...): indented code, aligned tables, long runs.
        "a  b   c    d",
        "  two leading, three after.   ",
        " " * 31 + "|" + " " * 40 + "|" + " " * 62,
        "class Stack:\n    def push(self, x):\n        self.items.append(x)\n\n"
        "        # nested  comment   with  gaps\n    def pop(self):\n        return self.items.pop()\n",
        "if (x) {\n\tif (y) {\n\t\t  return  1;\n\t}\n}\n",
        "| name      | value | unit  |\n|-----------|-------|-------|\n| length    |  4096 | tok   |\n"
        "| window    |   512 | tok   |\n",
        "Name         Age   City\nAlice         30   Paris\nBob           4    Oslo\n",
        "<table>\n  <tr>\n    <td>  cell  </td>\n  </tr>\n</table>",
        "End of sentence.  Next one, two spaces after the stop.  And a third.",
        "\u2581\u2581  \u2581 mixed markers  and spaces",
        "  \n  \n    \n\t  \t",
    ]


def ids_digest(ids):
    return hashlib.sha256(struct.pack(f"<{len(ids)}i", *ids)).hexdigest()


def read_cases(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read().split(SEPARATOR)[:-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models/gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--books", default=os.path.join(ROOT, "../shared/corpus/books"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests/data/gemma3"))
    args = parser.parse_args()
    sp, _, _ = gemma3_processor(args.model)
    spaced = spaced_user_pieces(args.model)
    os.makedirs(args.out, exist_ok=True)

    def ids_lines(texts):
        lines = []
        for text in texts:
            assert SEPARATOR not in text
            ids = encode(sp, spaced, text)
            lines.append(" ".join(str(i) for i in ids))
        return lines

    extra = extra_texts()
    with open(os.path.join(args.out, "tokenizer-extra.inp"), "w", encoding="utf-8", newline="") as f:
        f.write("".join(text + SEPARATOR for text in extra))
    for name, texts in [
        ("tokenizer-extra.out", extra),
        ("tokenizer-shared.out",
         read_cases(os.path.join(ROOT, "tests/data/tokenizer/smollm2-vectors.inp"))),
    ]:
        lines = ids_lines(texts)
        with open(os.path.join(args.out, name), "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))
        print(f"{name}: {len(texts)} texts, {sum(len(l.split()) for l in lines)} ids")

    with open(os.path.join(args.out, "tokenizer-books.txt"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("# book, bytes, ids, SHA-256 of the ids as little-endian int32 (no BOS)\n")
        for name in BOOKS:
            with open(os.path.join(args.books, name), "rb") as book:
                data = book.read()
            ids = encode(sp, spaced, data.decode("utf-8"))
            f.write(f"{name} {len(data)} {len(ids)} {ids_digest(ids)}\n")
            print(f"{name}: {len(data)} bytes, {len(ids)} ids")


if __name__ == "__main__":
    main()
