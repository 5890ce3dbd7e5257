// A slow, obvious float64 forward pass of every family the engine runs, in the manner of
// llama2.c's forward(): one function per architecture, each walking a layer top to bottom in the
// order of the model's published definition, one comment per step, no SIMD, no engine code.
// Weights come from a TinyModel by tensor name (the float32 values written to the file, or a real
// file's tensors decoded by the test). Self-Extend as ../shared/SELFEXTEND.md states it: for a
// key j at least W behind query i, query and key take the grouped positions i // G + W - W // G
// and j // G; nearer keys keep i and j; one softmax over the merged row.
//
// Layouts (the GGUF conventions): `llama` files rotate adjacent pairs (x[2k], x[2k+1]), the
// converter having permuted the q/k rows for it; gemma, gemma3, qwen2, phi2 and phi3 rotate
// (x[k], x[k + d/2]) over the rotary dims d. Fused tensors: phi2/phi3 attn_qkv holds the q rows,
// then k, then v; phi3 ffn_up holds the gate rows, then the up rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "tiny_models.h"

namespace testing {

// [layer][token][embedding]: the residual stream after each layer.
using LayerResiduals = std::vector<std::vector<std::vector<double>>>;

namespace reference_detail {

using Vector = std::vector<double>;
using Rows = std::vector<Vector>;  // one vector per token

// y = W x, W stored row by row as GGUF dims {cols, rows}; rows first .. first + count only (the
// parts of a fused tensor).
inline Vector matmul(const TinyTensor& w, const Vector& x, int64_t first = 0, int64_t count = -1) {
    if (count < 0) count = w.rows() - first;
    if (int64_t(x.size()) != w.cols() || first + count > w.rows())
        throw std::runtime_error("reference: shape mismatch at " + w.name);
    Vector y(size_t(count), 0.0);
    for (int64_t r = 0; r < count; ++r) {
        const float* row = w.values.data() + (first + r) * w.cols();
        double sum = 0;
        for (int64_t c = 0; c < w.cols(); ++c) sum += double(row[c]) * x[size_t(c)];
        y[size_t(r)] = sum;
    }
    return y;
}

// y + b[first .. first + y.size()).
inline Vector plus_bias(Vector y, const TinyTensor& b, int64_t first = 0) {
    for (size_t k = 0; k < y.size(); ++k) y[k] += double(b.values[size_t(first) + k]);
    return y;
}

inline void add_to(Vector& x, const Vector& y) {
    for (size_t k = 0; k < x.size(); ++k) x[k] += y[k];
}

// x / sqrt(mean(x^2) + eps) * w over the w.size() values at x.
inline void rms_norm_in_place(double* x, const TinyTensor& w, double eps) {
    const size_t n = w.values.size();
    double sum = 0;
    for (size_t k = 0; k < n; ++k) sum += x[k] * x[k];
    const double scale = 1.0 / std::sqrt(sum / double(n) + eps);
    for (size_t k = 0; k < n; ++k) x[k] = x[k] * scale * double(w.values[k]);
}

inline Vector rms_norm(Vector x, const TinyTensor& w, double eps) {
    rms_norm_in_place(x.data(), w, eps);
    return x;
}

// Every head of x normalized on its own with the same head_dim weights (Gemma 3's q/k norms).
inline Vector rms_norm_per_head(Vector x, const TinyTensor& w, double eps) {
    for (size_t head = 0; head < x.size() / w.values.size(); ++head)
        rms_norm_in_place(x.data() + head * w.values.size(), w, eps);
    return x;
}

// (x - mean) / sqrt(var + eps) * w + b.
inline Vector layer_norm(Vector x, const TinyTensor& w, const TinyTensor& b, double eps) {
    double mean = 0, var = 0;
    for (const double v : x) mean += v;
    mean /= double(x.size());
    for (const double v : x) var += (v - mean) * (v - mean);
    var /= double(x.size());
    for (size_t k = 0; k < x.size(); ++k)
        x[k] = (x[k] - mean) / std::sqrt(var + eps) * double(w.values[k]) + double(b.values[k]);
    return x;
}

inline double silu(double x) {
    return x / (1.0 + std::exp(-x));
}

// GELU, tanh approximation (Gemma's GeGLU, Phi-2's MLP).
inline double gelu_tanh(double x) {
    const double c = std::sqrt(2.0 / std::numbers::pi);
    return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
}

enum class RopeLayout { AdjacentPairs, HalfSplit };

// Turns the first `dims` values of one head to `position`: pair k by position * base^(-2k/dims).
inline void rope(double* head, int dims, int64_t position, double base, RopeLayout layout) {
    for (int k = 0; k < dims / 2; ++k) {
        const double angle = double(position) * std::pow(base, -2.0 * k / dims);
        const int a = layout == RopeLayout::AdjacentPairs ? 2 * k : k;
        const int b = layout == RopeLayout::AdjacentPairs ? 2 * k + 1 : k + dims / 2;
        const double x0 = head[a], x1 = head[b];
        head[a] = x0 * std::cos(angle) - x1 * std::sin(angle);
        head[b] = x0 * std::sin(angle) + x1 * std::cos(angle);
    }
}

// What one layer's attention needs to know besides q, k, v.
struct AttentionShape {
    int heads = 0;
    int kv_heads = 0;
    int head_dim = 0;
    int rope_dims = 0;
    double rope_base = 10000.0;
    RopeLayout layout = RopeLayout::AdjacentPairs;
    int key_window = 0;  // > 0: query i sees keys j with i - j < key_window only
    int group = 1;       // Self-Extend group G (1: vanilla)
    int window = 0;      // Self-Extend neighbour window W
};

// Every head of a token's q or k rows turned to `position`.
inline Vector rotated(Vector x, int heads, const AttentionShape& s, int64_t position) {
    for (int h = 0; h < heads; ++h)
        rope(x.data() + size_t(h) * size_t(s.head_dim), s.rope_dims, position, s.rope_base,
             s.layout);
    return x;
}

// Causal attention over raw (unrotated) q [heads x d], k and v [kv_heads x d] of every token;
// returns [heads x d] per token. GQA: query head h reads KV head h / (heads / kv_heads).
inline Rows attention(const Rows& q, const Rows& k, const Rows& v, const AttentionShape& s) {
    const int64_t n = int64_t(q.size());
    const int G = s.group, W = s.window;
    // Each token's q and k at their own position (neighbour pairs) and at the grouped ones
    // (query i // G + W - W // G, key j // G).
    const size_t rows = static_cast<size_t>(n);
    Rows q_near(rows), q_far(rows), k_near(rows), k_far(rows);
    for (int64_t t = 0; t < n; ++t) {
        q_near[size_t(t)] = rotated(q[size_t(t)], s.heads, s, t);
        k_near[size_t(t)] = rotated(k[size_t(t)], s.kv_heads, s, t);
        if (G > 1) {
            q_far[size_t(t)] = rotated(q[size_t(t)], s.heads, s, t / G + W - W / G);
            k_far[size_t(t)] = rotated(k[size_t(t)], s.kv_heads, s, t / G);
        }
    }
    const size_t d = size_t(s.head_dim);
    Rows out(size_t(n), Vector(size_t(s.heads) * d, 0.0));
    for (int64_t i = 0; i < n; ++i)
        for (int h = 0; h < s.heads; ++h) {
            const size_t qh = size_t(h) * d, kh = size_t(h / (s.heads / s.kv_heads)) * d;
            // Scores: one of the two for each key, then the causal (and sliding-window) mask.
            std::vector<double> score(size_t(i + 1), -INFINITY);
            double top = -INFINITY;
            for (int64_t j = 0; j <= i; ++j) {
                if (s.key_window > 0 && i - j >= s.key_window) continue;
                const bool grouped = G > 1 && i - j >= W;
                const Vector& qi = grouped ? q_far[size_t(i)] : q_near[size_t(i)];
                const Vector& kj = grouped ? k_far[size_t(j)] : k_near[size_t(j)];
                double dot = 0;
                for (size_t c = 0; c < d; ++c) dot += qi[qh + c] * kj[kh + c];
                score[size_t(j)] = dot / std::sqrt(double(d));
                top = std::max(top, score[size_t(j)]);
            }
            // Softmax over the merged row, then the weighted sum of V.
            double sum = 0;
            for (double& x : score) sum += (x = std::exp(x - top));
            for (int64_t j = 0; j <= i; ++j)
                for (size_t c = 0; c < d; ++c)
                    out[size_t(i)][qh + c] += score[size_t(j)] / sum * v[size_t(j)][kh + c];
        }
    return out;
}

inline Rows embed(const TinyModel& m, std::span<const int32_t> tokens, double scale) {
    const TinyTensor& table = m.tensor("token_embd.weight");
    Rows x;
    for (const int32_t token : tokens) {
        if (token < 0 || token >= table.rows()) throw std::runtime_error("reference: bad token");
        Vector row(size_t(table.cols()));
        for (int64_t c = 0; c < table.cols(); ++c)
            row[size_t(c)] = scale * double(table.values[size_t(token * table.cols() + c)]);
        x.push_back(std::move(row));
    }
    return x;
}

// The output head: a matrix of its own, or the token embedding when the model ties them.
inline const TinyTensor& output_matrix(const TinyModel& m) {
    const TinyTensor* output = m.find("output.weight");
    return output ? *output : m.tensor("token_embd.weight");
}

inline void record(LayerResiduals* residuals, const Rows& x) {
    if (residuals) residuals->push_back(x);
}

// A gated unit's inner vector: activation(gate) * up, value by value (SwiGLU with silu, GeGLU
// with gelu_tanh).
inline Vector gated(const Vector& gate, const Vector& up, double (*activation)(double)) {
    Vector out(gate.size());
    for (size_t c = 0; c < gate.size(); ++c) out[c] = activation(gate[c]) * up[c];
    return out;
}

// The final RMSNorm of every token, then the output head.
inline Rows logits_after_rms_norm(const TinyModel& m, const Rows& x, double eps) {
    Rows logits;
    for (const Vector& token : x)
        logits.push_back(
            matmul(output_matrix(m), rms_norm(token, m.tensor("output_norm.weight"), eps)));
    return logits;
}

inline AttentionShape shape_of(const TinyModel& m, RopeLayout layout, int group, int window) {
    return {
        m.head_count, m.head_count_kv, m.head_dim, m.rope_dimensions, m.rope_freq_base, layout, 0,
        group,        window};
}

// Llama (also Mistral, attending to every key, and Llama 3): pre-norm blocks, RMSNorm, RoPE on
// adjacent pairs, SwiGLU.
inline Rows forward_llama(const TinyModel& m, std::span<const int32_t> tokens, int group,
                          int window, LayerResiduals* residuals) {
    const size_t n = tokens.size();
    const double eps = m.norm_eps;
    const AttentionShape shape = shape_of(m, RopeLayout::AdjacentPairs, group, window);
    Rows x = embed(m, tokens, 1.0);
    for (int l = 0; l < m.block_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        // Attention RMSNorm, then the q, k, v projections.
        Rows q(n), k(n), v(n);
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "attn_norm.weight"), eps);
            q[t] = matmul(m.tensor(p + "attn_q.weight"), h);
            k[t] = matmul(m.tensor(p + "attn_k.weight"), h);
            v[t] = matmul(m.tensor(p + "attn_v.weight"), h);
        }
        // RoPE and causal attention, Self-Extend positions for distant keys.
        const Rows a = attention(q, k, v, shape);
        // Output projection, residual.
        for (size_t t = 0; t < n; ++t)
            add_to(x[t], matmul(m.tensor(p + "attn_output.weight"), a[t]));
        // FFN RMSNorm, SwiGLU: down(silu(gate h) * up h), residual.
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "ffn_norm.weight"), eps);
            const Vector gate = matmul(m.tensor(p + "ffn_gate.weight"), h);
            const Vector up = matmul(m.tensor(p + "ffn_up.weight"), h);
            add_to(x[t], matmul(m.tensor(p + "ffn_down.weight"), gated(gate, up, silu)));
        }
        record(residuals, x);
    }
    // Final RMSNorm, output head.
    return logits_after_rms_norm(m, x, eps);
}

