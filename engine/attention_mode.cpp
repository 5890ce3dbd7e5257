#include "selfextend/attention_mode.h"

#include <algorithm>

#include "attention/position_rule.h"
#include "selfextend/error.h"

namespace selfextend {

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

}  // namespace selfextend
