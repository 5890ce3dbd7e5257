// "Tune on document" (probe.h): invented facts planted in the user's own text and asked about in
// the chat format, one reading of the document per candidate setting.
#include "selfextend/probe.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "selfextend/document_conversation.h"
#include "selfextend/error.h"
#include "text/plain_text.h"

namespace selfextend {

namespace {

// Invented names and codes (so an answer cannot come from the model's knowledge or the book),
// those SmolLM2 stated most often past its window in the map's fact task first. (The bundled
// 8M demo model retrieves one planted sentence, not several: it states none of these.)
constexpr ProbeFact kFacts[] = {
    {"The secret password of the records office is bluebird-58.",
     "What is the secret password of the records office?", "bluebird-58"},
    {"The combination of the old iron safe is 7391.",
     "What is the combination of the old iron safe?", "7391"},
    {"The password for the garden gate is moonstone-21.",
     "What is the password for the garden gate?", "moonstone-21"},
    {"The inn by the river was called the Drowsy Otter.", "What was the inn by the river called?",
     "Drowsy Otter"},
    {"The doctor's carriage horse was named Bramblewick.",
     "What was the doctor's carriage horse named?", "Bramblewick"},
    {"The secret society met every Thursday in the Crimson Parlour.",
     "Where did the secret society meet every Thursday?", "Crimson Parlour"},
    {"The code word for the midnight meeting was tangerine.",
     "What was the code word for the midnight meeting?", "tangerine"},
    {"The mayor's prize rose was called Scarlet Duchess.",
     "What was the mayor's prize rose called?", "Scarlet Duchess"},
};

// Where to plant a fact at `depth`: after the first line or sentence end at or past that
// fraction of the document's bytes, so a fact never splits a sentence; at the next space when
// no sentence ends nearby. Always on ASCII whitespace, never inside a UTF-8 character.
size_t cut_at(std::string_view document, double depth) {
    const auto target = size_t(std::llround(std::clamp(depth, 0.0, 1.0) * double(document.size())));
    if (target == 0) return 0;
    if (target >= document.size()) return document.size();
    constexpr size_t kSentenceReach = 400;  // bytes searched for a sentence end
    const size_t reach = std::min(document.size(), target + kSentenceReach);
    for (size_t k = target; k < reach; ++k)
        if (document[k] == '\n' || text::ends_sentence(document, k)) return k + 1;
    for (size_t k = target; k < document.size(); ++k)
        if (text::is_blank(document[k])) return k;
    return document.size();
}

// Letters and digits, ASCII case folded: how an answer and a fact are compared.
std::string folded(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c >= 'A' && c <= 'Z')
            out += char(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out += c;
    }
    return out;
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

std::span<const ProbeFact> probe_facts() {
    return kFacts;
}

std::string plant_facts(std::string_view document, std::span<const double> depths,
                        std::span<const ProbeFact> facts) {
    if (facts.size() < depths.size()) throw Error("probe: one fact per depth");
    std::vector<size_t> order(depths.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::vector<size_t> cuts(depths.size());
    for (size_t k = 0; k < depths.size(); ++k) cuts[k] = cut_at(document, depths[k]);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return cuts[a] < cuts[b]; });
    std::string out;
    size_t from = 0;
    for (const size_t k : order) {
        const std::string_view before = text::trimmed(document.substr(from, cuts[k] - from));
        if (!before.empty()) out.append(before).append("\n\n");
        out.append(facts[k].sentence).append("\n\n");
        from = cuts[k];
    }
    out.append(text::trimmed(document.substr(from)));
    return out;
}

bool states_fact(std::string_view answer, const ProbeFact& fact) {
    const std::string wanted = folded(fact.answer);
    return !wanted.empty() && folded(answer).find(wanted) != std::string::npos;
}

int ProbeResult::found() const {
    return int(
        std::count_if(trials.begin(), trials.end(), [](const ProbeTrial& t) { return t.correct; }));
}

std::vector<ProbeResult> run_probe(const std::shared_ptr<const Model>& model,
                                   std::string_view document, const ProbeOptions& options,
                                   const ProgressCallback& progress,
                                   const ProbeTrialCallback& on_trial, const CancelToken* cancel) {
    if (options.depths.empty() || options.candidates.empty())
        throw Error("probe: give at least one depth and one candidate");
    const std::span<const ProbeFact> all =
        options.facts.empty() ? probe_facts() : std::span<const ProbeFact>(options.facts);
    if (options.depths.size() > all.size())
        throw Error("probe: at most " + std::to_string(all.size()) +
                    " depths (one invented fact each)");
    if (text::trimmed(document).empty()) throw Error("probe: the document is empty");
    for (const double depth : options.depths)
        if (!(depth >= 0.0 && depth <= 1.0)) throw Error("probe: depths are fractions from 0 to 1");
    for (const AttentionMode& mode : options.candidates)
        validate(mode, model->info().training_window);

    std::string text(document);
    if (options.max_document_tokens > 0) {
        const std::vector<int32_t> tokens = model->tokenize(text, false);
        if (int64_t(tokens.size()) > options.max_document_tokens)
            text = model->detokenize(std::span(tokens).first(size_t(options.max_document_tokens)));
    }
    const std::span<const ProbeFact> facts = all.first(options.depths.size());
    const auto framed = std::make_shared<const FramedDocument>(
        options.chat ? *options.chat : model->chat_template(), options.system,
        plant_facts(text, options.depths, facts));

    // What every candidate reads: the first question's whole prompt, then each next question's
    // prompt from where it leaves the one before (the document's KV is kept).
    int64_t per_candidate = 0;
    std::vector<int32_t> previous;
    for (const ProbeFact& fact : facts) {
        std::vector<int32_t> tokens = framed->prompt({}, fact.question).tokens;
        const auto shared = size_t(
            std::mismatch(previous.begin(), previous.end(), tokens.begin(), tokens.end()).first -
            previous.begin());
        per_candidate += int64_t(tokens.size() - std::min(shared, tokens.size() - 1));
        previous = std::move(tokens);
    }
    const int64_t total = per_candidate * int64_t(options.candidates.size());
    int64_t finished = 0;  // tokens of the prompts read to the end
    const auto start = std::chrono::steady_clock::now();
    const auto report = [&](int64_t done) {
        if (!progress) return;
        done = std::min(done, total);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double rate = seconds > 0 ? double(done) / seconds : 0;
        progress({done, total, rate, rate > 0 ? double(total - done) / rate : 0});
    };

    AnswerOptions answer_options;
    answer_options.max_new_tokens = options.max_answer_tokens;
    answer_options.collect_sources = false;  // greedy, no disk cache: a planted copy is not kept
    std::vector<ProbeResult> results;
    for (const AttentionMode& mode : options.candidates) {
        DocumentConversation conversation(model, framed, mode, options.kv_type);
        ProbeResult result{mode, {}};
        for (size_t k = 0; k < facts.size(); ++k) {
            conversation.clear_turns();  // each question on its own, as a first question
            const ConversationPrompt prompt = conversation.prompt(facts[k].question, {});
            AnswerCallbacks callbacks;
            callbacks.on_prefill = [&](int64_t, int64_t, const Progress& run) {
                report(finished + run.done);
            };
            const AnswerOutcome outcome =
                conversation.answer(prompt, facts[k].question, answer_options, callbacks, cancel);
            if (outcome.cancelled) throw Cancelled();
            if (!outcome.error.empty()) throw Error("probe: " + outcome.error);
            finished += outcome.prefilled_tokens - outcome.reused_tokens;
            report(finished);
            ProbeTrial trial{options.depths[k], facts[k], outcome.answer,
                             states_fact(outcome.answer, facts[k])};
            if (on_trial) on_trial(mode, trial);
            result.trials.push_back(std::move(trial));
        }
        results.push_back(std::move(result));
    }
    return results;
}

std::vector<AttentionMode> probe_candidates(const AutoProfile& profile, int64_t needed_tokens) {
    const int64_t training_window = profile.training_window;
    const AutoChoice automatic = choose_attention(profile, needed_tokens);
    if (needed_tokens <= training_window) {
        // Inside the window vanilla is exact; the mildest grouping shows what Self-Extend costs.
        std::vector<AttentionMode> candidates{AttentionMode::vanilla()};
        if (automatic.window >= 1)
            candidates.push_back(AttentionMode::self_extend(2, automatic.window));
        return candidates;
    }
    std::vector<AttentionMode> candidates{
        AttentionMode::self_extend(automatic.group, automatic.window)};
    // The runner-up of the measured map: twice Auto's window at its own smallest fitting G (more
    // exact neighbours, coarser grouping); else, when that does not fit, Auto's W at G + 1.
    const int wider = 2 * automatic.window;
    const AutoChoice widerChoice = choose_group(training_window, wider, needed_tokens);
    const AttentionMode runner_up =
        wider < training_window && widerChoice.fits
            ? AttentionMode::self_extend(widerChoice.group, wider)
            : AttentionMode::self_extend(std::min(automatic.group + 1, kLargestAutoGroup),
                                         automatic.window);
    if (runner_up.group >= 2 && runner_up != candidates.front()) candidates.push_back(runner_up);
    return candidates;
}

size_t recommend_probe(const std::vector<ProbeResult>& results, const AttentionMode& preferred) {
    if (results.empty()) throw Error("probe: no results to recommend from");
    const auto closer = [&](size_t a, size_t b) {
        return setting_distance(results[a].mode, preferred) <
               setting_distance(results[b].mode, preferred);
    };
    size_t baseline = 0;  // the preferred setting's result, or the closest one's
    for (size_t k = 1; k < results.size(); ++k)
        if (closer(k, baseline)) baseline = k;
    size_t best = baseline;
    for (size_t k = 0; k < results.size(); ++k)
        if (results[k].found() > results[best].found() ||
            (results[k].found() == results[best].found() && closer(k, best)))
            best = k;
    return results[best].found() >= results[baseline].found() + kProbeMargin ? best : baseline;
}

}  // namespace selfextend
