// "Tune on document": which G and W answer questions about the user's own document. Invented
// facts are planted at five depths of its text and asked about in the model's chat format, as
// the user's questions are, under two settings: Auto's and the measured map's runner-up. The
// runner-up is recommended only when it states at least two facts more (kProbeMargin): on the map
// (docs/long-context.md) settings a fact apart trade places from document to document, so one
// fact is noise. Each setting reads the document once (its questions differ only after it), so
// the whole probe costs about two readings of the document.
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
#include "selfextend/engine.h"
#include "selfextend/progress.h"

namespace selfextend {

class Model;

// An invented fact: a sentence that cannot come from the model's knowledge or the document, a
// question about it, and the words a right answer holds.
struct ProbeFact {
    std::string_view sentence;  // "The secret password of the records office is bluebird-58."
    std::string_view question;  // "What is the secret password of the records office?"
    std::string_view answer;    // "bluebird-58"
};

// The facts the probe plants, in the order it uses them (depth k gets fact k): ones the real
// models of the long-context map stated most often (docs/long-context.md).
std::span<const ProbeFact> probe_facts();

// `document` with facts[k] planted at depths[k] (a fraction of its bytes), each as a paragraph of
// its own at the paragraph, line or sentence end at or after that point, so that no sentence of
// the document is split.
std::string plant_facts(std::string_view document, std::span<const double> depths,
                        std::span<const ProbeFact> facts);

// Whether an answer states the fact: its answer's letters and digits, case folded, appear in
// the answer's ("Bluebird 58" states "bluebird-58").
bool states_fact(std::string_view answer, const ProbeFact& fact);

struct ProbeOptions {
    // One fact each; the questions reuse the document's KV, so more depths cost little.
    std::vector<double> depths{0.1, 0.3, 0.5, 0.7, 0.9};
    std::vector<AttentionMode> candidates;  // probe_candidates()
    // The facts planted, depth k getting fact k (empty: probe_facts()); at least one per depth.
    std::vector<ProbeFact> facts;
    // The format the user's questions are asked in (none: the model's own) and its system prompt
    // (empty: the format's default).
    std::optional<ChatTemplate> chat;
    std::string system;
    // > 0: the document is cut to its first this many tokens first (0: all of it).
    int64_t max_document_tokens = 0;
    int max_answer_tokens = 32;
    KvType kv_type = KvType::F16;
};

struct ProbeTrial {
    double depth = 0;
    ProbeFact fact;
    std::string answer;  // the model's greedy answer
    bool correct = false;
};

struct ProbeResult {
    AttentionMode mode;
    std::vector<ProbeTrial> trials;  // in the order of the options' depths
    int found() const;
};

// Called after each trial with its candidate (the table fills as the run goes).
using ProbeTrialCallback = std::function<void(const AttentionMode&, const ProbeTrial&)>;

// One result per candidate, in their order, on the same planted document and questions. Each
// candidate reads the document once and answers every question from its KV. progress counts
// the tokens read by every candidate (with rate and ETA); throws Cancelled, and Error when a
// prompt cannot be written.
std::vector<ProbeResult> run_probe(const std::shared_ptr<const Model>& model,
                                   std::string_view document, const ProbeOptions& options,
                                   const ProgressCallback& progress = {},
                                   const ProbeTrialCallback& on_trial = {},
                                   const CancelToken* cancel = nullptr);

// Tokens a planted fact adds to the document, at most (its sentence and paragraph break).
inline constexpr int64_t kProbeFactTokens = 24;
// Tokens the probe adds to the document: up to eight planted facts, a question, its answer and a
// chat format's markup with its default system prompt (what a candidate's capacity must hold
// beyond the document's own tokens, where the front end does not count them itself).
inline constexpr int64_t kProbeFramingTokens = 256;

// The two settings the probe compares, so that it takes about two readings of the document:
// past the window, Auto's choice (choose_attention) and the map's runner-up, twice Auto's W at its
// smallest fitting G (docs/long-context.md); inside it, vanilla and G = 2 at Auto's W.
std::vector<AttentionMode> probe_candidates(const AutoProfile& profile, int64_t needed_tokens);

// Facts more than the preferred setting's that another must state to be recommended instead.
inline constexpr int kProbeMargin = 2;

// The index of the recommended result: the preferred setting's (Auto's; where it was not run, the
// closest candidate's, measured as |log2 G ratio| + |log2 W ratio|), unless another stated at
// least kProbeMargin facts more; then the one that stated the most (ties: the closest).
size_t recommend_probe(const std::vector<ProbeResult>& results, const AttentionMode& preferred);

}  // namespace selfextend
