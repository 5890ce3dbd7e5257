// Perplexity over consecutive windows: each window is BOS + the next L-1 text tokens, and each of
// those L-1 tokens is scored from everything before it in its window.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "selfextend/engine.h"
#include "selfextend/evaluation.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

PerplexityResult run_perplexity(const Model& model, const std::vector<int32_t>& text_tokens,
                                int64_t length, int64_t max_windows, const AttentionMode& mode,
                                const ProgressCallback& progress, const CancelToken* cancel,
                                KvType kv_type) {
    if (length < 2) throw Error("perplexity: window length must be at least 2");
    // Each window is BOS + length - 1 text tokens when the vocabulary starts sequences with BOS,
    // else length text tokens (SmolLM2 has none).
    const bool bos = model.tokenizer().adds_bos();
    const int64_t text_per_window = bos ? length - 1 : length;
    const int64_t available = int64_t(text_tokens.size()) / text_per_window;
    if (available == 0)
        throw Error("perplexity: the text has " + std::to_string(text_tokens.size()) +
                    " tokens, fewer than one window of " + std::to_string(length));
    const int64_t windows = max_windows > 0 ? std::min(available, max_windows) : available;

    auto session = model.new_session({length, mode, kv_type});
    PerplexityResult result{length, mode, windows, 0, 0};
    double nll = 0;
    const auto started = std::chrono::steady_clock::now();
    std::vector<int32_t> window(static_cast<size_t>(length));
    for (int64_t w = 0; w < windows; ++w) {
        if (bos) window[0] = model.bos_id();
        std::copy_n(text_tokens.begin() + w * text_per_window, text_per_window,
                    window.begin() + (bos ? 1 : 0));
        session->reset();
        const int64_t base = w * length;
        const ScoreResult score = session->score(
            window,
            [&](const Progress& p) {
                if (!progress) return;
                const double elapsed =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count();
                const int64_t done = base + p.done;
                const double rate = double(done) / std::max(1e-9, elapsed);
                progress({done, windows * length, rate, double(windows * length - done) / rate});
            },
            cancel);
        nll += score.negative_log_likelihood;
        result.tokens_scored += score.tokens_scored;
    }
    result.perplexity = std::exp(nll / double(result.tokens_scored));
    return result;
}

}  // namespace selfextend
