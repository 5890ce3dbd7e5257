#include <algorithm>
#include <cmath>

#include "backend/host_memory.h"
#include "engine_internals.h"
#include "model/model_impl.h"
#include "progress/prefill_eta.h"
#include "progress/stopwatch.h"
#include "sampling/sampler.h"
#include "session_impl.h"

namespace selfextend {

std::string_view kv_type_name(KvType type) {
    switch (type) {
        case KvType::F32:
            return "f32";
        case KvType::F16:
            return "f16";
        case KvType::Q8_0:
            return "q8_0";
    }
    return "f16";
}

std::optional<KvType> kv_type_from_name(std::string_view name) {
    for (const KvType type : {KvType::F32, KvType::F16, KvType::Q8_0})
        if (name == kv_type_name(type)) return type;
    return std::nullopt;
}

Session::Impl::Impl(std::shared_ptr<const Model> owner, SessionOptions opts)
    : model(std::move(owner)), options(opts), vocab(model->info().vocab_size) {
    backend = detail::Internals::of(*model).backend->new_session(
        options.context_length, options.attention, options.kv_type);
}

void Session::Impl::run(std::span<const int32_t> tokens, bool want_all_logits,
                        const RowConsumer& rows, const ProgressCallback& progress,
                        const CancelToken* cancel, bool keep_on_cancel) {
    const int64_t n = int64_t(tokens.size());
    const int64_t start_length = backend->length();
    const size_t start_history = history.size();
    if (start_length + n > backend->capacity())
        throw Error("the prompt of " + std::to_string(n) +
                    " tokens does not fit: the session holds " +
                    std::to_string(backend->capacity()) + " tokens and " +
                    std::to_string(start_length) + " are used (raise the context length)");
    // Every id is checked before any work, so a bad one is an error, not a read past the logits.
    for (const int32_t id : tokens)
        if (id < 0 || id >= vocab)
            throw Error("token id " + std::to_string(id) + " is out of the vocabulary (0.." +
                        std::to_string(vocab - 1) + ")");
    const int64_t chunk = backend->max_chunk();
    std::vector<float> logits(size_t((want_all_logits ? chunk : 1) * vocab));
    std::vector<float> start_logits = last_logits;  // restored if the call fails
    const Stopwatch started;
    PrefillEta eta;  // attention makes late chunks slower: see progress/prefill_eta.h
    try {
        for (int64_t done = 0; done < n;) {
            if (cancel && cancel->cancelled()) throw Cancelled();
            const int64_t count = std::min(chunk, n - done);
            const Stopwatch chunk_started;
            const bool last = done + count == n;
            const int64_t logit_rows = want_all_logits ? count : (last ? 1 : 0);
            backend->forward(tokens.subspan(size_t(done), size_t(count)), logit_rows,
                             logits.data());
            history.insert(history.end(), tokens.begin() + done, tokens.begin() + done + count);
            if (want_all_logits && rows) rows(done, logits.data(), count);
            if (logit_rows > 0) {
                const float* last_row = logits.data() + (logit_rows - 1) * vocab;
                last_logits.assign(last_row, last_row + vocab);
            }
            eta.record(start_length + done, start_length + done + count, chunk_started.seconds());
            done += count;
            if (progress) {
                const double elapsed = std::max(1e-9, started.seconds());
                const auto [low, high] = eta.remaining_range(start_length + done, start_length + n);
                progress({done, n, double(done) / elapsed,
                          eta.remaining_seconds(start_length + done, start_length + n),
                          std::max(high, low)});
            }
        }
    } catch (const Cancelled&) {
        // A stop falls between chunks: the ones run are whole, and worth keeping when asked.
        if (!keep_on_cancel) {
            backend->truncate(start_length);
            history.resize(start_history);
        }
        last_logits = std::move(start_logits);  // (the next prefill runs at least one token)
        fit_attention_mass();
        throw;
    } catch (...) {
        backend->truncate(start_length);
        history.resize(start_history);
        last_logits = std::move(start_logits);
        fit_attention_mass();
        throw;
    }
    fit_attention_mass();
}

void Session::Impl::fit_attention_mass() {
    if (collect_mass) attention_mass.resize(size_t(backend->length()), 0.0f);
}

Session::Session(Key, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

const SessionOptions& Session::options() const {
    return impl_->options;
}
int64_t Session::position() const {
    return impl_->backend->length();
}
uint64_t Session::kv_cache_bytes() const {
    return impl_->backend->kv_cache_bytes();
}
std::span<const float> Session::last_logits() const {
    return impl_->last_logits;
}

std::span<const int32_t> Session::tokens() const {
    return impl_->history;
}

KvType Session::kv_type() const {
    return impl_->backend->kv_type();
}

int64_t Session::prefill_reusing(std::span<const int32_t> tokens, const ProgressCallback& progress,
                                 const CancelToken* cancel, int64_t room) {
    if (tokens.empty()) throw Error("empty prompt: nothing to prefill");
    const std::vector<int32_t>& history = impl_->history;
    const auto differ = std::mismatch(history.begin(), history.end(), tokens.begin(), tokens.end());
    const auto common = int64_t(differ.first - history.begin());
    const int64_t keep = std::min(common, int64_t(tokens.size()) - 1);
    impl_->backend->truncate(keep);
    impl_->history.resize(size_t(keep));
    impl_->fit_attention_mass();
    const auto needed = int64_t(tokens.size());
    const int64_t wanted = needed + std::max<int64_t>(room, 0);
    // Without the room the answer is only shorter; without room for the prompt nothing runs.
    if (wanted > impl_->backend->capacity() && !impl_->backend->reserve(wanted) &&
        needed > impl_->backend->capacity() && !impl_->backend->reserve(needed))
        throw Error("the prompt of " + std::to_string(needed) +
                    " tokens does not fit the session's " +
                    std::to_string(impl_->backend->capacity()) + " tokens");
    impl_->run(tokens.subspan(size_t(keep)), false, {}, progress, cancel, true);
    impl_->answer_start = impl_->history.size();
    return keep;
}

void Session::reset() {
    impl_->backend->truncate(0);
    impl_->history.clear();
    impl_->answer_start = 0;
    impl_->last_logits.clear();
    impl_->fit_attention_mass();
}

bool Session::collect_attention_mass(bool on) {
    // Asking the backend with no vector: whether it can, without collecting anything yet.
    impl_->collect_mass = on && impl_->backend->collect_attention_mass(nullptr);
    impl_->attention_mass.clear();
    impl_->fit_attention_mass();
    return impl_->collect_mass;
}

std::span<const float> Session::attention_mass() const {
    return impl_->attention_mass;
}

void Session::reset_attention_mass() {
    std::fill(impl_->attention_mass.begin(), impl_->attention_mass.end(), 0.0f);
}

void Session::prefill(std::span<const int32_t> tokens, const ProgressCallback& progress,
                      const CancelToken* cancel) {
    if (tokens.empty()) throw Error("empty prompt: nothing to prefill");
    impl_->run(tokens, false, {}, progress, cancel);
    impl_->answer_start = impl_->history.size();
}

std::vector<float> Session::logits_for(std::span<const int32_t> tokens,
                                       const ProgressCallback& progress,
                                       const CancelToken* cancel) {
    if (tokens.empty()) throw Error("no tokens given");
    require_host_memory(tokens.size() * size_t(impl_->vocab) * sizeof(float),
                        "the logits of " + std::to_string(tokens.size()) + " tokens");
    std::vector<float> all(tokens.size() * size_t(impl_->vocab));
    impl_->run(
        tokens, true,
        [&](int64_t first, const float* logits, int64_t count) {
            std::copy(logits, logits + count * impl_->vocab, all.begin() + first * impl_->vocab);
        },
        progress, cancel);
    impl_->answer_start = impl_->history.size();
    return all;
}

ScoreResult Session::score(std::span<const int32_t> tokens, const ProgressCallback& progress,
                           const CancelToken* cancel) {
    if (tokens.size() < 2) throw Error("scoring needs at least two tokens");
    ScoreResult result;
    const int vocab = impl_->vocab;
    impl_->run(
        tokens, true,
        [&](int64_t first, const float* logits, int64_t count) {
            for (int64_t r = 0; r < count; ++r) {
                const int64_t t = first + r;  // logits of token t predict token t + 1
                if (t + 1 >= int64_t(tokens.size())) break;
                const float* row = logits + r * vocab;
                const float top = *std::max_element(row, row + vocab);
                double sum = 0;
                for (int v = 0; v < vocab; ++v) sum += std::exp(double(row[v] - top));
                const double log_probability =
                    double(row[tokens[size_t(t + 1)]] - top) - std::log(sum);
                result.negative_log_likelihood -= log_probability;
                ++result.tokens_scored;
            }
        },
        progress, cancel);
    impl_->answer_start = impl_->history.size();
    return result;
}

GenerateStats Session::generate(int max_tokens, const SamplingParams& sampling,
                                const std::function<bool(const Token&)>& on_token,
                                const CancelToken* cancel) {
    if (impl_->last_logits.empty()) throw Error("generate: prefill a prompt first");
    GenerateStats stats;
    Sampler sampler(sampling);
    const Tokenizer& tokenizer = impl_->model->tokenizer();
    const bool at_text_start =
        std::all_of(impl_->history.begin(), impl_->history.end(),
                    [&](int32_t id) { return tokenizer.kind(id) == PieceKind::Control; });
    StreamDecoder decoder(tokenizer, at_text_start);
    // Generated tokens add their attention to the mass (the prompt's prefill does not); the
    // collection ends with the generation, however it ends.
    class MassCollection {
      public:
        MassCollection(detail::BackendSession& backend, std::vector<float>* mass)
            : backend_(backend) {
            backend_.collect_attention_mass(mass);
        }
        ~MassCollection() { backend_.collect_attention_mass(nullptr); }
        MassCollection(const MassCollection&) = delete;
        MassCollection& operator=(const MassCollection&) = delete;

      private:
        detail::BackendSession& backend_;
    };
    std::optional<MassCollection> collecting;
    if (impl_->collect_mass) collecting.emplace(*impl_->backend, &impl_->attention_mass);
    const Stopwatch started;
    for (int k = 0; k < max_tokens; ++k) {
        if (cancel && cancel->cancelled()) throw Cancelled();
        if (position() >= impl_->backend->capacity()) {  // nowhere to put another token
            stats.stopped_by_context_full = true;
            break;
        }
        // The penalty sees the answer's own tokens only: an answer that quotes the question's
        // or the document's words (a name, a password) is not pushed off them.
        const std::span<const int32_t> answer =
            std::span<const int32_t>(impl_->history)
                .subspan(std::min(impl_->answer_start, impl_->history.size()));
        const int32_t id = sampler.sample(impl_->last_logits, answer);
        if (impl_->model->ends_generation(id)) {
            stats.stopped_by_eos = true;
            const std::string rest = decoder.flush();
            if (!rest.empty() && on_token) on_token(Token{id, rest});
            break;
        }
        ++stats.tokens;
        const int32_t one[1] = {id};
        impl_->run(one, false, {}, {}, nullptr);
        Token token{id, decoder.push(id)};
        // The last token of this call carries whatever the decoder still holds.
        const bool last = k + 1 == max_tokens || position() >= impl_->backend->capacity();
        if (last) token.text += decoder.flush();
        if (on_token && !on_token(token)) {
            stats.stopped_by_callback = true;
            break;
        }
    }
    stats.seconds = started.seconds();
    return stats;
}

}  // namespace selfextend
