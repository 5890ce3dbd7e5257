"""SmolLM2's byte-level BPE tokenizer, built with the PyPI `tokenizers` package (an implementation
independent of the engine) from the vocabulary and merges its GGUF stores: the 'smollm'
pre-tokenizer is every digit on its own, then the GPT-2 regex on the byte-level text."""

import gguf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers


def read_vocabulary(path):
    """(tokens, merges) of a GGUF with a 'gpt2' (byte-level BPE) 'smollm' vocabulary."""
    reader = gguf.GGUFReader(str(path))

    def strings(key):
        field = reader.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    def string(key):
        field = reader.fields[key]
        return bytes(field.parts[field.data[0]]).decode("utf-8")

    assert string("tokenizer.ggml.model") == "gpt2"
    assert string("tokenizer.ggml.pre") == "smollm"
    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    return tokens, merges


def build_tokenizer(tokens, merges):
    vocab = {token: i for i, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def smollm2_tokenizer(path):
    return build_tokenizer(*read_vocabulary(path))
