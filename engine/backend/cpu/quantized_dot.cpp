#include "backend/cpu/quantized_dot.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/integer_dot.h"

namespace selfextend::cpu {

namespace {

// ----- blocks of 32 ------------------------------------------------------------------------------
// Every legacy type is value = d * code + offset with unsigned codes (Q8_0 aside, signed), so a
// block's dot product is d * sx * sum(code * qx) + offset * sx * sum(qx): one integer dot and the
// activation block's precomputed sum. Two accumulators, so that consecutive blocks do not wait on
// each other's multiply-add.

struct LegacyCodes {
    i16x32 codes;
    float d;
    float offset;  // added to every value: a min, or -d times the code of zero
};

LegacyCodes codes_of(const BlockQ4_0& b) {
    const float d = half_value(b.scale);
    return {unpack_nibbles(b.q), d, -8.0f * d};
}

LegacyCodes codes_of(const BlockQ4_1& b) {
    return {unpack_nibbles(b.q), half_value(b.scale), half_value(b.min)};
}

uint32_t high_bits_of(const uint8_t (&bytes)[4]) {
    uint32_t bits;
    std::memcpy(&bits, bytes, sizeof bits);  // little-endian, as stored
    return bits;
}

LegacyCodes codes_of(const BlockQ5_0& b) {
    const float d = half_value(b.scale);
    return {unpack_nibbles(b.q) | bits_to_lanes(high_bits_of(b.high_bits), 16), d, -16.0f * d};
}

LegacyCodes codes_of(const BlockQ5_1& b) {
    return {unpack_nibbles(b.q) | bits_to_lanes(high_bits_of(b.high_bits), 16), half_value(b.scale),
            half_value(b.min)};
}

// One block's share: its products (in lanes) and its offset term.
template <typename Block>
inline void accumulate_block(const Block& block, const Int16Activations& x, int64_t b, f32x16& acc,
                             float& offsets) {
    const LegacyCodes c = codes_of(block);
    acc += chunk_dot(c.codes, &x.q[size_t(32 * b)]) * (c.d * x.scale[size_t(b)]);
    offsets += c.offset * x.sum[size_t(b)];
}

template <typename Block>
float dot_legacy(const uint8_t* row, const Int16Activations& x, int64_t cols) {
    const auto* w = reinterpret_cast<const Block*>(row);
    const int64_t blocks = cols / kLegacyBlock;
    f32x16 acc0{}, acc1{};
    float offsets0 = 0, offsets1 = 0;
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        prefetch_ahead(&w[b], 2 * sizeof(Block));
        accumulate_block(w[b], x, b, acc0, offsets0);
        accumulate_block(w[b + 1], x, b + 1, acc1, offsets1);
    }
    if (b < blocks) accumulate_block(w[b], x, b, acc0, offsets0);
    return sum_lanes(acc0 + acc1) + (offsets0 + offsets1);
}

float dot_q8_0(const uint8_t* row, const Int16Activations& x, int64_t cols) {
    const auto* w = reinterpret_cast<const BlockQ8_0*>(row);
    const int64_t blocks = cols / kQ8_0Block;
    auto block = [&](int64_t b) {
        return chunk_dot(load_vector<i8x32>(w[b].q), &x.q[size_t(32 * b)]) *
               (half_value(w[b].scale) * x.scale[size_t(b)]);
    };
    f32x16 acc0{}, acc1{};
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        prefetch_ahead(&w[b], 2 * sizeof(BlockQ8_0));
        acc0 += block(b);
        acc1 += block(b + 1);
    }
    if (b < blocks) acc0 += block(b);
    return sum_lanes(acc0 + acc1);
}

// ----- super-blocks of 256 -----------------------------------------------------------------------
// The activations come in one block of 256 per super-block (one float scale), so a super-block's
// products are summed in integers: each chunk's codes, widened to 16 bits, are multiplied by their
// small integer sub-block scale, then multiply-added with the activations into 32-bit lanes. One
// conversion to float per accumulator and super-block. The min or offset terms are one 8- or
// 16-lane float product with the activation sums.
//
// Overflow: a lane sums 2 products per chunk, each at most |code x scale| x 32767. Q4_K and Q5_K:
// 31 x 63 x 32767 x 2 = 1.3e8 per chunk, 4 chunks per accumulator: 5.1e8. Q6_K: 63 x 128 x 32767
// x 2 = 5.3e8 per chunk, 4 chunks: 2.11e9, under 2^31 = 2.147e9. Q2_K and Q3_K: far less.

