#include <algorithm>
#include <cmath>
#include <cstdio>

#include <xxhash.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_graph_support.h"
#include "engine_internals.h"
#include "model/model_impl.h"
#include "session_impl.h"
#include "tokenizer/gguf_tokenizer.h"

namespace selfextend {

namespace {

ModelInfo describe(const std::string& path, const GgufFile& gguf, const HyperParams& hp) {
    ModelInfo info;
    info.path = path;
    std::string file = path.substr(path.find_last_of('/') + 1);
    if (file.size() > 5 && file.compare(file.size() - 5, 5, ".gguf") == 0)
        file.resize(file.size() - 5);
    info.name = file;
    info.stated_name = gguf.find_string("general.name").value_or("");
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
    info.family = std::string(hp.family->name);
    info.trusted_position_share = hp.family->trusted_position_share;
    info.auto_window_divisor = hp.family->auto_window_divisor;
    info.sliding_window = hp.sliding_window;
    if (hp.sliding_window > 0) info.rope_freq_base_local = hp.rope_freq_base_local;
    info.ignored_sliding_window = hp.ignored_sliding_window;
    if (hp.ignored_sliding_window > 0)
        info.attention_note = "the file states a sliding window of " +
                              std::to_string(hp.ignored_sliding_window) +
                              " keys; this engine ignores it: every layer attends to all keys "
                              "(as llama.cpp runs this model), and Self-Extend regroups distances "
                              "instead of cutting them";
    for (int layer = 0; layer < hp.layer_count; ++layer)
        if (hp.self_extend_applies(layer)) info.self_extend_layers.push_back(layer);
    info.file_bytes = gguf.file_bytes();
    for (const GgufTensor& tensor : gguf.tensors()) {
        info.parameter_count += tensor.element_count();
        info.weight_bytes += tensor.bytes;
        info.dtype_parameters[std::string(tensor.dtype->name)] += tensor.element_count();
    }
    return info;
}

// The model's own chat template, or plain with a note when the file's cannot be used.
void choose_chat_template(detail::Internals::ModelImpl& impl) {
    const std::string source = impl.gguf.find_string("tokenizer.chat_template").value_or("");
    const ChatFormat format = detect_chat_format(source);
    try {
        impl.chat_template =
            std::make_unique<ChatTemplate>(format, *impl.tokenizer, default_system_prompt(source));
    } catch (const Error& e) {
        impl.info.chat_note = e.what();
        impl.chat_template = std::make_unique<ChatTemplate>(ChatFormat::Plain, *impl.tokenizer);
    }
    impl.info.chat_format = std::string(impl.chat_template->name());
}

std::vector<int32_t> end_of_generation_tokens(const GgufFile& gguf, const Tokenizer& tokenizer) {
    std::vector<int32_t> ids{tokenizer.eos_id()};
    if (gguf.find("tokenizer.ggml.eot_token_id")) {
        const int64_t id = gguf.get_int("tokenizer.ggml.eot_token_id");
        if (id >= 0 && id < tokenizer.vocab_size()) ids.push_back(int32_t(id));
    }
    for (const std::string_view piece :
         {"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>"})
        if (const auto id = tokenizer.find_token(piece);
            id && tokenizer.kind(*id) == PieceKind::Control)
            ids.push_back(*id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

// Largest relative difference of the logits of a few tokens on two backends (max |delta| over
// the max |logit| of `reference`).
double logits_difference(detail::Backend& tested, detail::Backend& reference,
                         const HyperParams& hp) {
    // A fixed, valid token sequence: the self-test needs no tokenizer.
    std::vector<int32_t> tokens;
    for (int k = 0; k < 8; ++k) tokens.push_back(int32_t((k * 7919 + 13) % hp.vocab_size));
    const auto run = [&](detail::Backend& backend) {
        std::vector<float> logits(size_t(hp.vocab_size) * tokens.size());
        auto session =
            backend.new_session(int64_t(tokens.size()), AttentionMode::vanilla(), KvType::F32);
        session->forward(tokens, int64_t(tokens.size()), logits.data());
        return logits;
    };
    const std::vector<float> a = run(tested);
    const std::vector<float> b = run(reference);
    double worst = 0, scale = 1e-30;
    for (size_t k = 0; k < a.size(); ++k) {
        worst = std::max(worst, double(std::abs(a[k] - b[k])));
        scale = std::max(scale, double(std::abs(b[k])));
    }
    return std::isfinite(worst) ? worst / scale : HUGE_VAL;
}

struct BackendChoice {
    std::unique_ptr<detail::Backend> backend;
    std::string note;  // why auto gave up the GPU
};

// --device cpu: the CPU. --device cuda: the GPU or an error. --device auto: the GPU only when it
// uploads the model and passes a self-test against the CPU backend; otherwise the CPU, with the
// reason kept for the user (a desktop app falls back rather than failing the load).
BackendChoice make_backend(const LoadOptions& options, const HyperParams& hp,
                           const ModelWeights& weights) {
    const auto cpu_backend = [&] {
        return std::make_unique<cpu::CpuBackend>(hp, weights, options.threads);
    };
    if (options.device == Device::Cpu) return {cpu_backend(), {}};
    if (const GpuAvailability gpu = gpu_availability(); !gpu.available) {
        if (options.device == Device::Cuda) throw Error("GPU (CUDA) not available: " + gpu.reason);
        return {cpu_backend(), gpu.reason};
    }
    // A graph the GPU cannot run: the CPU, with what the GPU lacks as the reason.
    if (std::string refusal = cuda::cuda_graph_refusal(hp, weights); !refusal.empty()) {
        if (options.device == Device::Cuda) throw Error(refusal);
        return {cpu_backend(), std::move(refusal)};
    }
    if (options.device == Device::Cuda) return {cuda::make_cuda_backend(hp, weights), {}};
    try {
        auto gpu = cuda::make_cuda_backend(hp, weights);
        auto cpu = cpu_backend();
        constexpr double kSelfTestTolerance = 2e-2;  // fp16 weights and KV against float32
        const double difference = logits_difference(*gpu, *cpu, hp);
        if (!(difference <= kSelfTestTolerance)) {
            char text[160];
            std::snprintf(text, sizeof text,
                          "the CUDA backend failed its self-test (logits differ from the CPU's by "
                          "%.3g of the largest, allowed %.3g)",
                          difference, kSelfTestTolerance);
            return {std::move(cpu), text};
        }
        return {std::move(gpu), {}};
    } catch (const std::exception& e) {
        return {cpu_backend(), std::string("the CUDA backend could not be used: ") + e.what()};
    }
}

}  // namespace

const std::array<uint64_t, 2>& Model::Impl::file_hash() const {
    std::call_once(file_hash_once_, [this] {
        const XXH128_hash_t hash = XXH3_128bits(gguf.bytes().data(), gguf.bytes().size());
        file_hash_ = {hash.low64, hash.high64};
    });
    return file_hash_;
}

uint64_t Model::kv_bytes_per_token(KvType kv_type, const AttentionMode& mode) const {
    return impl_->backend->kv_bytes_per_token(kv_type, mode);
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

Model::Model(Key, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

namespace {

// Everything load() reads from the file before it makes a backend, each part checked.
void read_model(detail::Internals::ModelImpl& impl, const std::function<void(double)>& report) {
    impl.hp = HyperParams::from_gguf(impl.gguf);
    impl.weights = ModelWeights::bind(impl.gguf, impl.hp);
    if (impl.weights.token_embedding.rows != impl.hp.vocab_size)
        throw Error("model: vocabulary size does not match token_embd.weight");
    report(0.5);
    impl.tokenizer = tokenizer_from_gguf(impl.gguf);
    if (impl.tokenizer->vocab_size() != impl.hp.vocab_size)
        throw Error("model: the tokenizer has " + std::to_string(impl.tokenizer->vocab_size()) +
                    " tokens, the weights " + std::to_string(impl.hp.vocab_size));
}

}  // namespace

GpuAvailability gpu_availability() {
    // The reason is empty exactly when a device is there: one question to the driver.
    std::string reason = cuda::cuda_unavailable_reason();
    return {reason.empty(), std::move(reason)};
}

ModelInfo Model::inspect(const std::string& path) {
    Impl impl(GgufFile::open(path));
    read_model(impl, [](double) {});
    impl.info = describe(path, impl.gguf, impl.hp);
    choose_chat_template(impl);
    return impl.info;
}

std::shared_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
    auto report = [&](double fraction) {
        if (options.on_progress) options.on_progress(fraction);
    };
    report(0.0);
    auto impl = std::make_unique<Impl>(GgufFile::open(path));
    report(0.3);
    read_model(*impl, report);
    report(0.7);
    BackendChoice choice = make_backend(options, impl->hp, impl->weights);
    impl->backend = std::move(choice.backend);
    impl->info = describe(path, impl->gguf, impl->hp);
    impl->info.device = impl->backend->device_name();
    impl->info.device_note = std::move(choice.note);
    choose_chat_template(*impl);
    impl->end_of_generation = end_of_generation_tokens(impl->gguf, *impl->tokenizer);
    report(1.0);
    return std::make_shared<Model>(Key{}, std::move(impl));
}

const ModelInfo& Model::info() const {
    return impl_->info;
}
const Tokenizer& Model::tokenizer() const {
    return *impl_->tokenizer;
}

std::vector<int32_t> Model::tokenize(std::string_view text, bool at_start) const {
    return impl_->tokenizer->encode(text, at_start);
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

const ChatTemplate& Model::chat_template() const {
    return *impl_->chat_template;
}

ChatTemplate Model::chat_template(ChatFormat format) const {
    return ChatTemplate(format, *impl_->tokenizer, impl_->chat_template->default_system());
}

bool Model::ends_generation(int32_t id) const {
    return std::binary_search(impl_->end_of_generation.begin(), impl_->end_of_generation.end(), id);
}

std::unique_ptr<Session> Model::new_session(const SessionOptions& options) const {
    SessionOptions resolved = options;
    validate(resolved.attention, impl_->hp.context_length);
    if (resolved.context_length < 0) throw Error("context length must not be negative");
    if (resolved.context_length == 0) resolved.context_length = impl_->hp.context_length;
    return std::make_unique<Session>(Session::Key{},
                                     std::make_unique<Session::Impl>(shared_from_this(), resolved));
}

}  // namespace selfextend