// Qwen2: Llama with biases on q, k and v and RoPE on the half-split pairs.
inline Rows forward_qwen2(const TinyModel& m, std::span<const int32_t> tokens, int group,
                          int window, LayerResiduals* residuals) {
    const size_t n = tokens.size();
    const double eps = m.norm_eps;
    const AttentionShape shape = shape_of(m, RopeLayout::HalfSplit, group, window);
    Rows x = embed(m, tokens, 1.0);
    for (int l = 0; l < m.block_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        // Attention RMSNorm, then the q, k, v projections with their biases.
        Rows q(n), k(n), v(n);
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "attn_norm.weight"), eps);
            q[t] = plus_bias(matmul(m.tensor(p + "attn_q.weight"), h), m.tensor(p + "attn_q.bias"));
            k[t] = plus_bias(matmul(m.tensor(p + "attn_k.weight"), h), m.tensor(p + "attn_k.bias"));
            v[t] = plus_bias(matmul(m.tensor(p + "attn_v.weight"), h), m.tensor(p + "attn_v.bias"));
        }
        // RoPE and causal attention, Self-Extend positions for distant keys.
        const Rows a = attention(q, k, v, shape);
        // Output projection (no bias), residual.
        for (size_t t = 0; t < n; ++t)
            add_to(x[t], matmul(m.tensor(p + "attn_output.weight"), a[t]));
        // FFN RMSNorm, SwiGLU, residual.
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "ffn_norm.weight"), eps);
            const Vector gate = matmul(m.tensor(p + "ffn_gate.weight"), h);
            const Vector up = matmul(m.tensor(p + "ffn_up.weight"), h);
            add_to(x[t], matmul(m.tensor(p + "ffn_down.weight"), gated(gate, up, silu)));
        }
        record(residuals, x);
    }
    // Final RMSNorm, output head.
    return logits_after_rms_norm(m, x, eps);
}