constexpr int kChunks = kSuperBlock / 32;

// Q4_K and Q5_K: sub-blocks of 32, value = d * scale * code - dmin * min.
template <typename Block, bool kFifthBit>
float dot_k_32(const uint8_t* row, const Int16Activations& x, int64_t cols) {
    const auto* w = reinterpret_cast<const Block*>(row);
    f32x16 acc{};
    f32x8 mins{};
    for (int64_t s = 0; s < cols / kSuperBlock; ++s) {
        const Block& block = w[s];
        prefetch_ahead(&block, sizeof block);
        const size_t c0 = size_t(s * kChunks);  // first chunk of 32 activations
        const KScalesMins sm = k_quant_scales_mins(block.scales);
        mins += to_floats(load_vector<u8x8>(sm.min)) * half_value(block.min_scale) *
                load_vector<f32x8>(&x.sum[c0]);
        i32x16 sum0{}, sum1{};  // chunks 2p and 2p + 1
        for (int pair = 0; pair < kChunks / 2; ++pair) {
            const u8x32 packed = load_vector<u8x32>(block.q + 32 * pair);
            u8x32 low = packed & 0x0f, high = bits_down(packed, 4) & 0x0f;
            if constexpr (kFifthBit) {
                const u8x32 bits = load_vector<u8x32>(block.high_bits);
                low |= select_bit(bits, uint8_t(1u << (2 * pair)), 16);
                high |= select_bit(bits, uint8_t(2u << (2 * pair)), 16);
            }
            const size_t c = c0 + size_t(2 * pair);
            sum0 = add_dot_pairs(sum0, widen(low) * int16_t(sm.scale[2 * pair]),
                                 load_vector<i16x32>(&x.q[32 * c]));
            sum1 = add_dot_pairs(sum1, widen(high) * int16_t(sm.scale[2 * pair + 1]),
                                 load_vector<i16x32>(&x.q[32 * (c + 1)]));
        }
        acc += to_floats(sum0 + sum1) * (half_value(block.scale) * x.scale[size_t(s)]);
    }
    return sum_lanes(acc) - sum_lanes(mins);
}

// Q2_K, Q3_K and Q6_K: sub-blocks of 16, value = d * scale[v / 16] * code - offset[v / 16].
struct SubBlocks16 {
    int16_t scale[16];  // integer sub-block scales
    float d;            // the super-block's float scale
    f32x16 offset;      // per sub-block, in value units
};

SubBlocks16 q6_k_sub_blocks(const BlockQ6_K& block) {
    SubBlocks16 sub;
    for (int i = 0; i < 16; ++i) sub.scale[i] = block.scales[i];
    sub.d = half_value(block.scale);
    sub.offset = to_floats(load_vector<i8x16>(block.scales)) * (32.0f * sub.d);  // codes 0..63
    return sub;                                                                  // for -32..31
}

SubBlocks16 q3_k_sub_blocks(const BlockQ3_K& block) {
    uint8_t packed[16];
    q3_k_scales(block.scales, packed);
    SubBlocks16 sub;
    for (int i = 0; i < 16; ++i) sub.scale[i] = int16_t(packed[i] - 32);
    sub.d = half_value(block.scale);
    sub.offset = (to_floats(load_vector<u8x16>(packed)) - 32.0f) * (4.0f * sub.d);  // codes 0..7
    return sub;                                                                     // for -4..3
}

void q3_k_codes(const BlockQ3_K& block, u8x32 (&out)[kChunks]) {
    const u8x32 high_bits = load_vector<u8x32>(block.high_bits);
    for (int half = 0; half < 2; ++half) {
        const u8x32 packed = load_vector<u8x32>(block.q + 32 * half);
        for (int g = 0; g < 4; ++g)
            out[4 * half + g] = (bits_down(packed, 2 * g) & 3) |
                                select_bit(high_bits, uint8_t(1u << (4 * half + g)), 4);
    }
}

SubBlocks16 q2_k_sub_blocks(const BlockQ2_K& block) {
    const u8x16 packed = load_vector<u8x16>(block.scales);
    SubBlocks16 sub;
    for (int i = 0; i < 16; ++i) sub.scale[i] = int16_t(packed[i] & 0x0f);
    sub.d = half_value(block.scale);
    sub.offset = to_floats(u8x16(packed >> 4)) * half_value(block.min_scale);
    return sub;
}

