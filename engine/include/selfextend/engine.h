// The engine's entry points: load a GGUF model, open sessions on it, prefill, generate, score.
//
//   auto model = selfextend::Model::load("model.gguf");
//   auto session = model->new_session({.context_length = 4096,
//                                      .attention = AttentionMode::self_extend(8, 256)});
//   session->prefill(model->tokenize(text, true));
//   session->generate(64, {}, [](const Token& t) { std::cout << t.text; return true; });
//
// A Model is immutable once loaded and may be shared by sessions; one Session is used by one
// thread at a time. Failures throw selfextend::Error (see error.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "selfextend/attention_mode.h"
#include "selfextend/cancel.h"
#include "selfextend/error.h"
#include "selfextend/model_info.h"
#include "selfextend/progress.h"
#include "selfextend/sampling.h"

namespace selfextend {

enum class Device { Auto, Cpu, Cuda };

struct LoadOptions {
    Device device = Device::Auto;
    int threads = 0;  // CPU threads; 0: one per core
    std::function<void(double fraction)> on_progress;
};

struct SessionOptions {
    int64_t context_length = 0;  // tokens the KV cache holds; 0: the training window
    AttentionMode attention;
};

// One generated token, as the streaming callback sees it.
struct Token {
    int32_t id = 0;
    std::string text;  // UTF-8 text completed by this token (may be empty while bytes are held)
};

struct GenerateStats {
    int64_t tokens = 0;
    double seconds = 0;
    bool stopped_by_eos = false;
    bool stopped_by_callback = false;
    bool stopped_by_context_full = false;  // the session's context length was reached
    double tokens_per_second() const { return seconds > 0 ? double(tokens) / seconds : 0; }
};

struct ScoreResult {
    double negative_log_likelihood = 0;  // summed over the scored tokens
    int64_t tokens_scored = 0;
    double perplexity() const;
};

class Tokenizer;
class Session;
namespace detail {
class Backend;
}

class Model : public std::enable_shared_from_this<Model> {
  public:
    static std::shared_ptr<Model> load(const std::string& path, const LoadOptions& options = {});
    ~Model();

    const ModelInfo& info() const;
    const Tokenizer& tokenizer() const;

    std::vector<int32_t> tokenize(std::string_view text, bool add_bos) const;
    std::string detokenize(std::span<const int32_t> tokens) const;
    int32_t bos_id() const;
    int32_t eos_id() const;

    std::unique_ptr<Session> new_session(const SessionOptions& options);

    struct Impl;  // defined inside the engine only
    explicit Model(std::unique_ptr<Impl> impl);
    const Impl& impl() const { return *impl_; }

  private:
    std::unique_ptr<Impl> impl_;
};

class Session {
  public:
    ~Session();

    const SessionOptions& options() const;
    int64_t position() const;  // tokens in the cache
    uint64_t kv_cache_bytes() const;

    // Appends tokens to the cache. On cancel (or any error) the session returns to the state
    // it had before the call and Cancelled is thrown.
    void prefill(std::span<const int32_t> tokens, const ProgressCallback& progress = {},
                 const CancelToken* cancel = nullptr);

    // Logits after the last token appended (vocab_size floats).
    std::span<const float> last_logits() const;

    // Samples and appends up to max_tokens tokens; on_token returns false to stop early.
    GenerateStats generate(int max_tokens, const SamplingParams& sampling,
                           const std::function<bool(const Token&)>& on_token,
                           const CancelToken* cancel = nullptr);

    // Appends tokens and returns the logits of every one of them, row-major [n x vocab].
    std::vector<float> logits_for(std::span<const int32_t> tokens,
                                  const ProgressCallback& progress = {},
                                  const CancelToken* cancel = nullptr);

    // Appends tokens and scores tokens[1..n-1], each given everything before it in the cache.
    ScoreResult score(std::span<const int32_t> tokens, const ProgressCallback& progress = {},
                      const CancelToken* cancel = nullptr);

    void reset();  // empties the cache

    struct Impl;
    explicit Session(std::unique_ptr<Impl> impl);

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace selfextend