// Gemma (v1): embedding times sqrt(dim), RMSNorm with the weights as the converter stores them
// (Gemma's 1 + w already added), half-split RoPE, GeGLU with tanh GELU, tied output.
inline Rows forward_gemma(const TinyModel& m, std::span<const int32_t> tokens, int group,
                          int window, LayerResiduals* residuals) {
    const size_t n = tokens.size();
    const double eps = m.norm_eps;
    const AttentionShape shape = shape_of(m, RopeLayout::HalfSplit, group, window);
    Rows x = embed(m, tokens, std::sqrt(double(m.embedding_length)));
    for (int l = 0; l < m.block_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        // Attention RMSNorm, then the q, k, v projections.
        Rows q(n), k(n), v(n);
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "attn_norm.weight"), eps);
            q[t] = matmul(m.tensor(p + "attn_q.weight"), h);
            k[t] = matmul(m.tensor(p + "attn_k.weight"), h);
            v[t] = matmul(m.tensor(p + "attn_v.weight"), h);
        }
        // RoPE and causal attention, Self-Extend positions for distant keys.
        const Rows a = attention(q, k, v, shape);
        // Output projection, residual.
        for (size_t t = 0; t < n; ++t)
            add_to(x[t], matmul(m.tensor(p + "attn_output.weight"), a[t]));
        // FFN RMSNorm, GeGLU: down(gelu_tanh(gate h) * up h), residual.
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "ffn_norm.weight"), eps);
            const Vector gate = matmul(m.tensor(p + "ffn_gate.weight"), h);
            const Vector up = matmul(m.tensor(p + "ffn_up.weight"), h);
            add_to(x[t], matmul(m.tensor(p + "ffn_down.weight"), gated(gate, up, gelu_tanh)));
        }
        record(residuals, x);
    }
    // Final RMSNorm, tied output.
    return logits_after_rms_norm(m, x, eps);
}