void q2_k_codes(const BlockQ2_K& block, u8x32 (&out)[kChunks]) {
    for (int half = 0; half < 2; ++half) {
        const u8x32 packed = load_vector<u8x32>(block.q + 32 * half);
        for (int g = 0; g < 4; ++g) out[4 * half + g] = bits_down(packed, 2 * g) & 3;
    }
}

// kScales decodes a super-block's sub-block scales and offsets, kCodes its 8 chunks of codes.
template <typename Block, SubBlocks16 (*kScales)(const Block&),
          void (*kCodes)(const Block&, u8x32 (&)[kChunks])>
float dot_k_16(const uint8_t* row, const Int16Activations& x, int64_t cols) {
    const auto* w = reinterpret_cast<const Block*>(row);
    f32x16 acc{}, offsets{};
    for (int64_t s = 0; s < cols / kSuperBlock; ++s) {
        const Block& block = w[s];
        prefetch_ahead(&block, sizeof block);
        const size_t c0 = size_t(s * kChunks);
        const SubBlocks16 sub = kScales(block);
        offsets += sub.offset * load_vector<f32x16>(&x.half_sum[2 * c0]);
        u8x32 codes[kChunks];
        kCodes(block, codes);
        auto chunk = [&](i32x16 sum, int j) {
            return add_dot_pairs(sum,
                                 widen(codes[j]) * halves(sub.scale[2 * j], sub.scale[2 * j + 1]),
                                 load_vector<i16x32>(&x.q[32 * (c0 + size_t(j))]));
        };
        i32x16 sum0{}, sum1{};  // even and odd chunks: 4 each (the overflow note above)
        for (int j = 0; j < kChunks; j += 2) {
            sum0 = chunk(sum0, j);
            sum1 = chunk(sum1, j + 1);
        }
        acc += (to_floats(sum0) + to_floats(sum1)) * (sub.d * x.scale[size_t(s)]);
    }
    return sum_lanes(acc) - sum_lanes(offsets);
}

}  // namespace

void Int16Activations::quantize(const float* x, int64_t n, int64_t block, int16_t limit) {
    q.resize(size_t(n));
    scale.resize(size_t(n / block));
    sum.resize(size_t(n / 32));
    half_sum.resize(size_t(n / 16));
    for (int64_t b = 0; b < n / block; ++b) {
        const float* v = x + b * block;
        float amax = 0;
        for (int64_t k = 0; k < block; ++k) amax = std::max(amax, std::fabs(v[k]));
        const float inverse = amax > 0 ? float(limit) / amax : 0.0f;
        const float s = amax / float(limit);
        scale[size_t(b)] = s;
        for (int64_t h = b * block / 16; h < (b + 1) * block / 16; ++h) {  // halves of 32 values
            int total = 0;
            for (int64_t k = 16 * h; k < 16 * h + 16; ++k) {
                const int rounded =
                    std::clamp(int(std::nearbyint(x[k] * inverse)), -int(limit), int(limit));
                q[size_t(k)] = int16_t(rounded);
                total += rounded;
            }
            half_sum[size_t(h)] = s * float(total);
        }
    }
    for (int64_t c = 0; c < n / 32; ++c)
        sum[size_t(c)] = half_sum[size_t(2 * c)] + half_sum[size_t(2 * c + 1)];
}

QuantizedRowDot quantized_row_dot(DType type) {
    switch (type) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
            return nullptr;
        case DType::Q4_0:
            return dot_legacy<BlockQ4_0>;
        case DType::Q4_1:
            return dot_legacy<BlockQ4_1>;
        case DType::Q5_0:
            return dot_legacy<BlockQ5_0>;
        case DType::Q5_1:
            return dot_legacy<BlockQ5_1>;
        case DType::Q8_0:
            return dot_q8_0;
        case DType::Q2_K:
            return dot_k_16<BlockQ2_K, q2_k_sub_blocks, q2_k_codes>;
        case DType::Q3_K:
            return dot_k_16<BlockQ3_K, q3_k_sub_blocks, q3_k_codes>;
        case DType::Q4_K:
            return dot_k_32<BlockQ4_K, false>;
        case DType::Q5_K:
            return dot_k_32<BlockQ5_K, true>;
        case DType::Q6_K:
            return dot_k_16<BlockQ6_K, q6_k_sub_blocks, q6_k_codes>;
    }
    return nullptr;
}

}  // namespace selfextend::cpu
