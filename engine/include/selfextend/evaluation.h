// The two measurements used to tune Self-Extend: the pass-key retrieval test and perplexity
// over consecutive windows of a text. Both run on a loaded Model; the CLI and the GUI share them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "selfextend/attention_mode.h"
#include "selfextend/cancel.h"
#include "selfextend/engine.h"
#include "selfextend/progress.h"

namespace selfextend {

class Model;
class Tokenizer;

// ---- Pass key ---------------------------------------------------------------------------

struct PasskeyPrompt {
    std::vector<int32_t> tokens;  // BOS included
    std::string key;              // the digits to retrieve, e.g. "38117"
    double depth = 0;             // where the needle sits, as a fraction of the filler
    int64_t needle_token = 0;     // index of the needle's first token
};

// The pass-key prompt (docs/method.md) with whole filler sentences, as long as fits in
// target_tokens, the needle at the given depth. Throws Error when even the prompt without filler is
// longer.
PasskeyPrompt build_passkey_prompt(const Tokenizer& tokenizer, int64_t target_tokens, double depth,
                                   const std::string& key);

// A document of the same filler with any needle sentence at the given depth, about target_tokens
// long: the project's own sample documents are made with it.
std::string build_filler_document(const Tokenizer& tokenizer, int64_t target_tokens, double depth,
                                  const std::string& needle);

// True when the generated continuation starts with the key as a whole number (leading spaces
// ignored; "381170" or "38117.5" is not "38117").
bool passkey_answer_correct(const std::string& continuation, const std::string& key);

struct PasskeyTrial {
    int64_t length = 0;  // actual prompt tokens
    double depth = 0;
    std::string key;
    std::string answer;  // the model's greedy continuation
    bool correct = false;
};

struct PasskeyOptions {
    std::vector<int64_t> lengths{1024, 2048};
    std::vector<double> depths{0.1, 0.3, 0.5, 0.7, 0.9};
    int trials_per_depth = 1;  // keys tried at each (length, depth)
    std::vector<AttentionMode> modes{AttentionMode::vanilla(), AttentionMode::self_extend(4, 256)};
    uint64_t seed = 1234;
    KvType kv_type = KvType::F16;  // how each trial's session stores its KV cache
    // Called after each trial with its mode (a long run shows its results as they come).
    std::function<void(const AttentionMode&, const PasskeyTrial&)> on_trial;
};

struct PasskeyResult {
    int64_t length = 0;  // the requested length
    AttentionMode mode;
    int trials = 0;
    int correct = 0;
    double accuracy() const { return trials ? double(correct) / trials : 0.0; }
    std::vector<PasskeyTrial> details;
};

// One result per (length, mode), in that order. progress counts trials; throws Cancelled.
std::vector<PasskeyResult> run_passkey(const Model& model, const PasskeyOptions& options,
                                       const ProgressCallback& progress = {},
                                       const CancelToken* cancel = nullptr);

// ---- Perplexity -------------------------------------------------------------------------

struct PerplexityResult {
    int64_t length = 0;  // window length (BOS + length - 1 text tokens, or length without BOS)
    AttentionMode mode;
    int64_t windows = 0;
    int64_t tokens_scored = 0;
    double perplexity = 0;
};

// Windows of BOS + the next length-1 text tokens, consecutive and not overlapping, a partial last
// window dropped, at most max_windows (0: all). Scores the length-1 text tokens of each window.
// Throws Error when the text holds no whole window.
PerplexityResult run_perplexity(const Model& model, const std::vector<int32_t>& text_tokens,
                                int64_t length, int64_t max_windows, const AttentionMode& mode,
                                const ProgressCallback& progress = {},
                                const CancelToken* cancel = nullptr, KvType kv_type = KvType::F16);

}  // namespace selfextend
