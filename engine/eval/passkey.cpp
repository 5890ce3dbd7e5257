// The pass-key retrieval test (docs/method.md, "The pass-key test"): a key hidden in filler text at
// a chosen depth, then "What is the pass key? The pass key is"; the greedy continuation must start
// with the key.
#include <algorithm>
#include <cctype>
#include <random>

#include "retrieval.h"
#include "selfextend/engine.h"
#include "selfextend/evaluation.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

namespace {

using retrieval::kIntroduction;
using retrieval::kQuestion;
constexpr std::string_view kFillerSentences[] = {"The grass is green.", "The sky is blue.",
                                                 "The sun is yellow.", "Here we go.",
                                                 "There and back again."};

std::string filler(int64_t sentences, int64_t first_sentence) {
    std::string text;
    for (int64_t s = 0; s < sentences; ++s) {
        text += ' ';
        text += kFillerSentences[(first_sentence + s) % std::size(kFillerSentences)];
    }
    return text;
}

struct Layout {
    std::string text;
    size_t needle_byte = 0;
};

// introduction, filler, needle at `depth` of the filler, filler, tail.
Layout compose(int64_t sentences, double depth, const std::string& needle, std::string_view tail) {
    const auto before = int64_t(std::llround(depth * double(sentences)));
    Layout layout;
    layout.text.assign(kIntroduction).append(filler(before, 0));
    layout.needle_byte = layout.text.size();
    layout.text.append(" ").append(needle).append(filler(sentences - before, before));
    if (!tail.empty()) layout.text.append(" ").append(tail);
    return layout;
}

// The largest number of filler sentences whose text stays within target_tokens.
int64_t fit_filler(const Tokenizer& tokenizer, int64_t target_tokens, double depth,
                   const std::string& needle, std::string_view tail) {
    auto count = [&](int64_t sentences) {
        return int64_t(tokenizer.encode(compose(sentences, depth, needle, tail).text, true).size());
    };
    int64_t low = 0, high = 1;  // exponential, then binary search
    while (count(high) <= target_tokens) {
        low = high;
        high *= 2;
    }
    while (high - low > 1) {
        const int64_t middle = (low + high) / 2;
        (count(middle) <= target_tokens ? low : high) = middle;
    }
    return low;
}

}  // namespace

PasskeyPrompt build_passkey_prompt(const Tokenizer& tokenizer, int64_t target_tokens, double depth,
                                   const std::string& key) {
    depth = std::clamp(depth, 0.0, 1.0);
    const std::string needle = retrieval::needle(key);
    const int64_t shortest =
        int64_t(tokenizer.encode(compose(0, depth, needle, kQuestion).text, true).size());
    if (target_tokens < shortest)
        throw Error("pass key: " + std::to_string(target_tokens) +
                    " tokens is shorter than the prompt without filler (" +
                    std::to_string(shortest) + " tokens)");
    const Layout layout = compose(fit_filler(tokenizer, target_tokens, depth, needle, kQuestion),
                                  depth, needle, kQuestion);
    PasskeyPrompt prompt;
    prompt.tokens = tokenizer.encode(layout.text, true);
    prompt.key = key;
    prompt.depth = depth;
    prompt.needle_token =
        int64_t(tokenizer.encode(layout.text.substr(0, layout.needle_byte), true).size());
    return prompt;
}

std::string build_filler_document(const Tokenizer& tokenizer, int64_t target_tokens, double depth,
                                  const std::string& needle) {
    depth = std::clamp(depth, 0.0, 1.0);
    return compose(fit_filler(tokenizer, target_tokens, depth, needle, {}), depth, needle, {})
               .text +
           "\n";
}

bool passkey_answer_correct(const std::string& continuation, const std::string& key) {
    size_t start = 0;
    while (start < continuation.size() &&
           std::isspace(static_cast<unsigned char>(continuation[start])))
        ++start;
    if (key.empty() || continuation.compare(start, key.size(), key) != 0) return false;
    // The whole number: "381170" or "38117.5" is not "38117".
    const size_t after = start + key.size();
    if (after == continuation.size()) return true;
    const auto digit = [&](size_t k) {
        return k < continuation.size() &&
               std::isdigit(static_cast<unsigned char>(continuation[k])) != 0;
    };
    return !digit(after) && !(continuation[after] == '.' && digit(after + 1));
}

