// The pass-key test on the user's own document: the needle planted at a few depths of the text
// they will ask about, answered under a few candidate G and W. It reuses the pass-key prompt's
// introduction, needle, question and answering loop (retrieval.h); only the filler differs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "retrieval.h"
#include "selfextend/engine.h"
#include "selfextend/evaluation.h"
#include "selfextend/tokenizer.h"
#include "text/plain_text.h"

namespace selfextend {

namespace {

// Where to cut the document for a needle at `depth`: after the first sentence or line end at or
// past that fraction of its bytes, so the needle does not split a word or sentence; at the next
// space when no sentence ends nearby. Cuts always fall on ASCII whitespace, never inside UTF-8.
size_t cut_at(std::string_view document, double depth) {
    const auto target = size_t(std::llround(depth * double(document.size())));
    if (target == 0) return 0;
    if (target >= document.size()) return document.size();
    constexpr size_t kSentenceReach = 400;  // bytes searched for a sentence end
    const size_t reach = std::min(document.size(), target + kSentenceReach);
    for (size_t k = target; k < reach; ++k) {
        if (document[k] == '\n' || text::ends_sentence(document, k)) return k + 1;
    }
    for (size_t k = target; k < document.size(); ++k)
        if (text::is_blank(document[k])) return k;
    return document.size();
}

// Distance between two settings for the tie-break: ratios, since G and W act multiplicatively
// on the capacity. W counts only between two Self-Extend settings (vanilla has none).
double setting_distance(const AttentionMode& a, const AttentionMode& b) {
    double distance = std::abs(std::log2(double(a.group) / double(b.group)));
    if (!a.is_vanilla() && !b.is_vanilla() && a.window > 0 && b.window > 0)
        distance += std::abs(std::log2(double(a.window) / double(b.window)));
    return distance;
}

}  // namespace

int ProbeResult::found() const {
    return int(std::count_if(trials.begin(), trials.end(),
                             [](const PasskeyTrial& t) { return t.correct; }));
}

PasskeyPrompt build_probe_prompt(const Tokenizer& tokenizer, std::string_view document,
                                 double depth, const std::string& key) {
    depth = std::clamp(depth, 0.0, 1.0);
    const size_t cut = cut_at(document, depth);
    const std::string_view before = text::trimmed(document.substr(0, cut));
    const std::string_view after = text::trimmed(document.substr(cut));
    std::string text(retrieval::kIntroduction);
    if (!before.empty()) text.append(" ").append(before);
    const size_t needle_byte = text.size();
    text.append(" ").append(retrieval::needle(key));
    if (!after.empty()) text.append(" ").append(after);
    text.append(" ").append(retrieval::kQuestion);
    PasskeyPrompt prompt;
    prompt.tokens = tokenizer.encode(text, true);
    prompt.key = key;
    prompt.depth = depth;
    prompt.needle_token = int64_t(tokenizer.encode(text.substr(0, needle_byte), true).size());
    return prompt;
}

std::vector<ProbeResult> run_probe(const Model& model, std::string_view document,
                                   const ProbeOptions& options, const ProgressCallback& progress,
                                   const CancelToken* cancel) {
    if (options.depths.empty() || options.candidates.empty())
        throw Error("probe: give at least one depth and one candidate");
    if (text::trimmed(document).empty()) throw Error("probe: the document is empty");
    for (const AttentionMode& mode : options.candidates)
        validate(mode, model.info().training_window);

    std::string text(document);
    if (options.max_document_tokens > 0) {
        const std::vector<int32_t> tokens = model.tokenize(text, false);
        if (int64_t(tokens.size()) > options.max_document_tokens)
            text = model.detokenize(std::span(tokens).first(size_t(options.max_document_tokens)));
    }
    // One key per depth, the same for every candidate: candidates compete on identical prompts.
    std::mt19937_64 rng(options.seed);
    std::uniform_int_distribution<int> digits(10000, 99999);
    std::vector<PasskeyPrompt> prompts;
    for (const double depth : options.depths)
        prompts.push_back(
            build_probe_prompt(model.tokenizer(), text, depth, std::to_string(digits(rng))));

    const retrieval::Plan plan = retrieval::plan(prompts);
    const int64_t total = plan.computed_total * int64_t(options.candidates.size());
    int64_t finished = 0;  // tokens of the prefills that have ended
    const auto start = std::chrono::steady_clock::now();
    const auto report = [&](int64_t done) {
        if (!progress) return;
        done = std::min(done, total);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double rate = seconds > 0 ? double(done) / seconds : 0;
        progress({done, total, rate, rate > 0 ? double(total - done) / rate : 0});
    };
    std::vector<ProbeResult> results;
    for (const AttentionMode& mode : options.candidates) {
        size_t answered = 0;
        ProbeResult result;
        result.mode = mode;
        result.trials = retrieval::answer(
            model, prompts, plan, mode, options.kv_type,
            [&](size_t, const PasskeyTrial& trial) {
                finished += plan.computed[answered++];
                report(finished);
                if (options.on_trial) options.on_trial(mode, trial);
            },
            [&](const Progress& p) { report(finished + p.done); }, cancel);
        results.push_back(std::move(result));
    }
    return results;
}

std::vector<AttentionMode> probe_candidates(int64_t training_window, int64_t needed_tokens) {
    const AutoChoice automatic = choose_attention(training_window, needed_tokens);
    const int g = std::max(2, automatic.group);  // Auto's G = 1 (it fits L): try mild grouping
    const int w = automatic.window;
    std::vector<AttentionMode> candidates{AttentionMode::vanilla()};
    const auto add = [&](int group, int window) {
        const AttentionMode mode = AttentionMode::self_extend(group, window);
        if (group < 2 || group > kLargestAutoGroup || window < 1 || window >= training_window)
            return;
        if (std::find(candidates.begin(), candidates.end(), mode) == candidates.end())
            candidates.push_back(mode);
    };
    add(g, w);
    add(2 * g, w);
    add(g, w / 2);
    const int wider = std::min<int>(int(training_window) - 16, w + w / 2);
    const AutoChoice widerChoice = choose_group(training_window, wider, needed_tokens);
    if (widerChoice.fits) add(std::max(2, widerChoice.group), wider);
    return candidates;
}

size_t recommend_probe(const std::vector<ProbeResult>& results, const AttentionMode& preferred) {
    if (results.empty()) throw Error("probe: no results to recommend from");
    size_t best = 0;
    for (size_t k = 1; k < results.size(); ++k) {
        const int found = results[k].found();
        const int bestFound = results[best].found();
        if (found > bestFound ||
            (found == bestFound && setting_distance(results[k].mode, preferred) <
                                       setting_distance(results[best].mode, preferred)))
            best = k;
    }
    return best;
}

}  // namespace selfextend