// Gemma 3 (../shared/REAL_MODELS.md): Gemma with RMSNorm of each q and k head, a second norm on
// the output of attention and of the FFN, and sliding-window layers (five of every six) that
// rotate with their own base; Self-Extend on the global layers only.
inline Rows forward_gemma3(const TinyModel& m, std::span<const int32_t> tokens, int group,
                           int window, LayerResiduals* residuals) {
    const size_t n = tokens.size();
    const double eps = m.norm_eps;
    Rows x = embed(m, tokens, std::sqrt(double(m.embedding_length)));
    for (int l = 0; l < m.block_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        // Local layers: a window of keys, base 1e4, no regrouping; global layers: every key,
        // the file's base, Self-Extend.
        AttentionShape shape = shape_of(m, RopeLayout::HalfSplit, group, window);
        if (m.is_local(l)) {
            shape.key_window = m.sliding_window;
            shape.rope_base = m.rope_freq_base_local;
            shape.group = 1;
            shape.window = 0;
        }
        // Attention RMSNorm, the q, k, v projections, RMSNorm of each q and k head.
        Rows q(n), k(n), v(n);
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "attn_norm.weight"), eps);
            q[t] = rms_norm_per_head(matmul(m.tensor(p + "attn_q.weight"), h),
                                     m.tensor(p + "attn_q_norm.weight"), eps);
            k[t] = rms_norm_per_head(matmul(m.tensor(p + "attn_k.weight"), h),
                                     m.tensor(p + "attn_k_norm.weight"), eps);
            v[t] = matmul(m.tensor(p + "attn_v.weight"), h);
        }
        // RoPE and attention.
        const Rows a = attention(q, k, v, shape);
        // Output projection, post-attention RMSNorm, residual.
        for (size_t t = 0; t < n; ++t)
            add_to(x[t], rms_norm(matmul(m.tensor(p + "attn_output.weight"), a[t]),
                                  m.tensor(p + "post_attention_norm.weight"), eps));
        // FFN RMSNorm, GeGLU, post-FFN RMSNorm, residual.
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "ffn_norm.weight"), eps);
            const Vector gate = matmul(m.tensor(p + "ffn_gate.weight"), h);
            const Vector up = matmul(m.tensor(p + "ffn_up.weight"), h);
            add_to(x[t],
                   rms_norm(matmul(m.tensor(p + "ffn_down.weight"), gated(gate, up, gelu_tanh)),
                            m.tensor(p + "post_ffw_norm.weight"), eps));
        }
        record(residuals, x);
    }
    // Final RMSNorm, tied output.
    return logits_after_rms_norm(m, x, eps);
}