std::vector<PasskeyResult> run_passkey(const Model& model, const PasskeyOptions& options,
                                       const ProgressCallback& progress,
                                       const CancelToken* cancel) {
    if (options.lengths.empty() || options.depths.empty() || options.modes.empty() ||
        options.trials_per_depth < 1)
        throw Error("pass key: give at least one length, depth, mode and trial");
    for (const AttentionMode& mode : options.modes) validate(mode, model.info().training_window);

    // The same keys for every mode, so modes are compared on identical prompts.
    std::mt19937_64 rng(options.seed);
    std::uniform_int_distribution<int> digits(10000, 99999);
    std::vector<std::vector<PasskeyPrompt>> prompts;  // [length][depth * trials]
    for (const int64_t length : options.lengths) {
        if (length < 64)
            throw Error("pass key: length " + std::to_string(length) +
                        " is too short (64 or more)");
        auto& row = prompts.emplace_back();
        for (const double depth : options.depths)
            for (int trial = 0; trial < options.trials_per_depth; ++trial)
                row.push_back(build_passkey_prompt(model.tokenizer(), length, depth,
                                                   std::to_string(digits(rng))));
    }

    const int64_t total =
        int64_t(options.lengths.size() * options.modes.size() * prompts[0].size());
    int64_t done = 0;
    std::vector<PasskeyResult> results;
    for (size_t l = 0; l < options.lengths.size(); ++l) {
        for (const AttentionMode& mode : options.modes) {
            PasskeyResult result;
            result.length = options.lengths[l];
            result.mode = mode;
            const std::vector<PasskeyPrompt>& row = prompts[l];
            result.details = retrieval::answer(
                model, row, retrieval::plan(row), mode, options.kv_type,
                [&](size_t, const PasskeyTrial& trial) {
                    if (options.on_trial) options.on_trial(mode, trial);
                    result.correct += trial.correct;
                    ++result.trials;
                    ++done;
                    if (progress) progress({done, total, 0, 0});
                },
                {}, cancel);  // in the order of the options' depths
            results.push_back(std::move(result));
        }
    }
    return results;
}

namespace retrieval {

std::string needle(const std::string& key) {
    std::string text = "The pass key is ";
    text.append(key).append(". Remember it. ").append(key).append(" is the pass key.");
    return text;
}

Plan plan(std::span<const PasskeyPrompt> prompts) {
    // The prompts share their text up to the needle, and a token's keys and values depend only
    // on the tokens before it. So one session serves them all, deepest needle first: each prompt
    // prefills only from where it leaves the previous one (a third less work for five depths,
    // more with several trials per depth).
    Plan p;
    p.order.resize(prompts.size());
    for (size_t k = 0; k < p.order.size(); ++k) p.order[k] = k;
    std::stable_sort(p.order.begin(), p.order.end(), [&](size_t a, size_t b) {
        return prompts[a].needle_token > prompts[b].needle_token;
    });
    const std::vector<int32_t>* previous = nullptr;
    for (const size_t k : p.order) {
        const std::vector<int32_t>& tokens = prompts[k].tokens;
        size_t shared = 0;
        if (previous) {
            const auto differs =
                std::mismatch(previous->begin(), previous->end(), tokens.begin(), tokens.end())
                    .second;
            // The engine always runs the last token again, for its logits.
            shared = std::min(size_t(differs - tokens.begin()), tokens.size() - 1);
        }
        p.computed.push_back(int64_t(tokens.size() - shared));
        p.computed_total += p.computed.back();
        previous = &tokens;
    }
    return p;
}

std::vector<PasskeyTrial> answer(const Model& model, std::span<const PasskeyPrompt> prompts,
                                 const Plan& plan, const AttentionMode& mode, KvType kv_type,
                                 const std::function<void(size_t, const PasskeyTrial&)>& on_answer,
                                 const ProgressCallback& prefill_progress,
                                 const CancelToken* cancel) {
    int64_t longest = 0;
    for (const PasskeyPrompt& prompt : prompts)
        longest = std::max(longest, int64_t(prompt.tokens.size()));
    const auto session = model.new_session({longest + kAnswerTokens, mode, kv_type});
    std::vector<PasskeyTrial> trials(prompts.size());
    for (const size_t k : plan.order) {
        const PasskeyPrompt& prompt = prompts[k];
        session->prefill_reusing(prompt.tokens, prefill_progress, cancel);
        std::string text;
        session->generate(
            kAnswerTokens, SamplingParams{},
            [&](const Token& token) {
                text += token.text;
                return true;
            },
            cancel);
        trials[k] = {int64_t(prompt.tokens.size()), prompt.depth, prompt.key, text,
                     passkey_answer_correct(text, prompt.key)};
        if (on_answer) on_answer(k, trials[k]);
    }
    return trials;
}

}  // namespace retrieval

}  // namespace selfextend
