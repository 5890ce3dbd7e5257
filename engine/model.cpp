#include <algorithm>
#include <cmath>
#include <cstdio>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "model_impl.h"
#include "session_impl.h"
#include "tokenizer/sentencepiece_tokenizer.h"

namespace selfextend {

namespace {

ModelInfo describe(const std::string& path, const GgufFile& gguf, const HyperParams& hp) {
    ModelInfo info;
    info.path = path;
    info.name = gguf.find_string("general.name").value_or(path.substr(path.find_last_of('/') + 1));
    info.architecture = hp.architecture;
    info.training_window = hp.context_length;
    info.embedding_length = hp.embedding_length;
    info.layer_count = hp.layer_count;
    info.head_count = hp.head_count;
    info.head_count_kv = hp.head_count_kv;
    info.head_dim = hp.head_dim;
    info.feed_forward_length = hp.feed_forward_length;
    info.vocab_size = hp.vocab_size;
    info.rope_freq_base = hp.rope_freq_base;
    info.rope_scale = hp.rope_scale;
    info.norm_eps = hp.norm_eps;
    info.file_bytes = gguf.file_bytes();
    for (const GgufTensor& tensor : gguf.tensors()) {
        info.parameter_count += tensor.element_count();
        info.weight_bytes += tensor.bytes;
        info.dtype_parameters[std::string(tensor.dtype->name)] += tensor.element_count();
    }
    return info;
}

std::unique_ptr<detail::Backend> make_backend(const LoadOptions& options, const HyperParams& hp,
                                              const LlamaWeights& weights) {
    if (options.device != Device::Cpu) {
        if (cuda::cuda_available()) return cuda::make_cuda_backend(hp, weights);
        if (options.device == Device::Cuda)
            throw Error("no CUDA device: " + cuda::cuda_unavailable_reason());
    }
    return std::make_unique<cpu::CpuBackend>(hp, weights, options.threads);
}

}  // namespace

uint64_t ModelInfo::kv_bytes_per_token() const {
    // K and V in float32 on the CPU (the CUDA cache is fp16: half of this). Self-Extend caches K
    // once too, so the mode does not change it.
    return uint64_t(layer_count) * uint64_t(head_count_kv) * uint64_t(head_dim) * sizeof(float) * 2;
}

std::string ModelInfo::dtype_mix() const {
    std::vector<std::pair<int64_t, std::string>> parts;
    for (const auto& [dtype, count] : dtype_parameters) parts.emplace_back(count, dtype);
    std::sort(parts.rbegin(), parts.rend());
    std::string text;
    for (const auto& [count, dtype] : parts) {
        char share[32];
        std::snprintf(share, sizeof share, " %.1f%%",
                      100.0 * double(count) / double(std::max<int64_t>(1, parameter_count)));
        text += (text.empty() ? "" : ", ") + dtype + share;
    }
    return text;
}

double ScoreResult::perplexity() const {
    return tokens_scored ? std::exp(negative_log_likelihood / double(tokens_scored)) : 0.0;
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
    auto report = [&](double fraction) {
        if (options.on_progress) options.on_progress(fraction);
    };
    report(0.0);
    auto impl = std::make_unique<Impl>(Impl{GgufFile::open(path), {}, {}, {}, {}, {}});
    report(0.3);
    impl->hp = HyperParams::from_gguf(impl->gguf);
    impl->weights = LlamaWeights::bind(impl->gguf, impl->hp);
    if (impl->weights.token_embedding.rows != impl->hp.vocab_size)
        throw Error("model: vocabulary size does not match token_embd.weight");
    report(0.5);
    impl->tokenizer = tokenizer_from_gguf(impl->gguf);
    if (impl->tokenizer->vocab_size() != impl->hp.vocab_size)
        throw Error("model: the tokenizer has " + std::to_string(impl->tokenizer->vocab_size()) +
                    " tokens, the weights " + std::to_string(impl->hp.vocab_size));
    report(0.7);
    impl->backend = make_backend(options, impl->hp, impl->weights);
    impl->info = describe(path, impl->gguf, impl->hp);
    impl->info.device = impl->backend->device_name();
    report(1.0);
    return std::make_shared<Model>(std::move(impl));
}

const ModelInfo& Model::info() const {
    return impl_->info;
}
const Tokenizer& Model::tokenizer() const {
    return *impl_->tokenizer;
}

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_bos) const {
    return impl_->tokenizer->encode(text, add_bos);
}

std::string Model::detokenize(std::span<const int32_t> tokens) const {
    return impl_->tokenizer->decode(tokens);
}
int32_t Model::bos_id() const {
    return impl_->tokenizer->bos_id();
}
int32_t Model::eos_id() const {
    return impl_->tokenizer->eos_id();
}

std::unique_ptr<Session> Model::new_session(const SessionOptions& options) {
    SessionOptions resolved = options;
    validate(resolved.attention, impl_->hp.context_length);
    if (resolved.context_length < 0) throw Error("context length must not be negative");
    if (resolved.context_length == 0) resolved.context_length = impl_->hp.context_length;
    return std::make_unique<Session>(std::make_unique<Session::Impl>(shared_from_this(), resolved));
}

}  // namespace selfextend
