// What a loaded model holds: the mapped file, its hyper-parameters, bound weights, tokenizer and
// the backend that computes with them. Shared by Model and its Sessions.
#pragma once

#include <array>
#include <memory>
#include <mutex>

#include "backend/backend.h"
#include "gguf/gguf_file.h"
#include "model/hyper_params.h"
#include "model/model_weights.h"
#include "selfextend/chat.h"
#include "selfextend/engine.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

struct Model::Impl {
    explicit Impl(GgufFile file) : gguf(std::move(file)) {}

    GgufFile gguf;
    HyperParams hp;
    ModelWeights weights;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<detail::Backend> backend;
    ModelInfo info;
    std::unique_ptr<ChatTemplate> chat_template;  // refers to *tokenizer
    // Tokens that end a generation: EOS, the end-of-turn tokens of every known chat format that
    // the vocabulary has as control tokens, and tokenizer.ggml.eot_token_id.
    std::vector<int32_t> end_of_generation;

    // A hash of the whole model file, computed on first use (the disk cache keys on it).
    const std::array<uint64_t, 2>& file_hash() const;

  private:
    mutable std::once_flag file_hash_once_;
    mutable std::array<uint64_t, 2> file_hash_{};
};

}  // namespace selfextend