// Phi-2: LayerNorm with bias, attention and MLP side by side on the same normed input
// (x += attn(ln x) + mlp(ln x)), biases on every projection, RoPE on the first rope dims only
// (half-split), MLP down(gelu_tanh(up h + b) ) + b, output LayerNorm and a biased output head.
// q, k, v come from one fused attn_qkv tensor or three separate ones.
inline Rows forward_phi2(const TinyModel& m, std::span<const int32_t> tokens, int group, int window,
                         LayerResiduals* residuals) {
    const size_t n = tokens.size();
    const double eps = m.norm_eps;
    const AttentionShape shape = shape_of(m, RopeLayout::HalfSplit, group, window);
    const int64_t qd = int64_t(m.head_count) * m.head_dim;
    const int64_t kvd = int64_t(m.head_count_kv) * m.head_dim;
    Rows x = embed(m, tokens, 1.0);
    for (int l = 0; l < m.block_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        // LayerNorm, then q, k, v with their biases.
        Rows h(n), q(n), k(n), v(n);
        for (size_t t = 0; t < n; ++t) {
            h[t] = layer_norm(x[t], m.tensor(p + "attn_norm.weight"),
                              m.tensor(p + "attn_norm.bias"), eps);
            if (const TinyTensor* qkv = m.find(p + "attn_qkv.weight")) {
                const TinyTensor& b = m.tensor(p + "attn_qkv.bias");
                q[t] = plus_bias(matmul(*qkv, h[t], 0, qd), b, 0);
                k[t] = plus_bias(matmul(*qkv, h[t], qd, kvd), b, qd);
                v[t] = plus_bias(matmul(*qkv, h[t], qd + kvd, kvd), b, qd + kvd);
            } else {
                q[t] = plus_bias(matmul(m.tensor(p + "attn_q.weight"), h[t]),
                                 m.tensor(p + "attn_q.bias"));
                k[t] = plus_bias(matmul(m.tensor(p + "attn_k.weight"), h[t]),
                                 m.tensor(p + "attn_k.bias"));
                v[t] = plus_bias(matmul(m.tensor(p + "attn_v.weight"), h[t]),
                                 m.tensor(p + "attn_v.bias"));
            }
        }
        // Partial RoPE and causal attention, Self-Extend positions for distant keys.
        const Rows a = attention(q, k, v, shape);
        for (size_t t = 0; t < n; ++t) {
            // Output projection with bias.
            const Vector attn_out = plus_bias(matmul(m.tensor(p + "attn_output.weight"), a[t]),
                                              m.tensor(p + "attn_output.bias"));
            // MLP on the same normed input: down(gelu_tanh(up h + b)) + b.
            Vector up =
                plus_bias(matmul(m.tensor(p + "ffn_up.weight"), h[t]), m.tensor(p + "ffn_up.bias"));
            for (double& u : up) u = gelu_tanh(u);
            const Vector mlp_out = plus_bias(matmul(m.tensor(p + "ffn_down.weight"), up),
                                             m.tensor(p + "ffn_down.bias"));
            // Both onto the residual stream.
            add_to(x[t], attn_out);
            add_to(x[t], mlp_out);
        }
        record(residuals, x);
    }
    // Output LayerNorm, output head with bias.
    Rows logits;
    for (size_t t = 0; t < n; ++t) {
        const Vector h =
            layer_norm(x[t], m.tensor("output_norm.weight"), m.tensor("output_norm.bias"), eps);
        logits.push_back(plus_bias(matmul(m.tensor("output.weight"), h), m.tensor("output.bias")));
    }
    return logits;
}

