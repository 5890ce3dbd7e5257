#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets (tests/fuzz/) into tests/fuzz/seeds/.

Small valid inputs of each kind, so that fuzzing starts past the first checks: GGUF files (a
byte-level BPE vocabulary, a SentencePiece vocabulary, a tiny one-layer Llama model in F32)
written with the PyPI `gguf` package; texts for the tokenizers; and one document
of each format (text, HTML, EPUB, PDF), each behind the format byte fuzz_documents reads first.
Run it again after changing it and commit what it writes.
"""
import io
import os
import zipfile

import numpy as np
import gguf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fuzz",
                    "seeds")


def write(kind, name, data):
    folder = os.path.join(ROOT, kind)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def gguf_bytes(fill):
    path = "/tmp/se-fuzz-seed.gguf"
    w = gguf.GGUFWriter(path, "llama")
    fill(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def byte_level_vocabulary(w):
    # GPT-2's byte-to-character map for the 256 bytes, then a few merged tokens.
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    tokens = [chars[b] for b in range(256)] + ["Ġt", "he", "Ġthe", "<|endoftext|>"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([1] * 259 + [3])
    w.add_token_merges(["Ġ t", "h e", "Ġt he"])
    w.add_eos_token_id(259)


def sentencepiece_vocabulary(w):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + [
        "▁", "▁the", "e", "t", "h", "▁a"]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * 259 + [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0])
    w.add_token_types([2, 3, 3] + [6] * 256 + [1] * 6)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)


def tiny_llama(w):
    sentencepiece_vocabulary(w)
    dim, heads, ffn, vocab = 32, 2, 32, 265
    w.add_context_length(64)
    w.add_embedding_length(dim)
    w.add_block_count(1)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(heads)
    w.add_layer_norm_rms_eps(1e-5)
    rng = np.random.default_rng(7)
    w.add_tensor("token_embd.weight", rng.standard_normal((vocab, dim), dtype=np.float32))
    w.add_tensor("output_norm.weight", np.ones(dim, dtype=np.float32))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(dim, dtype=np.float32))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(dim, dtype=np.float32))
    for name in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]:
        w.add_tensor(f"blk.0.{name}.weight", rng.standard_normal((dim, dim), dtype=np.float32))


def epub(chapters):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml",
                   '<?xml version="1.0"?><container version="1.0" '
                   'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                   '<rootfile full-path="OEBPS/content.opf" '
                   'media-type="application/oebps-package+xml"/></rootfiles></container>')
        items = "".join(f'<item id="c{k}" href="c{k}.xhtml" media-type="application/xhtml+xml"/>'
                        for k in range(len(chapters)))
        spine = "".join(f'<itemref idref="c{k}"/>' for k in reversed(range(len(chapters))))
        z.writestr("OEBPS/content.opf",
                   '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" '
                   f'version="3.0"><manifest>{items}</manifest><spine>{spine}</spine></package>')
        for k, text in enumerate(chapters):
            z.writestr(f"OEBPS/c{k}.xhtml",
                       '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
                       f"<p>{text}</p></body></html>")
    return out.getvalue()


def pdf(text):
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
               b"/Resources << /Font << /F1 3 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1,
                                                                            xref)
    return bytes(out)


def main():
    write("gguf", "bpe-vocabulary.gguf", gguf_bytes(byte_level_vocabulary))
    write("gguf", "sentencepiece-vocabulary.gguf", gguf_bytes(sentencepiece_vocabulary))
    write("gguf", "tiny-llama-f32.gguf", gguf_bytes(tiny_llama))

    texts = {
        "prose.txt": "It is a truth universally acknowledged, that a single man in possession of "
                     "a good fortune, must be in want of a wife.\r\n",
        "mixed.txt": "Tabs\tand   runs  of spaces, 12345 digits, don't it's, "
                     "Привет мир, 日本語のテキスト, emoji 👍🏽 and <|im_start|>.",
        "edges.txt": "\n\n   \t\u00a0\u2028x\ufeff",
    }
    for name, text in texts.items():
        write("tokenizer", name, text.encode())

    write("documents", "text.bin", b"\x00" + "A plain text line.\nAnother one.\n".encode())
    write("documents", "html.bin", b"\x01" + (
        '<html><head><meta charset="iso-8859-1"><title>T</title><style>p{}</style></head>'
        '<body><p title="a > b">Caf\xe9 &hellip; &amp; &eacute;</p><script>x()</script>'
        '<ul><li>one<li>two</ul></body></html>').encode("latin-1"))
    write("documents", "epub.bin", b"\x02" + epub(["Chapter one.", "Chapter two &amp; more."]))
    write("documents", "pdf.bin", b"\x03" + pdf("The door code is 4821."))


if __name__ == "__main__":
    main()
