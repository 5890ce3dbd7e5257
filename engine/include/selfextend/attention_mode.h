// How a session attends: vanilla RoPE attention, or Self-Extend with group size G and
// neighbour window W (Jin et al., ICML 2024). The capacity helpers live here so that the CLI,
// the GUI and the tests share one formula.
#pragma once

#include <cstdint>
#include <string>

namespace selfextend {

struct AttentionMode {
    int group = 1;   // G: positions further than the window are floor-divided by G
    int window = 0;  // W: keys with i - j < W keep their exact positions

    static AttentionMode vanilla() { return {1, 0}; }
    static AttentionMode self_extend(int group, int window) { return {group, window}; }

    // G = 1 makes the grouped positions equal the normal ones: plain attention.
    bool is_vanilla() const { return group == 1; }
    std::string describe() const;  // "vanilla" or "self-extend G=8 W=256"

    friend bool operator==(const AttentionMode&, const AttentionMode&) = default;
};

// Throws Error when G < 1, W < 0 or W > L (L = the model's training window).
void validate(const AttentionMode& mode, int64_t training_window);

// Largest sequence whose grouped distances stay below L: (L - W) * G + W.
int64_t capacity(int64_t training_window, int group, int window);

// Smallest G whose capacity covers n_tokens: ceil((N - W) / (L - W)), at least 1.
int smallest_group(int64_t training_window, int window, int64_t n_tokens);

// Largest relative position the model sees on N tokens: W + (N - W) / G (N itself when N <= W).
double largest_used_position(int group, int window, int64_t n_tokens);

// The RoPE distance the model sees between query i and key j <= i under this mode (the engine's
// position rule, for front ends that draw it).
int64_t relative_position(int64_t query, int64_t key, const AttentionMode& mode);

// The authors' empirical rule: W + (N - W) / G < 2/3 L.
bool rule_of_thumb_holds(int64_t training_window, int group, int window, int64_t n_tokens);

// The largest G that Auto chooses (and the studio offers): past it the grouped positions are
// so coarse that Self-Extend answers poorly even when the capacity holds the document.
inline constexpr int kLargestAutoGroup = 64;

// What Auto knows of a model, per family (measured: docs/long-context.md; the family table keeps
// it, ModelInfo carries it): its training window L; the neighbour window its family answers best
// with, W = L / window_divisor; and the share of L (from position 0) whose positions the family
// retrieves well from once they are grouped: Auto keeps the largest position it uses,
// W + (N - W) / G, at most limit() = floor(trusted_share · L). trusted_share 1: anywhere below L,
// which makes Auto's G the smallest that holds the tokens; the authors' rule of thumb is 1/2 to
// 2/3.
struct AutoProfile {
    int64_t training_window = 0;  // L
    double trusted_share = 1.0;   // in (1/4, 1]
    int window_divisor = 8;       // Auto's W = L / window_divisor (half that when it cannot fit)
    int64_t limit() const;
};

// G and W chosen for a document, with the reason in one line for the user.
struct AutoChoice {
    int group = 1;
    int window = 0;
    bool fits = true;         // false: no G <= max_group holds the tokens (see explanation)
    std::string explanation;  // "Auto: W = 256 keeps the last 256 tokens exact; G = 6 is …"
};

// Auto's W for the model: L / window_divisor, a multiple of 16 tokens when L allows (the W a
// given G is used with when no W is given).
int auto_window(const AutoProfile& profile);

// Chooses G and W together for needed_tokens (document + question + answer), as measured on real
// models (docs/long-context.md): W = auto_window (L/8 for SmolLM2 and Gemma 3) and the smallest G
// that keeps the largest position used within the trusted share of L, at most max_group. With
// share 1 (SmolLM2) that is the smallest G that holds the tokens: at 12 000 tokens it stated the
// most facts from books and found all but one pass key, within one trial of the best cell on
// both. Gemma 3 (share 2/3) retrieved more at 40 000 tokens with one G more than that. Half that
// W when it would need more than max_group; G = max_group when the share cannot be kept at any
// allowed G but the capacity still holds the tokens. G = 1 when the tokens fit in L. When no
// window fits, the choice has the largest capacity allowed (G = max_group, the smaller W), fits
// is false, and the explanation says what it would take.
AutoChoice choose_attention(const AutoProfile& profile, int64_t needed_tokens,
                            int max_group = kLargestAutoGroup);

// The smallest G for a given W, explained the same way (fits is false when it exceeds max_group
// or W leaves no room to extend, W >= L).
AutoChoice choose_group(int64_t training_window, int window, int64_t needed_tokens,
                        int max_group = kLargestAutoGroup);

}  // namespace selfextend
