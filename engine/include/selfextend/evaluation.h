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

// ---- Probe: the pass key planted in the user's own document ------------------------------

// The pass-key prompt with the user's document as its filler: the introduction, the document
// with the needle sentence planted at `depth` (at a sentence or line end near that fraction of
// its text), then the question. Tells how G and W retrieve from this very text, at its length.
PasskeyPrompt build_probe_prompt(const Tokenizer& tokenizer, std::string_view document,
                                 double depth, const std::string& key);

struct ProbeOptions {
    std::vector<double> depths{0.2, 0.5, 0.8};
    std::vector<AttentionMode> candidates;  // vanilla among them to compare with it
    // > 0: the document is cut to its first this many tokens first (0: all of it).
    int64_t max_document_tokens = 0;
    uint64_t seed = 1234;
    KvType kv_type = KvType::F16;
    // Called after each trial with its candidate (the table fills as the run goes).
    std::function<void(const AttentionMode&, const PasskeyTrial&)> on_trial;
};

struct ProbeResult {
    AttentionMode mode;
    std::vector<PasskeyTrial> trials;  // in the order of the options' depths
    int found() const;
};

// One result per candidate, in their order; the same keys and prompts for every candidate.
// progress counts prefilled tokens of every candidate (with rate and ETA); throws Cancelled.
std::vector<ProbeResult> run_probe(const Model& model, std::string_view document,
                                   const ProbeOptions& options,
                                   const ProgressCallback& progress = {},
                                   const CancelToken* cancel = nullptr);

// Tokens the probe adds to the document: the introduction, the needle and the question, with
// room for the answer (what a candidate's capacity must hold beyond the document's tokens).
inline constexpr int64_t kProbeFramingTokens = 100;

// Candidates around Auto's choice for needed_tokens (choose_attention): vanilla, Auto's G and W,
// twice its G, half its W, and a 1.5x wider W at its smallest G; no duplicates, each validated.
std::vector<AttentionMode> probe_candidates(int64_t training_window, int64_t needed_tokens);

// The index of the result that found the most keys; ties go to the candidate closest to
// `preferred` (Auto's), measured as |log2 G ratio| + |log2 W ratio|.
size_t recommend_probe(const std::vector<ProbeResult>& results, const AttentionMode& preferred);

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
