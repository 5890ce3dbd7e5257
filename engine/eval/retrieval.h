// What the pass-key test and the document probe share: the needle sentence, the question, the
// answer length, and the loop that answers a set of retrieval prompts in one session.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "selfextend/engine.h"
#include "selfextend/evaluation.h"

namespace selfextend::retrieval {

inline constexpr std::string_view kIntroduction =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. "
    "I will quiz you about the important information there.";
inline constexpr std::string_view kQuestion = "What is the pass key? The pass key is";
inline constexpr int kAnswerTokens = 8;  // enough for " " and five digits, with room to spare

// "The pass key is 38117. Remember it. 38117 is the pass key."
std::string needle(const std::string& key);

// The order the prompts are answered in (deepest needle first) and how many tokens each must
// prefill after the one before it: the prompts share their text up to the needle.
struct Plan {
    std::vector<size_t> order;
    std::vector<int64_t> computed;  // per prompt, in `order`
    int64_t computed_total = 0;
};
Plan plan(std::span<const PasskeyPrompt> prompts);

// Answers every prompt greedily in one session of `mode`, in the plan's order; each prompt
// prefills only from where it leaves the previous one, which gives the same answers as fresh
// sessions (a token's keys and values depend only on the tokens before it). on_answer gets each
// trial as it finishes; prefill_progress each prompt's prefill. Throws Cancelled.
std::vector<PasskeyTrial> answer(const Model& model, std::span<const PasskeyPrompt> prompts,
                                 const Plan& plan, const AttentionMode& mode, KvType kv_type,
                                 const std::function<void(size_t, const PasskeyTrial&)>& on_answer,
                                 const ProgressCallback& prefill_progress,
                                 const CancelToken* cancel);

}  // namespace selfextend::retrieval
