// A plain float64 implementation of Self-Extend attention as SELFEXTEND.md states it, pair by
// pair, for checking the CPU and CUDA kernels. Independent of the engine's code: the positions,
// RoPE and softmax are written out here.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace testing {

inline constexpr double kReferenceRopeBase = 10000.0;

// Adjacent-pair RoPE of the first 2 * pairs dimensions, in double precision.
inline std::vector<double> rope_rotate(const double* x, int dim, int64_t position, int pairs = -1) {
    if (pairs < 0) pairs = dim / 2;
    std::vector<double> out(x, x + dim);
    for (int k = 0; k < pairs; ++k) {
        const double angle =
            double(position) * std::pow(kReferenceRopeBase, -2.0 * k / (2.0 * pairs));
        out[size_t(2 * k)] = x[2 * k] * std::cos(angle) - x[2 * k + 1] * std::sin(angle);
        out[size_t(2 * k + 1)] = x[2 * k] * std::sin(angle) + x[2 * k + 1] * std::cos(angle);
    }
    return out;
}

// Query i's position against the keys at least W behind it: i // G shifted up by W - W // G, so
// that the grouped distances continue where the neighbour window's end.
inline int64_t grouped_query_position(int64_t i, int G, int W) {
    return i / G + W - W / G;
}

// (query position, key position) for query i and key j <= i.
inline std::pair<int64_t, int64_t> self_extend_positions(int64_t i, int64_t j, int G, int W) {
    if (i - j < W) return {i, j};
    return {grouped_query_position(i, G, W), j / G};
}

struct AttentionProblem {
    int n, heads, kv_heads, head_dim, G, W;
    std::vector<double> q, k, v;  // raw (unrotated): q [n][heads][d], k and v [n][kv][d]
    // The keys grouped pairs use, like k; empty: k. (A cache that stores each key twice, at
    // its own and at its grouped position, rounds the two copies apart.)
    std::vector<double> k_grouped;
    int rope_pairs = -1;  // RoPE turns the first 2 * rope_pairs dimensions (-1: all)
    int key_window = 0;   // > 0: query i sees keys j with i - j < key_window only

    AttentionProblem(int n_, int heads_, int kv_, int d_, int G_, int W_, uint32_t seed)
        : n(n_), heads(heads_), kv_heads(kv_), head_dim(d_), G(G_), W(W_) {
        std::mt19937 rng(seed);
        std::normal_distribution<double> normal(0.0, 1.0);
        auto fill = [&](std::vector<double>& x, size_t count) {
            x.resize(count);
            for (double& value : x) value = normal(rng);
        };
        fill(q, size_t(n) * heads * head_dim);
        fill(k, size_t(n) * kv_heads * head_dim);
        fill(v, size_t(n) * kv_heads * head_dim);
    }

    // out[i][h][d] in float64.
    std::vector<double> reference() const { return reference_from(0); }

    // The rows of queries first .. n-1 only (a decode step at a long context): [n - first][h][d].
    std::vector<double> reference_from(int first) const {
        std::vector<double> out(size_t(n - first) * heads * head_dim);
        const int per_kv = heads / kv_heads;
        for (int i = first; i < n; ++i)
            for (int h = 0; h < heads; ++h) {
                const int kvh = h / per_kv;
                std::vector<double> scores(size_t(i + 1));
                double top = -INFINITY;
                for (int j = 0; j <= i; ++j) {
                    if (key_window > 0 && i - j >= key_window) {  // outside the sliding window
                        scores[size_t(j)] = -INFINITY;
                        continue;
                    }
                    const auto [pq, pk] = self_extend_positions(i, j, G, W);
                    const auto qr = rope_rotate(&q[(size_t(i) * heads + h) * head_dim], head_dim,
                                                pq, rope_pairs);
                    const bool grouped_pair = i - j >= W && !k_grouped.empty();
                    const auto& keys = grouped_pair ? k_grouped : k;
                    const auto kr = rope_rotate(&keys[(size_t(j) * kv_heads + kvh) * head_dim],
                                                head_dim, pk, rope_pairs);
                    double dot = 0;
                    for (int d = 0; d < head_dim; ++d) dot += qr[size_t(d)] * kr[size_t(d)];
                    scores[size_t(j)] = dot / std::sqrt(double(head_dim));
                    top = std::max(top, scores[size_t(j)]);
                }
                double sum = 0;
                for (double& s : scores) sum += (s = std::exp(s - top));
                for (int d = 0; d < head_dim; ++d) {
                    double acc = 0;
                    for (int j = 0; j <= i; ++j)
                        acc += scores[size_t(j)] *
                               v[(size_t(j) * kv_heads + kvh) * head_dim + size_t(d)];
                    out[(size_t(i - first) * heads + h) * head_dim + size_t(d)] = acc / sum;
                }
            }
        return out;
    }
};

}  // namespace testing
