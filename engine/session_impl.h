// A session's state above the backend: the token history, the latest logits, and the chunked
// forward loop that gives every long operation its progress reports and cancellation.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "selfextend/engine.h"

namespace selfextend {

struct Session::Impl {
    Impl(std::shared_ptr<const Model> model, SessionOptions options);

    // Feeds tokens through the backend in chunks. rows(first_token_index, logits, count) receives
    // logits when want_all_logits; otherwise only the last token's logits are kept. On any
    // exception the cache returns to its length before the call, except on a cancel with
    // keep_on_cancel: the chunks run whole stay (a prompt asked again goes on from there).
    using RowConsumer = std::function<void(int64_t first, const float* logits, int64_t count)>;
    void run(std::span<const int32_t> tokens, bool want_all_logits, const RowConsumer& rows,
             const ProgressCallback& progress, const CancelToken* cancel,
             bool keep_on_cancel = false);

    std::shared_ptr<const Model> model;  // keeps the weights alive while the session lives
    SessionOptions options;
    std::unique_ptr<detail::BackendSession> backend;
    std::vector<int32_t> history;
    // Where the answer begins: the history's length when the last prompt was appended. The
    // repetition penalty looks only at what generate() appended since (a Continue included).
    size_t answer_start = 0;
    std::vector<float> last_logits;
    int vocab = 0;
    // Session::collect_attention_mass: on, and the mass per cached position.
    bool collect_mass = false;
    std::vector<float> attention_mass;
    // Keeps attention_mass at one value per cached position while collecting (after the cache
    // grew or was cut).
    void fit_attention_mass();
};

}  // namespace selfextend
