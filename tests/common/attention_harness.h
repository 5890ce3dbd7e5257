// The CPU attention kernel driven from a float64 AttentionProblem (attention_reference.h): the
// problem's keys and values stored in a one-layer KV cache of any type, the problem as that cache
// really holds it (decoded here, independently of the engine), and one call of cpu::attention for
// a range of query rows, with the attention mass collected or not. Shared by the attention and
// attention-mass tests.
#pragma once

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "attention_reference.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/kv_cache.h"
#include "backend/cpu/thread_pool.h"

namespace testing {

// RoPE as the problem applies it (all dimensions, or its first rope_pairs pairs).
inline std::vector<double> rotate(const AttentionProblem& p, const double* x, int64_t position) {
    return rope_rotate(x, p.head_dim, position, p.rope_pairs);
}

// IEEE half to double: sign, 5-bit exponent (bias 15), 10-bit mantissa, subnormals.
inline double half_value(uint16_t h) {
    const int exponent = (h >> 10) & 0x1f;
    const int mantissa = h & 0x3ff;
    const double magnitude = exponent == 0 ? std::ldexp(double(mantissa), -24)
                                           : std::ldexp(double(1024 + mantissa), exponent - 25);
    return (h & 0x8000) ? -magnitude : magnitude;
}

// One stored row of `d` values read back: F32 as is, F16 halves, Q8_0 blocks of scale * q.
inline std::vector<double> decode_row(selfextend::KvType type, const std::byte* row, int d) {
    std::vector<double> out(static_cast<size_t>(d));
    for (int x = 0; x < d; ++x) {
        switch (type) {
            case selfextend::KvType::F32: {
                float f;
                std::memcpy(&f, row + x * 4, 4);
                out[size_t(x)] = f;
                break;
            }
            case selfextend::KvType::F16: {
                uint16_t h;
                std::memcpy(&h, row + x * 2, 2);
                out[size_t(x)] = half_value(h);
                break;
            }
            case selfextend::KvType::Q8_0: {
                const std::byte* block = row + (x / 32) * 34;  // f16 scale, 32 signed bytes
                uint16_t scale;
                std::memcpy(&scale, block, 2);
                out[size_t(x)] =
                    half_value(scale) * double(std::bit_cast<int8_t>(block[2 + x % 32]));
                break;
            }
        }
    }
    return out;
}

inline size_t row_bytes(selfextend::KvType type, int d) {
    return type == selfextend::KvType::F32   ? size_t(d) * 4
           : type == selfextend::KvType::F16 ? size_t(d) * 2
                                             : d / 32 * 34;
}

// A problem's keys and values put into a one-layer cache of `type`, as a session stores them:
// keys rotated at their own position j, and for Self-Extend (G > 1) also at their grouped
// position j / G; and the problem as the cache really holds it: each key copy decoded and turned
// back to position 0, values decoded. The reference of that problem is what the kernel must
// compute from this cache.
struct CachedProblem {
    selfextend::cpu::KvCache cache;
    AttentionProblem held;

    CachedProblem(const AttentionProblem& p, selfextend::KvType type)
        : cache(1, p.kv_heads, p.head_dim, p.n, type, {p.G > 1}), held(p) {
        using selfextend::cpu::KvCache;
        const int d = p.head_dim;
        // Stores row j of KV head h (a key rotated to `position`, or a value) as `part`; returns
        // it as the cache holds it, a key turned back to position 0.
        const auto store = [&](KvCache::Part part, const std::vector<double>& rows, int j, int h,
                               int64_t position) {
            const size_t at = size_t((j * p.kv_heads + h) * d);
            const auto raw = part == KvCache::kValues
                                 ? std::vector<double>(&rows[at], &rows[at] + d)
                                 : rotate(p, &rows[at], position);
            const std::vector<float> row(raw.begin(), raw.end());
            cache.store(0, part, h, j, row.data());
            const auto stored =
                decode_row(type, cache.block(0, part, h) + size_t(j) * row_bytes(type, d), d);
            return part == KvCache::kValues ? stored : rotate(p, stored.data(), -position);
        };
        if (p.G > 1) held.k_grouped = p.k;
        for (int j = 0; j < p.n; ++j)
            for (int h = 0; h < p.kv_heads; ++h) {
                const auto at = std::ptrdiff_t((j * p.kv_heads + h) * d);
                const auto key = store(KvCache::kKeys, p.k, j, h, j);
                std::copy(key.begin(), key.end(), held.k.begin() + at);
                if (p.G > 1) {
                    const auto grouped = store(KvCache::kGroupedKeys, p.k, j, h, j / p.G);
                    std::copy(grouped.begin(), grouped.end(), held.k_grouped.begin() + at);
                }
                const auto value = store(KvCache::kValues, p.v, j, h, 0);
                std::copy(value.begin(), value.end(), held.v.begin() + at);
            }
    }
};

// Runs the kernel for queries [first, n) with all n keys cached; returns [n - first][heads][d].
// With `mass`, the kernel also adds each key's softmax probability into it.
inline std::vector<float> run_kernel(const AttentionProblem& p,
                                     const selfextend::cpu::KvCache& cache, int first,
                                     selfextend::cpu::ThreadPool& pool,
                                     const selfextend::cpu::AttentionMass* mass = nullptr) {
    using namespace selfextend;
    const int d = p.head_dim;
    const bool grouped = p.G > 1;
    const int count = p.n - first;
    std::vector<float> q(size_t(count * p.heads * d)), qg(q.size());
    for (int t = 0; t < count; ++t)
        for (int h = 0; h < p.heads; ++h) {
            const int i = first + t;
            const double* raw = &p.q[size_t((i * p.heads + h) * d)];
            const auto at_i = rotate(p, raw, i);
            const auto at_group = rotate(p, raw, grouped_query_position(i, p.G, p.W));
            for (int x = 0; x < d; ++x) {
                q[size_t((t * p.heads + h) * d + x)] = float(at_i[size_t(x)]);
                qg[size_t((t * p.heads + h) * d + x)] = float(at_group[size_t(x)]);
            }
        }
    std::vector<float> out(q.size());
    const cpu::AttentionShape shape{p.heads, p.kv_heads, d, p.key_window};
    const AttentionMode mode =
        grouped ? AttentionMode::self_extend(p.G, p.W) : AttentionMode::vanilla();
    // Through kernels(): the build SE_CPU_KERNELS names, else the one the CPU backend runs.
    cpu::kernels().attention(shape, mode, q.data(), grouped ? qg.data() : nullptr, cache.layer(0),
                             first, count, out.data(), pool, mass);
    return out;
}

}  // namespace testing
