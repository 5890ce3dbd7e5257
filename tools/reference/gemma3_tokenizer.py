"""Gemma 3's SentencePiece tokenizer for the reference scripts, run by the PyPI `sentencepiece`
package on a model proto rebuilt here (with the package's own `sentencepiece_model_pb2`) from the
vocabulary the GGUF stores: the pieces, their scores and types, BPE with byte fallback, and the
normalizer Gemma's tokenizer.model uses (identity rules, no dummy prefix, whitespace kept as is
and escaped to U+2581). The file marks '<unk>' as a control token; SentencePiece needs the
unknown piece typed UNKNOWN, so it is. Nothing of the engine is used.

User-defined pieces are whole pieces of the text (SentencePiece's rule for user-defined symbols,
and llama.cpp's): the package's normalizer escapes spaces to U+2581 before it looks for them, so
the pieces that hold a space (Gemma 3's runs of 2 to 31 spaces) would never match; `encode`
matches those in the raw text, longest first at each position, and the package encodes the text
between them, as llama.cpp does ("a  b" is 'a', '  ', 'b')."""

import gguf
from sentencepiece import SentencePieceProcessor
from sentencepiece import sentencepiece_model_pb2 as model_pb2


def _field(reader, key):
    return reader.fields[key].contents()


def spaced_user_pieces(path):
    """{piece: id} of the user-defined pieces that hold a space."""
    reader = gguf.GGUFReader(str(path))
    tokens = _field(reader, "tokenizer.ggml.tokens")
    types = _field(reader, "tokenizer.ggml.token_type")
    return {t: i for i, (t, k) in enumerate(zip(tokens, types)) if k == 4 and " " in t}


def encode(sp, spaced, text):
    """The ids of `text` (no BOS): `spaced` pieces whole, the rest through the package."""
    longest_first = sorted(spaced, key=len, reverse=True)
    ids, plain_from, at = [], 0, 0
    while at < len(text):
        match = next((p for p in longest_first if text.startswith(p, at)), None)
        if match is None:
            at += 1
            continue
        if at > plain_from:
            ids += sp.encode(text[plain_from:at])
        ids.append(spaced[match])
        at += len(match)
        plain_from = at
    if plain_from < len(text):
        ids += sp.encode(text[plain_from:])
    return ids


def gemma3_processor(path):
    """(processor, bos_id, add_bos) for the GGUF at `path`."""
    reader = gguf.GGUFReader(str(path))
    assert _field(reader, "tokenizer.ggml.model") == "llama"
    tokens = _field(reader, "tokenizer.ggml.tokens")
    scores = _field(reader, "tokenizer.ggml.scores")
    types = _field(reader, "tokenizer.ggml.token_type")
    unk = _field(reader, "tokenizer.ggml.unknown_token_id")
    bos = _field(reader, "tokenizer.ggml.bos_token_id")
    eos = _field(reader, "tokenizer.ggml.eos_token_id")
    pad = _field(reader, "tokenizer.ggml.padding_token_id")

    proto = model_pb2.ModelProto()
    for i, (piece, score, kind) in enumerate(zip(tokens, scores, types)):
        p = proto.pieces.add()
        p.piece = piece
        p.score = score
        # GGUF token types are SentencePiece's (1 normal, 2 unknown, 3 control, 4 user defined,
        # 5 unused, 6 byte).
        p.type = model_pb2.ModelProto.SentencePiece.UNKNOWN if i == unk else kind
    t = proto.trainer_spec
    t.model_type = model_pb2.TrainerSpec.BPE
    t.vocab_size = len(tokens)
    t.byte_fallback = True
    t.unk_id, t.bos_id, t.eos_id, t.pad_id = unk, bos, eos, pad
    t.unk_piece, t.bos_piece = tokens[unk], tokens[bos]
    t.eos_piece, t.pad_piece = tokens[eos], tokens[pad]
    n = proto.normalizer_spec
    n.name = "identity"
    n.add_dummy_prefix = bool(_field(reader, "tokenizer.ggml.add_space_prefix"))
    n.remove_extra_whitespaces = False
    n.escape_whitespaces = True
    sp = SentencePieceProcessor()
    sp.LoadFromSerializedProto(proto.SerializeToString())
    return sp, bos, bool(_field(reader, "tokenizer.ggml.add_bos_token"))
