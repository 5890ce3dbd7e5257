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
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "selfextend/attention_mode.h"
#include "selfextend/cancel.h"
#include "selfextend/chat.h"
#include "selfextend/error.h"
#include "selfextend/model_info.h"
#include "selfextend/progress.h"
#include "selfextend/sampling.h"

namespace selfextend {

enum class Device { Auto, Cpu, Cuda };

// Whether models can run on an NVIDIA GPU here (this build has the CUDA backend and the machine a
// usable device), and if not, why, in plain words a user can act on ("No NVIDIA GPU found"), not
// the CUDA runtime's. Cheap: asks the driver once per call, loads nothing.
struct GpuAvailability {
    bool available = false;
    std::string reason;  // empty when available
};
GpuAvailability gpu_availability();

// The builds of the CPU kernels this program holds, best first: one per x86-64 level (SSE4.2;
// AVX2 with FMA and F16C; AVX-512 with VNNI; AVX-512 with FP16 and BF16), and the one built in
// with the build's own flags (the building machine's with SE_NATIVE). The CPU backend runs the
// one in use: the built-in one of a native build, else the best this CPU runs; the environment
// variable SE_CPU_KERNELS=NAME chooses another (an error when this CPU cannot run it).
struct CpuKernelBuild {
    std::string name;          // "avx2": what SE_CPU_KERNELS takes
    std::string instructions;  // "x86-64-v3: AVX2, FMA, F16C"
    bool runs_here = false;    // this CPU has every instruction it needs
    bool in_use = false;
};
std::vector<CpuKernelBuild> cpu_kernel_builds();

struct LoadOptions {
    Device device = Device::Auto;
    int threads = 0;  // CPU threads; 0: one per core
    std::function<void(double fraction)> on_progress;
};

// How a session stores its KV cache. F16 halves F32's memory with logits within ~1e-3 of it;
// Q8_0 takes about a quarter. (The CUDA backend keeps its cache in F16 whatever is asked.)
enum class KvType { F32, F16, Q8_0 };
std::string_view kv_type_name(KvType type);  // "f32", "f16", "q8_0"
std::optional<KvType> kv_type_from_name(std::string_view name);

struct SessionOptions {
    int64_t context_length = 0;  // tokens the KV cache holds; 0: the training window
    AttentionMode attention;
    KvType kv_type = KvType::F16;
};

// One generated token, as the streaming callback sees it.
struct Token {
    int32_t id = 0;
    std::string text;  // UTF-8 text completed by this token (may be empty while bytes are held)
};

struct GenerateStats {
    int64_t tokens = 0;
    double seconds = 0;
    bool stopped_by_eos = false;  // an end-of-generation token: EOS or the end of a turn
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

namespace detail {
struct Internals;  // engine_internals.h
}  // namespace detail

class Model : public std::enable_shared_from_this<Model> {
  public:
    static std::shared_ptr<Model> load(const std::string& path, const LoadOptions& options = {});
    // What the file is, read and checked as load() reads it (architecture, tensors and their
    // types, vocabulary) without making a backend: throws the Error load() would throw, so a
    // model picker can say before loading whether this build runs the file, and why not. The
    // device fields stay empty.
    static ModelInfo inspect(const std::string& path);
    ~Model();

    const ModelInfo& info() const;
    const Tokenizer& tokenizer() const;

    // at_start: see Tokenizer::encode (BOS when the vocabulary asks for one).
    std::vector<int32_t> tokenize(std::string_view text, bool at_start) const;
    std::string detokenize(std::span<const int32_t> tokens) const;
    int32_t bos_id() const;
    int32_t eos_id() const;

    // The chat format recognised from the file's tokenizer.chat_template (plain when none).
    const ChatTemplate& chat_template() const;
    // The same tokenizer with another format (a user's override); throws Error when the
    // vocabulary lacks its special tokens.
    ChatTemplate chat_template(ChatFormat format) const;
    // True for the tokens that end a generation (EOS, end-of-turn tokens).
    bool ends_generation(int32_t id) const;

    std::unique_ptr<Session> new_session(const SessionOptions& options) const;
    // KV-cache bytes one token costs in a session with this cache type and attention mode on
    // this model's device. Self-Extend costs more on the CPU: it also keeps each key rotated at
    // its grouped position, in the layers it applies to.
    uint64_t kv_bytes_per_token(KvType kv_type = KvType::F16,
                                const AttentionMode& mode = AttentionMode::vanilla()) const;

  private:
    friend struct detail::Internals;  // the engine's own access to the parts below
    struct Impl;                      // defined inside the engine only
    // Only load() makes a model (always owned by a shared_ptr): it alone can name this key.
    struct Key {
        explicit Key() = default;
    };

  public:
    Model(Key, std::unique_ptr<Impl> impl);

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

    // Makes the cache hold exactly `tokens`, keeping the longest prefix it already holds and
    // running only the rest: a follow-up question about the same document prefills just the
    // question. The cache grows when the tokens need more room (a new session is needed when the
    // backend cannot grow it: Error). At least one token is always run, so last_logits() belongs
    // to the last of `tokens`. Returns how many tokens were reused. On error the cache keeps the
    // reused prefix; on cancel, also the chunks of the rest that ran whole, so the same prompt
    // asked again goes on where it stopped (last_logits() is then not the last token's). `room`:
    // tokens the answer will need after them; the cache grows for those too where it can (a
    // follow-up outgrows the session its first question made).
    int64_t prefill_reusing(std::span<const int32_t> tokens, const ProgressCallback& progress = {},
                            const CancelToken* cancel = nullptr, int64_t room = 0);

    // The tokens in the cache, in order.
    std::span<const int32_t> tokens() const;
    // The cache type really used (the CUDA backend keeps F16 whatever was asked).
    KvType kv_type() const;

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

    // Where the answers came from. While on, every token generate() appends adds its attention
    // over the cache to attention_mass(): for each position, the probability the token's query
    // gave it (from the scores the attention really used: grouped positions under
    // Self-Extend), averaged over the heads and over the layers that see every key (all of a
    // Llama model's, Gemma 3's global ones). So each generated token adds 1 in all; prompts add
    // nothing. Off by default, and free when off. Returns whether the session collects: false
    // for `on` false, and where the device cannot (the CUDA backend).
    bool collect_attention_mass(bool on);
    // One value per cached position while collecting (position() values), empty otherwise.
    std::span<const float> attention_mass() const;
    void reset_attention_mass();  // every position back to 0

  private:
    friend struct detail::Internals;  // the engine's own access to the parts below
    friend class Model;               // makes sessions
    struct Impl;                      // defined inside the engine only
    struct Key {
        explicit Key() = default;
    };

  public:
    // Sessions come from Model::new_session, which alone can name the key.
    Session(Key, std::unique_ptr<Impl> impl);

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace selfextend
