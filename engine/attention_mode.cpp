#include "selfextend/attention_mode.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "attention/position_rule.h"
#include "selfextend/error.h"

namespace selfextend {
namespace {

// 12 345 (the CLI's style): the explanations are read by people.
std::string count(int64_t n) {
    const std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out = n < 0 ? "-" : "";
    for (size_t k = 0; k < digits.size(); ++k) {
        if (k && (digits.size() - k) % 3 == 0) out += ' ';
        out += digits[k];
    }
    return out;
}

// "(512 − 256)·6 + 256 = 1 792"
std::string capacity_formula(int64_t training_window, int group, int window) {
    // Appended piece by piece: GCC 12 warns (wrongly) about "(" + std::string.
    std::string formula = "(";
    formula += count(training_window);
    formula += " − " + count(window) + ")·" + std::to_string(group) + " + " + count(window);
    formula += " = " + count(capacity(training_window, group, window));
    return formula;
}

// Auto's windows, preferred first: L/d, then L/2d when L/d would need more than the largest G;
// rounded down to a multiple of 16 tokens unless that would leave nothing, and always below L.
std::vector<int> candidate_windows(int64_t training_window, int divisor) {
    std::vector<int> windows;
    for (const int d : {divisor, 2 * divisor}) {
        int64_t w = training_window / d;
        if (w >= 16) w -= w % 16;
        if (w < training_window && (windows.empty() || windows.back() != int(w)))
            windows.push_back(int(w));
    }
    if (windows.empty()) windows.push_back(0);
    return windows;
}

// The smallest group that keeps the largest position used, W + (N - W)/G, at most `limit` (L: the
// smallest group whose capacity holds the tokens; a trusted limit below L: as many groups more as
// that takes), or INT64_MAX when the window leaves no room (W >= limit). Only compared with
// max_group before it is used.
int64_t group_needed(int64_t limit, int window, int64_t needed_tokens) {
    if (needed_tokens <= limit) return 1;
    const int64_t span = limit - window;
    if (span <= 0) return INT64_MAX;
    return std::max<int64_t>(1, (needed_tokens - window + span - 1) / span);
}

std::string no_extension_needed(int64_t training_window, int window, int64_t needed_tokens) {
    return "Auto: the " + count(needed_tokens) +
           " tokens needed fit in the training window L = " + count(training_window) +
           ": no extension needed (G = 1, W = " + count(window) + ").";
}

std::string group_reason(int64_t training_window, int group, int window, int64_t needed_tokens) {
    return "G = " + std::to_string(group) + " is the smallest group whose capacity (" +
           capacity_formula(training_window, group, window) + ") holds the " +
           count(needed_tokens) + " tokens needed.";
}

// "4 096 + 35 936/3 = 16 074": the largest relative position Self-Extend uses on N tokens.
std::string largest_position_formula(int group, int window, int64_t needed_tokens) {
    return count(window) + " + " + count(needed_tokens - window) + "/" + std::to_string(group) +
           " = " + count(int64_t(largest_used_position(group, window, needed_tokens)));
}

// Why more groups than the capacity needs: the trusted share of L.
std::string trusted_reason(const AutoProfile& profile, int group, int fitting, int window,
                           int64_t needed_tokens) {
    const std::string share = std::to_string(int(profile.trusted_share * 100 + 0.5)) + " %";
    return "G = " + std::to_string(group) + " keeps the largest position it uses (" +
           largest_position_formula(group, window, needed_tokens) + ") within " + share +
           " of L (" + count(profile.limit()) +
           "), where this model's family retrieves best; G = " + std::to_string(fitting) +
           " would hold the " + count(needed_tokens) + " tokens (" +
           capacity_formula(profile.training_window, fitting, window) +
           ") but use positions up to " +
           count(int64_t(largest_used_position(fitting, window, needed_tokens))) + ".";
}

}  // namespace

std::string AttentionMode::describe() const {
    if (is_vanilla()) return "vanilla";
    return "self-extend G=" + std::to_string(group) + " W=" + std::to_string(window);
}

void validate(const AttentionMode& mode, int64_t training_window) {
    if (mode.group < 1)
        throw Error("group size G must be at least 1 (got " + std::to_string(mode.group) + ")");
    if (mode.window < 0)
        throw Error("neighbour window W must not be negative (got " + std::to_string(mode.window) +
                    ")");
    if (training_window > 0 && mode.window > training_window)
        throw Error("neighbour window W = " + std::to_string(mode.window) +
                    " exceeds the model's training window L = " + std::to_string(training_window));
}

int64_t capacity(int64_t training_window, int group, int window) {
    return (training_window - window) * group + window;
}

int smallest_group(int64_t training_window, int window, int64_t n_tokens) {
    if (n_tokens <= training_window) return 1;
    const int64_t span = training_window - window;
    if (span <= 0) throw Error("W must be smaller than L to extend the window");
    return int(std::max<int64_t>(1, (n_tokens - window + span - 1) / span));
}

double largest_used_position(int group, int window, int64_t n_tokens) {
    if (n_tokens <= window || group <= 1) return double(n_tokens);
    return window + double(n_tokens - window) / group;
}

int64_t relative_position(int64_t query, int64_t key, const AttentionMode& mode) {
    return position_rule::relative_position(query, key, mode.group, mode.window);
}

bool rule_of_thumb_holds(int64_t training_window, int group, int window, int64_t n_tokens) {
    return largest_used_position(group, window, n_tokens) < 2.0 / 3.0 * double(training_window);
}

AutoChoice choose_group(int64_t training_window, int window, int64_t needed_tokens, int max_group) {
    AutoChoice choice{1, window, true, {}};
    if (needed_tokens <= training_window) {
        choice.explanation = no_extension_needed(training_window, window, needed_tokens);
        return choice;
    }
    if (window >= training_window) {
        choice.fits = false;
        choice.explanation = "W = " + count(window) +
                             " is not below the training window L = " + count(training_window) +
                             ": Self-Extend cannot extend anything. Choose a smaller W.";
        return choice;
    }
    const int64_t group = group_needed(training_window, window, needed_tokens);
    if (group > max_group) {
        choice.group = max_group;
        choice.fits = false;
        choice.explanation = "At W = " + count(window) + ", the " + count(needed_tokens) +
                             " tokens needed would take G = " + count(group) + ", more than " +
                             std::to_string(max_group) + ". Choose a smaller W or press Auto.";
        return choice;
    }
    choice.group = int(group);
    choice.explanation = "Auto: W = " + count(window) + " (kept); " +
                         group_reason(training_window, choice.group, window, needed_tokens);
    return choice;
}

int auto_window(const AutoProfile& profile) {
    return candidate_windows(profile.training_window, profile.window_divisor).front();
}

int64_t AutoProfile::limit() const {
    return std::min(training_window, int64_t(std::floor(trusted_share * double(training_window))));
}

AutoChoice choose_attention(const AutoProfile& profile, int64_t needed_tokens, int max_group) {
    const int64_t training_window = profile.training_window;
    const int divisor = profile.window_divisor;
    const std::vector<int> windows = candidate_windows(training_window, divisor);
    if (needed_tokens <= training_window)
        return {1, windows.front(), true,
                no_extension_needed(training_window, windows.front(), needed_tokens)};
    for (const int window : windows) {
        const int64_t fitting = group_needed(training_window, window, needed_tokens);
        if (fitting > max_group) continue;
        const int64_t trusted = group_needed(profile.limit(), window, needed_tokens);
        const int group = int(std::min<int64_t>(trusted, max_group));
        // Why not the preferred W: its group, when it was too large.
        std::string instead;
        if (window != windows.front())
            instead = " (W = " + count(windows.front()) + " would need G = " +
                      count(group_needed(training_window, windows.front(), needed_tokens)) +
                      ", more than " + std::to_string(max_group) + ")";
        std::string reason;
        if (group == fitting)
            reason = group_reason(training_window, group, window, needed_tokens);
        else if (group == trusted)
            reason = trusted_reason(profile, group, int(fitting), window, needed_tokens);
        else
            reason = "G = " + std::to_string(group) + ", the largest allowed, keeps the largest " +
                     "position it uses as low as it can (" +
                     largest_position_formula(group, window, needed_tokens) +
                     "; keeping it within " + count(profile.limit()) +
                     " would take G = " + count(trusted) + ").";
        return {group, window, true,
                "Auto: W = " + count(window) + " keeps the last " + count(window) +
                    " tokens exact" + instead + "; " + reason +
                    " On the measured map's books (docs/long-context.md) this was within one "
                    "trial of the best setting; other books can differ: Tune on document "
                    "(selfextend-cli probe) measures this one."};
    }
    // Nothing fits: say what would, the smallest training window whose Auto window holds the
    // tokens at G = max_group. With W = L/d - r (auto_window rounds L/d down by r <= 15), the
    // capacity is L((d - 1)G + 1)/d + r(G - 1) >= N, so the search starts at
    // d(N - 15(G - 1))/((d - 1)G + 1).
    const int64_t lowest = divisor * (needed_tokens - 15 * int64_t(max_group - 1)) /
                           ((divisor - 1) * int64_t(max_group) + 1);
    int64_t longer = std::max<int64_t>(1, lowest - 8);
    while (capacity(longer, max_group, auto_window({longer, 1.0, divisor})) < needed_tokens)
        ++longer;
    const int smallest = windows.back();
    return {max_group, smallest, false,
            "Cannot fit: the " + count(needed_tokens) +
                " tokens needed are more than the largest capacity at G ≤ " +
                std::to_string(max_group) + ", " +
                capacity_formula(training_window, max_group, smallest) +
                ". It would take a model with a training window of at least " + count(longer) +
                " tokens (at W = L/" + std::to_string(divisor) +
                ", G = " + std::to_string(max_group) +
                "), or G = " + count(group_needed(training_window, smallest, needed_tokens)) +
                " at W = " + count(smallest) + ", far past the G ≤ " + std::to_string(max_group) +
                " where answers stay usable."};
}

}  // namespace selfextend
