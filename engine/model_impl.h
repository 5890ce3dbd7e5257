// What a loaded model holds: the mapped file, its hyper-parameters, bound weights, tokenizer and
// the backend that computes with them. Shared by Model and its Sessions.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "gguf/gguf_file.h"
#include "model/hyper_params.h"
#include "model/llama_weights.h"
#include "selfextend/engine.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

struct Model::Impl {
    GgufFile gguf;
    HyperParams hp;
    LlamaWeights weights;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<detail::Backend> backend;
    ModelInfo info;
};

}  // namespace selfextend
