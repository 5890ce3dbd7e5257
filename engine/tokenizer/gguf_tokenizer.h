// The tokenizer a GGUF file describes (tokenizer.ggml.*): SentencePiece for model "llama",
// byte-level BPE for "gpt2"; and the checked reads of those keys both readers share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "gguf/gguf_file.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufFile& gguf);

namespace gguf_vocabulary {

// The piece kind of a tokenizer.ggml.token_type value (SentencePiece's numbering).
PieceKind kind_from_type(int64_t type);

// The array stored under key, checked to hold element_type and, unless expected is 0, exactly
// `expected` entries (throws Error naming the key).
const GgufValue& array(const GgufFile& gguf, const char* key, GgufType element_type,
                       size_t expected);

// A token id key: fallback when absent, -1 for "none", else an id below vocab_size (throws
// Error naming the key otherwise).
int32_t token_id(const GgufFile& gguf, const char* key, int64_t fallback, size_t vocab_size);

}  // namespace gguf_vocabulary

}  // namespace selfextend