// Phi-3: Llama with half-split RoPE, one fused attn_qkv (q rows, k rows, v rows) and one fused
// ffn_up (gate rows, then up rows).
inline Rows forward_phi3(const TinyModel& m, std::span<const int32_t> tokens, int group, int window,
                         LayerResiduals* residuals) {
    const size_t n = tokens.size();
    const double eps = m.norm_eps;
    const AttentionShape shape = shape_of(m, RopeLayout::HalfSplit, group, window);
    const int64_t qd = int64_t(m.head_count) * m.head_dim;
    const int64_t kvd = int64_t(m.head_count_kv) * m.head_dim;
    const int64_t ffn = m.feed_forward_length;
    Rows x = embed(m, tokens, 1.0);
    for (int l = 0; l < m.block_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        // Attention RMSNorm, then q, k, v from the fused tensor.
        Rows q(n), k(n), v(n);
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "attn_norm.weight"), eps);
            const TinyTensor& qkv = m.tensor(p + "attn_qkv.weight");
            q[t] = matmul(qkv, h, 0, qd);
            k[t] = matmul(qkv, h, qd, kvd);
            v[t] = matmul(qkv, h, qd + kvd, kvd);
        }
        // RoPE and causal attention, Self-Extend positions for distant keys.
        const Rows a = attention(q, k, v, shape);
        // Output projection, residual.
        for (size_t t = 0; t < n; ++t)
            add_to(x[t], matmul(m.tensor(p + "attn_output.weight"), a[t]));
        // FFN RMSNorm, SwiGLU from the fused gate/up tensor, residual.
        for (size_t t = 0; t < n; ++t) {
            const Vector h = rms_norm(x[t], m.tensor(p + "ffn_norm.weight"), eps);
            const Vector gate = matmul(m.tensor(p + "ffn_up.weight"), h, 0, ffn);
            const Vector up = matmul(m.tensor(p + "ffn_up.weight"), h, ffn, ffn);
            add_to(x[t], matmul(m.tensor(p + "ffn_down.weight"), gated(gate, up, silu)));
        }
        record(residuals, x);
    }
    // Final RMSNorm, output head.
    return logits_after_rms_norm(m, x, eps);
}

}  // namespace reference_detail

// The logits of every token [n][vocab] of one prefill of `tokens`, under Self-Extend with group
// `group` and neighbour window `window` (group 1: vanilla attention). When residual_after_layer
// is given it receives the residual stream after each layer, [layer][token][embedding].
inline std::vector<std::vector<double>> reference_logits(
    const TinyModel& model, std::span<const int32_t> tokens, int group, int window,
    LayerResiduals* residual_after_layer = nullptr) {
    using namespace reference_detail;
    if (group < 1 || (group > 1 && window < 1))
        throw std::runtime_error("reference: bad Self-Extend setting");
    if (residual_after_layer) residual_after_layer->clear();
    const std::string& a = model.architecture;
    if (a == "llama") return forward_llama(model, tokens, group, window, residual_after_layer);
    if (a == "qwen2") return forward_qwen2(model, tokens, group, window, residual_after_layer);
    if (a == "gemma") return forward_gemma(model, tokens, group, window, residual_after_layer);
    if (a == "gemma3") return forward_gemma3(model, tokens, group, window, residual_after_layer);
    if (a == "phi2") return forward_phi2(model, tokens, group, window, residual_after_layer);
    if (a == "phi3") return forward_phi3(model, tokens, group, window, residual_after_layer);
    throw std::runtime_error("reference: no forward pass for architecture " + a);
}

}  // namespace testing
