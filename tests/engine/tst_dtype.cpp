// Element types: f16 and bf16 conversions against float64 computations from the bit fields
// (all 65536 values, round-to-nearest-even at every tie), the type table, and the quantized types
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K): blocks built by hand and random blocks against the
// float64 decoders of block_reference.h (dequantization exact), quantizers within their bounds.
#include <QtTest>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "block_reference.h"
#include "gguf/dtype.h"

using namespace selfextend;

namespace {

// ----- references, computed from the IEEE bit fields in double --------------------------------

// binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
double half_ref(uint16_t h) {
    const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double v;
    if (exponent == 0)
        v = std::ldexp(double(mantissa), -24);  // subnormal: m / 1024 * 2^-14
    else if (exponent == 31)
        v = mantissa ? std::numeric_limits<double>::quiet_NaN()
                     : std::numeric_limits<double>::infinity();
    else
        v = std::ldexp(double(1024 + mantissa), exponent - 25);  // (1 + m/1024) * 2^(e-15)
    return sign ? -v : v;
}

// bfloat16: 1 sign, 8 exponent (bias 127), 7 mantissa bits.
double bf16_ref(uint16_t h) {
    const int sign = h >> 15, exponent = (h >> 7) & 0xff, mantissa = h & 0x7f;
    double v;
    if (exponent == 0)
        v = std::ldexp(double(mantissa), -133);  // m / 128 * 2^-126
    else if (exponent == 255)
        v = mantissa ? std::numeric_limits<double>::quiet_NaN()
                     : std::numeric_limits<double>::infinity();
    else
        v = std::ldexp(double(128 + mantissa), exponent - 134);  // (1 + m/128) * 2^(e-127)
    return sign ? -v : v;
}

// Round-to-nearest-even of a float to a 16-bit format whose non-negative finite patterns
// 0..inf_pattern-1 are ordered by value: binary search for the neighbours, then pick the nearer,
// the even pattern on a tie. The infinity pattern stands for the next power of two, which gives
// IEEE overflow (to infinity from max + half an ulp on).
uint16_t round_ref(float f, double (*decode)(uint16_t), uint16_t inf_pattern, double inf_as) {
    const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    const double a = std::fabs(double(f));
    auto value = [&](uint32_t p) { return p == inf_pattern ? inf_as : decode(uint16_t(p)); };
    if (a >= inf_as) return uint16_t(sign | inf_pattern);
    uint32_t lo = 0, hi = inf_pattern;  // value(lo) <= a < value(hi)
    while (hi - lo > 1) {
        const uint32_t mid = (lo + hi) / 2;
        (value(mid) <= a ? lo : hi) = mid;
    }
    const double below = a - value(lo), above = value(hi) - a;
    uint32_t p;
    if (below < above)
        p = lo;
    else if (above < below)
        p = hi;
    else
        p = (lo % 2 == 0) ? lo : hi;
    return uint16_t(sign | p);
}

uint16_t half_round_ref(float f) {
    return round_ref(f, half_ref, 0x7c00, 65536.0);
}
uint16_t bf16_round_ref(float f) {
    return round_ref(f, bf16_ref, 0x7f80, std::ldexp(1.0, 128));
}

bool same_double(double a, double b) {
    return a == b && std::signbit(a) == std::signbit(b);
}

QString hex(uint32_t v) {
    return QString("0x%1").arg(v, 4, 16, QChar('0'));
}

// Float samples: a stride through all 2^32 patterns, plus the values around every tie.
template <typename F>
void for_sampled_floats(F&& f) {
    for (uint64_t bits = 0; bits < (uint64_t(1) << 32); bits += 4099)
        f(std::bit_cast<float>(uint32_t(bits)));
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(uint8_t(v & 0xff));  // little-endian, as in the file
    out.push_back(uint8_t(v >> 8));
}

// Test inputs in blocks of 32 of varied magnitude (1e-3 .. 1e3) and shape: uniform, an outlier,
// all positive, all negative, constant, and an all-zero block.
std::vector<float> test_values(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    std::vector<float> x(n);
    for (size_t b = 0; b < n / 32; ++b) {
        const float magnitude = std::pow(10.0f, float(int(rng() % 7) - 3));
        for (size_t k = 0; k < 32; ++k) {
            float v = uni(rng) * magnitude;
            if (b % 7 == 1 && k == 9) v = -30 * magnitude;
            if (b % 7 == 2) v = std::fabs(v) + magnitude;
            if (b % 7 == 3) v = -std::fabs(v) - 0.5f * magnitude;
            if (b % 7 == 4) v = magnitude;
            if (b % 7 == 5) v = 0;
            x[b * 32 + k] = v;
        }
    }
    return x;
}

// The engine's dequantization of quantized data equals the float64 reference, rounded once.
void check_engine_matches_reference(DType type, const std::vector<uint8_t>& q, size_t n) {
    const std::vector<double> want =
        testing::reference_dequantize(uint32_t(type), q.data(), int64_t(n));
    std::vector<float> got(n);
    dtype_traits(type).dequantize_row(q.data(), got.data(), int64_t(n));
    for (size_t k = 0; k < n; ++k)
        QVERIFY2(double(got[k]) == double(float(want[k])), qPrintable(QString::number(k)));
}

// The code step of the k-quant sub-block holding value v of a super-block: d times the
// sub-block's integer scale (its magnitude), read through the reference layout.
double decoded_step(DType type, const uint8_t* p, int v) {
    using namespace testing::layout;
    switch (type) {
        case DType::Q2_K:
            return testing::read_f16(p + 80) * (p[v / 16] & 15);
        case DType::Q3_K:
            return testing::read_f16(p + 108) * std::abs(scale_q3_k(p + 96, v / 16) - 32);
        case DType::Q4_K:
        case DType::Q5_K: {
            int scale, min;
            scale_min_k(p + 4, v / 32, scale, min);
            return testing::read_f16(p) * scale;
        }
        case DType::Q6_K:
            return testing::read_f16(p + 208) * std::abs(int(int8_t(p[192 + v / 16])));
        default:
            return NAN;
    }
}

// How much coarser than needed a sub-block's step may be: one unit d of the integer scales,
// plus, for the types with mins, the overshoot of a min rounded up (one dmin unit, spread over
// the codes).
double step_allowance(DType type, const uint8_t* p, int max_code) {
    switch (type) {
        case DType::Q2_K:
            return testing::read_f16(p + 80) + testing::read_f16(p + 82) / max_code;
        case DType::Q3_K:
            return testing::read_f16(p + 108);
        case DType::Q4_K:
        case DType::Q5_K:
            return testing::read_f16(p) + testing::read_f16(p + 2) / max_code;
        case DType::Q6_K:
            return testing::read_f16(p + 208);
        default:
            return NAN;
    }
}

}  // namespace

class TestDtype : public QObject {
    Q_OBJECT
  private slots:
    void halfToFloatAllValues() {
        int nans = 0;
        for (uint32_t h = 0; h < 65536; ++h) {
            const double want = half_ref(uint16_t(h));
            const float got = half_to_float(uint16_t(h));
            if (std::isnan(want)) {
                QVERIFY2(std::isnan(got), qPrintable(hex(h)));
                QCOMPARE(std::signbit(got), bool(h & 0x8000));
                ++nans;
                continue;
            }
            QVERIFY2(same_double(double(got), want), qPrintable(QString("%1: %2 != %3")
                                                                    .arg(hex(h))
                                                                    .arg(double(got), 0, 'g', 17)
                                                                    .arg(want, 0, 'g', 17)));
        }
        QCOMPARE(nans, 2 * 1023);
        // Landmarks.
        QCOMPARE(half_to_float(0x3C00), 1.0f);
        QCOMPARE(half_to_float(0x7BFF), 65504.0f);
        QCOMPARE(half_to_float(0x0001), std::ldexp(1.0f, -24));
        QCOMPARE(half_to_float(0x0400), std::ldexp(1.0f, -14));
        QCOMPARE(half_to_float(0xC000), -2.0f);
        QVERIFY(std::isinf(half_to_float(0xFC00)) && half_to_float(0xFC00) < 0);
    }

    void halfRoundTripsAllValues() {
        for (uint32_t h = 0; h < 65536; ++h) {
            const uint16_t back = float_to_half(half_to_float(uint16_t(h)));
            if (std::isnan(half_ref(uint16_t(h)))) {
                QVERIFY2((back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0,
                         qPrintable(hex(h) + " -> " + hex(back)));
                QCOMPARE(back & 0x8000, h & 0x8000);
            } else {
                QVERIFY2(back == h, qPrintable(hex(h) + " -> " + hex(back)));
            }
        }
    }

    void floatToHalfRoundsToNearestEven() {
        int checked = 0;
        QStringList failures;
        auto check = [&](float f) {
            if (std::isnan(f)) return;
            ++checked;
            const uint16_t want = half_round_ref(f), got = float_to_half(f);
            if (want != got && failures.size() < 20)
                failures << QString("%1 (0x%2): got %3, want %4")
                                .arg(double(f), 0, 'g', 10)
                                .arg(std::bit_cast<uint32_t>(f), 8, 16, QChar('0'))
                                .arg(hex(got), hex(want));
        };
        for_sampled_floats(check);
        // Every tie between neighbouring halves, and one float ulp to either side of it.
        for (uint32_t p = 0; p < 0x7c00; ++p) {
            const double next = p + 1 == 0x7c00 ? 65536.0 : half_ref(uint16_t(p + 1));
            const float mid = float((half_ref(uint16_t(p)) + next) / 2);  // exact: 12 bits
            for (const float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f)}) {
                check(f);
                check(-f);
            }
        }
        for (const float f :
             {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 1e10f,
              std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
              std::numeric_limits<float>::denorm_min(), std::ldexp(1.0f, -25),
              std::ldexp(1.0f, -25) * 1.0000001f, std::ldexp(1.0f, -26)})
            check(f);
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
        QVERIFY(checked > 1'000'000);
        // Spot values worked out by hand.
        QCOMPARE(float_to_half(65520.0f), uint16_t(0x7C00));  // tie above the max: to infinity
        QCOMPARE(float_to_half(65519.0f), uint16_t(0x7BFF));
        QCOMPARE(float_to_half(std::ldexp(1.0f, -25)), uint16_t(0x0000));  // tie: to even (0)
        QCOMPARE(float_to_half(std::ldexp(3.0f, -25)), uint16_t(0x0002));  // 1.5 ulp: to even (2)
        QCOMPARE(float_to_half(1.0f + std::ldexp(1.0f, -11)), uint16_t(0x3C00));  // tie: to even
        QCOMPARE(float_to_half(1.0f + std::ldexp(3.0f, -11)), uint16_t(0x3C02));
        QCOMPARE(float_to_half(-0.0f), uint16_t(0x8000));
        const uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
        QVERIFY((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0);
        const uint16_t low_payload_nan = float_to_half(std::bit_cast<float>(0x7f800001u));
        QVERIFY((low_payload_nan & 0x7c00) == 0x7c00 &&
                (low_payload_nan & 0x3ff) != 0);  // not infinity
    }

    void bf16AllValues() {
        for (uint32_t h = 0; h < 65536; ++h) {
            const double want = bf16_ref(uint16_t(h));
            const float got = bf16_to_float(uint16_t(h));
            const uint16_t back = float_to_bf16(got);
            if (std::isnan(want)) {
                QVERIFY2(std::isnan(got), qPrintable(hex(h)));
                QVERIFY2((back & 0x7f80) == 0x7f80 && (back & 0x7f) != 0,
                         qPrintable(hex(h) + " -> " + hex(back)));
                QCOMPARE(back & 0x8000, h & 0x8000);
                continue;
            }
            QVERIFY2(same_double(double(got), want), qPrintable(hex(h)));
            QVERIFY2(back == h, qPrintable(hex(h) + " -> " + hex(back)));
        }
    }

    void floatToBf16RoundsToNearestEven() {
        int checked = 0;
        QStringList failures;
        auto check = [&](float f) {
            if (std::isnan(f)) {
                const uint16_t got = float_to_bf16(f);
                if ((got & 0x7f80) != 0x7f80 || (got & 0x7f) == 0)
                    failures << "NaN became " + hex(got);
                return;
            }
            ++checked;
            const uint16_t want = bf16_round_ref(f), got = float_to_bf16(f);
            if (want != got && failures.size() < 20)
                failures << QString("%1 (0x%2): got %3, want %4")
                                .arg(double(f), 0, 'g', 10)
                                .arg(std::bit_cast<uint32_t>(f), 8, 16, QChar('0'))
                                .arg(hex(got), hex(want));
        };
        for_sampled_floats(check);
        for (uint32_t p = 0; p < 0x7f80; p += 1) {
            const double next = p + 1 == 0x7f80 ? std::ldexp(1.0, 128) : bf16_ref(uint16_t(p + 1));
            const double mid_d = (bf16_ref(uint16_t(p)) + next) / 2;
            if (mid_d > std::numeric_limits<float>::max()) continue;
            const float mid = float(mid_d);  // exact: 9 bits
            for (const float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e38f)}) {
                check(f);
                check(-f);
            }
        }
        check(std::numeric_limits<float>::max());
        check(std::bit_cast<float>(0x7f800001u));  // signalling NaN with a low payload
        check(std::bit_cast<float>(0xffc00000u));
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
        QVERIFY(checked > 1'000'000);
        QCOMPARE(float_to_bf16(1.0f), uint16_t(0x3F80));
        QCOMPARE(float_to_bf16(std::bit_cast<float>(0x3F808000u)), uint16_t(0x3F80));  // tie: even
        QCOMPARE(float_to_bf16(std::bit_cast<float>(0x3F818000u)), uint16_t(0x3F82));  // tie: even
        QCOMPARE(float_to_bf16(std::bit_cast<float>(0x3F808001u)), uint16_t(0x3F81));
        QCOMPARE(float_to_bf16(std::numeric_limits<float>::max()), uint16_t(0x7F80));  // overflow
    }

    void typeTable() {
        struct Row {
            uint32_t raw;
            DType type;
            const char* name;
            int64_t block, bytes;
        };
        // GGUF numbers, names and block sizes of ggml's types.
        const std::vector<Row> rows = {
            Row{0, DType::F32, "F32", 1, 4},        Row{1, DType::F16, "F16", 1, 2},
            Row{2, DType::Q4_0, "Q4_0", 32, 18},    Row{3, DType::Q4_1, "Q4_1", 32, 20},
            Row{6, DType::Q5_0, "Q5_0", 32, 22},    Row{7, DType::Q5_1, "Q5_1", 32, 24},
            Row{8, DType::Q8_0, "Q8_0", 32, 34},    Row{10, DType::Q2_K, "Q2_K", 256, 84},
            Row{11, DType::Q3_K, "Q3_K", 256, 110}, Row{12, DType::Q4_K, "Q4_K", 256, 144},
            Row{13, DType::Q5_K, "Q5_K", 256, 176}, Row{14, DType::Q6_K, "Q6_K", 256, 210},
            Row{30, DType::BF16, "BF16", 1, 2}};
        QCOMPARE(supported_dtypes().size(), rows.size());
        QStringList names;
        for (size_t k = 0; k < rows.size(); ++k) {
            const Row& r = rows[k];
            const DTypeTraits* t = find_dtype(r.raw);
            QVERIFY(t);
            QCOMPARE(t, &dtype_traits(r.type));
            QCOMPARE(t, &supported_dtypes()[k]);
            QCOMPARE(t->type, r.type);
            QCOMPARE(QString::fromUtf8(t->name.data(), qsizetype(t->name.size())), QString(r.name));
            QCOMPARE(t->block_size, r.block);
            QCOMPARE(t->bytes_per_block, r.bytes);
            QVERIFY(t->dequantize_row && t->quantize_row);
            QCOMPARE(QString::fromUtf8(gguf_type_name(r.raw).data(),
                                       qsizetype(gguf_type_name(r.raw).size())),
                     QString(r.name));
            QCOMPARE(row_bytes(*t, 0), int64_t(0));
            QCOMPARE(row_bytes(*t, 2 * r.block), 2 * r.bytes);
            QCOMPARE(row_bytes(*t, 4096 * 3), 4096 * 3 / r.block * r.bytes);
            QCOMPARE(row_bytes(*t, -r.block), int64_t(-1));
            if (r.block > 1) {
                QCOMPARE(row_bytes(*t, r.block + 1), int64_t(-1));
                QCOMPARE(row_bytes(*t, 1), int64_t(-1));
                QCOMPARE(row_bytes(*t, r.block / 2), int64_t(-1));
            }
            names << r.name;
        }
        QCOMPARE(QString::fromStdString(supported_dtype_names()), names.join(", "));
        for (uint32_t raw : {4u, 5u, 9u, 15u, 16u, 20u, 23u, 24u, 28u, 29u, 31u, 99u, 0xFFFFFFFFu})
            QVERIFY(find_dtype(raw) == nullptr);
        auto name = [](uint32_t raw) {
            const std::string n = gguf_type_name(raw);
            return QString::fromUtf8(n.data(), qsizetype(n.size()));
        };
        // The GGUF numbering of the types the engine does not support.
        QCOMPARE(name(9), QString("Q8_1"));
        QCOMPARE(name(15), QString("Q8_K"));
        QCOMPARE(name(16), QString("IQ2_XXS"));
        QCOMPARE(name(20), QString("IQ4_NL"));
        QCOMPARE(name(23), QString("IQ4_XS"));
        QCOMPARE(name(24), QString("I8"));
        QCOMPARE(name(28), QString("F64"));
        QCOMPARE(name(29), QString("IQ1_M"));
        // dtype.h promises a name for any number: "type 99" for unknown ones.
        QCOMPARE(name(4), QString("type 4"));
        QCOMPARE(name(99), QString("type 99"));
        QCOMPARE(name(31), QString("type 31"));
    }

    void dequantizeFloatRows() {
        std::mt19937 rng(5);
        std::vector<uint8_t> f16, bf16;
        std::vector<uint16_t> halves;
        for (int k = 0; k < 4096; ++k) {
            uint16_t h;
            do h = uint16_t(rng());
            while (std::isnan(half_ref(h)));
            halves.push_back(h);
            put16(f16, h);
            put16(bf16, h);
        }
        std::vector<float> out(halves.size());
        find_dtype(1)->dequantize_row(f16.data(), out.data(), int64_t(out.size()));
        for (size_t k = 0; k < halves.size(); ++k)
            QVERIFY(same_double(double(out[k]), half_ref(halves[k])));
        find_dtype(30)->dequantize_row(bf16.data(), out.data(), int64_t(out.size()));
        for (size_t k = 0; k < halves.size(); ++k)
            if (!std::isnan(bf16_ref(halves[k])))
                QVERIFY(same_double(double(out[k]), bf16_ref(halves[k])));
        const std::vector<float> f32 = {1.5f, -0.0f, 3e38f, 1e-45f};
        std::vector<float> out32(4);
        find_dtype(0)->dequantize_row(f32.data(), out32.data(), 4);
        for (size_t k = 0; k < 4; ++k) QVERIFY(same_double(double(out32[k]), double(f32[k])));
    }

    void dequantizeQ8_0Blocks() {
        // Blocks laid out by hand: f16 scale (little-endian), then 32 int8 quants.
        std::mt19937 rng(8);
        const int blocks = 64;
        std::vector<uint8_t> bytes;
        std::vector<double> want;
        for (int b = 0; b < blocks; ++b) {
            uint16_t scale;
            if (b == 0)
                scale = 0x0000;  // zero
            else if (b == 1)
                scale = 0x8001;  // negative subnormal
            else if (b == 2)
                scale = 0x7BFF;  // 65504
            else
                do scale = uint16_t(rng());
                while ((scale & 0x7c00) == 0x7c00);  // any finite
            put16(bytes, scale);
            for (int k = 0; k < 32; ++k) {
                const int8_t q = (b == 3) ? int8_t(k % 2 ? -128 : 127) : int8_t(rng());
                bytes.push_back(uint8_t(q));
                want.push_back(half_ref(scale) * q);
            }
        }
        QCOMPARE(bytes.size(), size_t(blocks * 34));
        std::vector<float> out(want.size());
        find_dtype(8)->dequantize_row(bytes.data(), out.data(), int64_t(out.size()));
        for (size_t k = 0; k < want.size(); ++k)
            QVERIFY2(double(out[k]) == double(float(want[k])),
                     qPrintable(QString("value %1: %2 != %3").arg(k).arg(out[k]).arg(want[k])));
    }

    void dequantizeQ4_0Blocks() {
        // f16 scale, then 16 bytes: value k in the low nibble of byte k, value k+16 in the high
        // one.
        std::mt19937 rng(4);
        const int blocks = 64;
        std::vector<uint8_t> bytes;
        std::vector<double> want;
        for (int b = 0; b < blocks; ++b) {
            uint16_t scale;
            do scale = uint16_t(rng());
            while ((scale & 0x7c00) == 0x7c00);
            put16(bytes, scale);
            int codes[32];
            for (int k = 0; k < 32; ++k) codes[k] = (b == 0) ? k % 16 : int(rng() % 16);
            for (int k = 0; k < 16; ++k) bytes.push_back(uint8_t(codes[k] | (codes[k + 16] << 4)));
            for (int k = 0; k < 32; ++k) want.push_back(half_ref(scale) * (codes[k] - 8));
        }
        QCOMPARE(bytes.size(), size_t(blocks * 18));
        std::vector<float> out(want.size());
        find_dtype(2)->dequantize_row(bytes.data(), out.data(), int64_t(out.size()));
        for (size_t k = 0; k < want.size(); ++k)
            QVERIFY2(double(out[k]) == double(float(want[k])),
                     qPrintable(QString("value %1: %2 != %3").arg(k).arg(out[k]).arg(want[k])));
        // A hand-checked block: scale 0.5, codes 0..15 then 15..0.
        std::vector<uint8_t> one = {0x00, 0x38};  // f16 0.5
        for (int k = 0; k < 16; ++k) one.push_back(uint8_t(k | ((15 - k) << 4)));
        std::vector<float> row(32);
        find_dtype(2)->dequantize_row(one.data(), row.data(), 32);
        for (int k = 0; k < 16; ++k) {
            QCOMPARE(row[size_t(k)], 0.5f * float(k - 8));
            QCOMPARE(row[size_t(k + 16)], 0.5f * float(7 - k));
        }
    }

    void quantizeQ8_0WithinBound() {
        std::mt19937 rng(80);
        std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
        const int blocks = 3000;
        std::vector<float> x(size_t(blocks) * 32);
        for (int b = 0; b < blocks; ++b) {
            const float magnitude = std::pow(10.0f, float(int(rng() % 7) - 3));  // 1e-3 .. 1e3
            for (int k = 0; k < 32; ++k) {
                float v = uni(rng) * magnitude;
                if (b % 5 == 1 && k == 7) v = 40 * magnitude;  // an outlier
                if (b % 5 == 2) v = magnitude;                 // all equal
                if (b % 5 == 3) v = (k % 2 ? -1.0f : 1.0f) * magnitude * float(k) / 31.0f;
                x[size_t(b * 32 + k)] = v;
            }
        }
        for (int k = 0; k < 32; ++k) x[size_t(4 * 32 + k)] = 0.0f;  // a zero block
        std::vector<BlockQ8_0> q(blocks);
        quantize_row_q8_0(x.data(), q.data(), int64_t(x.size()));
        std::vector<float> engine(x.size());
        find_dtype(8)->dequantize_row(q.data(), engine.data(), int64_t(x.size()));

        double worst = 0;  // error relative to the ideal half step
        for (int b = 0; b < blocks; ++b) {
            const float* xb = x.data() + b * 32;
            double amax = 0;
            for (int k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(double(xb[k])));
            const double d = amax / 127;
            const double stored = half_ref(q[size_t(b)].scale);
            if (amax == 0) {
                QCOMPARE(stored, 0.0);
                for (int k = 0; k < 32; ++k) QCOMPARE(int(q[size_t(b)].q[k]), 0);
                continue;
            }
            // The scale is amax/127 rounded to f16 (half an ulp: relative 2^-11, or 2^-25 absolute
            // among the subnormals).
            QVERIFY2(std::fabs(stored - d) <=
                         d * (std::ldexp(1.0, -11) + std::ldexp(1.0, -22)) + std::ldexp(1.0, -25),
                     qPrintable(QString("block %1: scale %2 for %3").arg(b).arg(stored).arg(d)));
            const double bound = d / 2 + 127 * std::fabs(stored - d) + d * 1e-5;
            for (int k = 0; k < 32; ++k) {
                const int qk = q[size_t(b)].q[k];
                QVERIFY(qk >= -127 && qk <= 127);
                const double dq = stored * qk;
                QCOMPARE(double(engine[size_t(b * 32 + k)]), double(float(dq)));
                const double err = std::fabs(double(xb[k]) - dq);
                QVERIFY2(err <= bound,
                         qPrintable(QString("block %1 value %2: x=%3 dq=%4 err=%5 bound=%6")
                                        .arg(b)
                                        .arg(k)
                                        .arg(xb[k])
                                        .arg(dq)
                                        .arg(err)
                                        .arg(bound)));
                if (d >= std::ldexp(1.0, -14)) worst = std::max(worst, err / (d / 2));
                if (std::fabs(double(xb[k])) == amax) QCOMPARE(std::abs(qk), 127);
            }
        }
        qInfo("Q8_0: worst error %.4f half-steps (blocks with a normal f16 scale)", worst);
        QVERIFY(worst <= 1.0 + 127 * std::ldexp(1.0, -10));
    }

    void quantizeQ4_0WithinBound() {
        // Q4_0 maps the value of largest magnitude to code 0 (-8 * d, d = extreme / -8); codes run
        // to 15 (+7 * d), so values on the other side beyond 7.5 * |d| clamp to 7 * d: their error
        // is up to |d|, everything else within |d| / 2 (as in ggml's reference quantizer).
        std::mt19937 rng(40);
        std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
        const int blocks = 3000;
        std::vector<float> x(size_t(blocks) * 32);
        for (int b = 0; b < blocks; ++b) {
            const float magnitude = std::pow(10.0f, float(int(rng() % 7) - 3));
            for (int k = 0; k < 32; ++k) {
                float v = uni(rng) * magnitude;
                if (b % 6 == 1 && k == 9) v = -30 * magnitude;
                if (b % 6 == 2) v = magnitude * float(k) / 31.0f;  // all positive
                if (b % 6 == 3 && k == 0) v = magnitude;           // +extreme first
                if (b % 6 == 3 && k == 1) v = -magnitude;          // then -extreme: clamps
                x[size_t(b * 32 + k)] = v;
            }
        }
        for (int k = 0; k < 32; ++k) x[size_t(4 * 32 + k)] = 0.0f;
        std::vector<BlockQ4_0> q(blocks);
        quantize_row_q4_0(x.data(), q.data(), int64_t(x.size()));
        std::vector<float> engine(x.size());
        find_dtype(2)->dequantize_row(q.data(), engine.data(), int64_t(x.size()));

        int clamped = 0;
        for (int b = 0; b < blocks; ++b) {
            const float* xb = x.data() + b * 32;
            double extreme = 0;
            for (int k = 0; k < 32; ++k)
                if (std::fabs(double(xb[k])) > std::fabs(extreme)) extreme = xb[k];
            const double d = extreme / -8;
            const double stored = half_ref(q[size_t(b)].scale);
            auto code = [&](int k) {
                return k < 16 ? q[size_t(b)].q[k] & 0x0f : q[size_t(b)].q[k - 16] >> 4;
            };
            if (extreme == 0) {
                QCOMPARE(stored, 0.0);
                for (int k = 0; k < 32; ++k) QCOMPARE(double(engine[size_t(b * 32 + k)]), 0.0);
                continue;
            }
            QVERIFY2(std::fabs(stored - d) <=
                         std::fabs(d) * (std::ldexp(1.0, -11) + std::ldexp(1.0, -22)) +
                             std::ldexp(1.0, -25),
                     qPrintable(QString("block %1: scale %2 for %3").arg(b).arg(stored).arg(d)));
            const double scale_err = 8 * std::fabs(stored - d) + std::fabs(d) * 1e-5;
            for (int k = 0; k < 32; ++k) {
                const int c = code(k);
                const double dq = stored * (c - 8);
                QCOMPARE(double(engine[size_t(b * 32 + k)]), double(float(dq)));
                const double ratio = double(xb[k]) / d;  // in [-8, 8]
                const double err = std::fabs(double(xb[k]) - dq);
                const double bound = (ratio <= 7.5 ? std::fabs(d) / 2 : std::fabs(d)) + scale_err;
                if (ratio > 7.5) ++clamped;
                QVERIFY2(err <= bound,
                         qPrintable(QString("block %1 value %2: x=%3 dq=%4 err=%5 bound=%6")
                                        .arg(b)
                                        .arg(k)
                                        .arg(xb[k])
                                        .arg(dq)
                                        .arg(err)
                                        .arg(bound)));
                if (double(xb[k]) == extreme) QCOMPARE(c, 0);
            }
        }
        qInfo("Q4_0: %d values beyond +7.5 steps (clamped to code 15)", clamped);
        QVERIFY(clamped >= blocks / 6);  // the +extreme/-extreme blocks at least
    }

    // ----- the quantized types against the float64 decoders of block_reference.h ------------

    void dequantizeRandomBlocksOfEveryType() {
        // Random bytes with finite f16 scales, plus an all-zero block, an all-ones block and one
        // with subnormal scales: every engine value must be the float nearest the exact value.
        std::mt19937 rng(17);
        for (const testing::BlockFormat& f : testing::kBlockFormats) {
            const int blocks = 48;
            std::vector<uint8_t> bytes(size_t(blocks * f.bytes));
            for (auto& b : bytes) b = uint8_t(rng());
            for (int b = 0; b < blocks; ++b) {
                uint8_t* block = bytes.data() + b * f.bytes;
                if (b == 0) std::memset(block, 0, size_t(f.bytes));
                if (b == 1) std::memset(block, 0xff, size_t(f.bytes));
                for (const int at : testing::f16_fields(f.type)) {
                    uint16_t h;
                    if (b == 0)
                        h = 0;
                    else if (b == 1)
                        h = 0x3C00;  // 1.0 beside codes of all ones
                    else if (b == 2)
                        h = uint16_t(0x8001 + rng() % 0x3ff);  // negative subnormals
                    else
                        do h = uint16_t(rng());
                        while ((h & 0x7c00) == 0x7c00);  // any finite
                    block[at] = uint8_t(h & 0xff);
                    block[at + 1] = uint8_t(h >> 8);
                }
            }
            const int64_t n = int64_t(blocks) * f.values;
            const std::vector<double> want = testing::reference_dequantize(f.type, bytes.data(), n);
            std::vector<float> got(static_cast<size_t>(n));
            find_dtype(f.type)->dequantize_row(bytes.data(), got.data(), n);
            int nonzero = 0;
            for (int64_t k = 0; k < n; ++k) {
                QVERIFY2(double(got[size_t(k)]) == double(float(want[size_t(k)])),
                         qPrintable(QString("%1 value %2: %3 != %4")
                                        .arg(f.name)
                                        .arg(k)
                                        .arg(double(got[size_t(k)]), 0, 'g', 9)
                                        .arg(want[size_t(k)], 0, 'g', 17)));
                nonzero += want[size_t(k)] != 0;
            }
            QVERIFY2(nonzero > n / 2, f.name);  // the blocks really vary
        }
    }

    void dequantizeHandMadeBlocks() {
        // One block per type, values worked out by hand from the layouts (block_layouts.h).
        auto values = [](DType type, std::vector<uint8_t> block) {
            const DTypeTraits& t = dtype_traits(type);
            block.resize(size_t(t.bytes_per_block), 0);
            std::vector<float> out(size_t(t.block_size));
            t.dequantize_row(block.data(), out.data(), t.block_size);
            return out;
        };
        {  // Q4_1: d 0.5, m -1; byte k = k | (15 - k) << 4.
            std::vector<uint8_t> b = {0x00, 0x38, 0x00, 0xBC};
            for (int k = 0; k < 16; ++k) b.push_back(uint8_t(k | (15 - k) << 4));
            const auto v = values(DType::Q4_1, b);
            QCOMPARE(v[0], -1.0f);  // 0.5 * 0 - 1
            QCOMPARE(v[1], -0.5f);
            QCOMPARE(v[15], 6.5f);
            QCOMPARE(v[16], 6.5f);  // high nibble of byte 0: 15
            QCOMPARE(v[31], -1.0f);
        }
        {  // Q5_0: d 0.25, fifth bits set for values 16..31, byte k = k | k << 4.
            std::vector<uint8_t> b = {0x00, 0x34, 0x00, 0x00, 0xff, 0xff};
            for (int k = 0; k < 16; ++k) b.push_back(uint8_t(k | k << 4));
            const auto v = values(DType::Q5_0, b);
            QCOMPARE(v[0], -4.0f);    // 0.25 * (0 - 16)
            QCOMPARE(v[15], -0.25f);  // 0.25 * (15 - 16)
            QCOMPARE(v[16], 0.0f);    // 0.25 * (0 + 16 - 16)
            QCOMPARE(v[31], 3.75f);   // 0.25 * (15 + 16 - 16)
        }
        {  // Q5_1: d 1, m 0.5, only value 0's fifth bit; byte 3 = 0x2F.
            std::vector<uint8_t> b = {0x00, 0x3C, 0x00, 0x38, 0x01, 0x00, 0x00, 0x00};
            b.resize(24, 0);
            b[8 + 3] = 0x2F;
            const auto v = values(DType::Q5_1, b);
            QCOMPARE(v[0], 16.5f);  // 1 * (0 + 16) + 0.5
            QCOMPARE(v[1], 0.5f);
            QCOMPARE(v[3], 15.5f);
            QCOMPARE(v[19], 2.5f);
        }
        {  // Q2_K: d 1, dmin 0.5.
            std::vector<uint8_t> b(84, 0);
            b[0] = 0x21;                // sub-block 0: scale 1, min 2
            b[1] = 0x03;                // sub-block 1: scale 3, min 0
            b[2] = b[4] = b[6] = 0x01;  // sub-blocks 2, 4, 6: scale 1
            b[8] = 0x12;                // sub-block 8: scale 2, min 1
            b[16 + 0] = 0b11100100;     // values 0, 32, 64, 96: codes 0, 1, 2, 3
            b[16 + 16] = 0x02;          // value 16: code 2
            b[16 + 32] = 0x03;          // value 128: code 3
            b[81] = 0x3C;               // d = 1
            b[83] = 0x38;               // dmin = 0.5
            const auto v = values(DType::Q2_K, b);
            QCOMPARE(v[0], -1.0f);  // 1 * 1 * 0 - 0.5 * 2
            QCOMPARE(v[1], -1.0f);
            QCOMPARE(v[16], 6.0f);  // 1 * 3 * 2
            QCOMPARE(v[32], 1.0f);  // 1 * 1 * 1
            QCOMPARE(v[64], 2.0f);
            QCOMPARE(v[96], 3.0f);
            QCOMPARE(v[128], 5.5f);  // 1 * 2 * 3 - 0.5 * 1
        }
        {  // Q3_K: d 1; 6-bit scales 33 (sub-block 0), 30 (8), 63 (15), the rest 0.
            std::vector<uint8_t> b(110, 0);
            b[96 + 0] = uint8_t(1 | 14 << 4);  // low bits: sub-block 0 -> 1, sub-block 8 -> 14
            b[96 + 7] = uint8_t(15 << 4);      // sub-block 15 -> 15
            b[96 + 8] = uint8_t(2 | 1 << 4);   // high bits: sub-block 0 -> 2, sub-block 8 -> 1
            b[96 + 11] = uint8_t(3 << 6);      // sub-block 15 -> 3
            b[32 + 0] = 0b11;                  // value 0: low bits 3
            b[0] = 0b10001;                    // high bits of value 0 (bit 0) and 128 (bit 4)
            b[32 + 32] = 0b01;                 // value 128: low bits 1
            b[32 + 63] = uint8_t(0b10 << 6);   // value 255: low bits 2
            b[31] = 0x80;                      // high bit of value 255 (bit 7)
            b[109] = 0x3C;
            const auto v = values(DType::Q3_K, b);
            QCOMPARE(v[0], 3.0f);     // (33 - 32) * (3 + 4 - 4)
            QCOMPARE(v[1], -4.0f);    // (33 - 32) * (0 + 0 - 4)
            QCOMPARE(v[16], 128.0f);  // (0 - 32) * (0 + 0 - 4)
            QCOMPARE(v[128], -2.0f);  // (30 - 32) * (1 + 4 - 4)
            QCOMPARE(v[255], 62.0f);  // (63 - 32) * (2 + 4 - 4)
        }
        for (const DType type : {DType::Q4_K, DType::Q5_K}) {
            // d 0.5, dmin 0.25; sub-block 0: scale 2, min 4; sub-block 5: scale 37, min 50.
            const bool five = type == DType::Q5_K;
            std::vector<uint8_t> b(five ? 176 : 144, 0);
            b[1] = 0x38;
            b[3] = 0x34;
            b[4 + 0] = 2;
            b[4 + 4] = 4;
            b[4 + 9] = uint8_t((37 & 15) | (50 & 15) << 4);  // low bits of sub-block 5
            b[4 + 1] = uint8_t((37 >> 4) << 6);              // high bits of its scale
            b[4 + 5] = uint8_t((50 >> 4) << 6);              // high bits of its min
            const int qs = five ? 48 : 16;
            b[size_t(qs + 0)] = 0x97;       // value 0: 7, value 32: 9
            b[size_t(qs + 64 + 3)] = 0xA0;  // value 131: 0, value 163: 10
            if (five) {
                b[16 + 0] = 0x01;     // fifth bit of value 0
                b[16 + 3] = 1u << 5;  // fifth bit of value 163
            }
            const auto v = values(type, b);
            QCOMPARE(v[0], five ? 22.0f : 6.0f);       // 0.5 * 2 * (7 [+16]) - 0.25 * 4
            QCOMPARE(v[32], 0.0f);                     // sub-block 1: scale 0, min 0
            QCOMPARE(v[131], -0.0f);                   // sub-block 4: scale 0, min 0
            QCOMPARE(v[163], five ? 468.5f : 172.5f);  // 0.5 * 37 * (10 [+16]) - 0.25 * 50
        }
        {  // Q6_K: d 0.125; scales[0] = -3, scales[4] = 1, scales[15] = 100.
            std::vector<uint8_t> b(210, 0);
            b[192 + 0] = uint8_t(int8_t(-3));
            b[192 + 4] = 1;
            b[192 + 15] = 100;
            b[0] = 0x05;         // value 0: low four bits 5
            b[128 + 0] = 0x02;   // value 0: high two bits 2
            b[127] = 0xF0;       // value 255: low four bits 15 (high nibble)
            b[128 + 63] = 0xC0;  // value 255: high two bits 3
            b[209] = 0x30;
            const auto v = values(DType::Q6_K, b);
            QCOMPARE(v[0], -1.875f);   // 0.125 * -3 * (37 - 32)
            QCOMPARE(v[65], -4.0f);    // 0.125 * 1 * (0 - 32)
            QCOMPARE(v[255], 387.5f);  // 0.125 * 100 * (63 - 32)
        }
    }

    void quantizeLegacyTypesWithinBound_data() {
        QTest::addColumn<int>("type");
        for (const DType t : {DType::Q4_1, DType::Q5_0, DType::Q5_1})
            QTest::newRow(dtype_traits(t).name.data()) << int(t);
    }

    void quantizeLegacyTypesWithinBound() {
        // Q4_1 / Q5_1: codes 0..max spread from the block's min to its max, so every value is
        // within half a step of its code, up to what rounding d and m to f16 moves (the clamp at
        // either end absorbs at most that). Q5_0: as Q4_0 with 16 steps a side.
        QFETCH(int, type);
        const auto& traits = dtype_traits(DType(type));
        const bool has_min = DType(type) != DType::Q5_0;
        const int max_code = DType(type) == DType::Q4_1 ? 15 : 31;
        const std::vector<float> x = test_values(3000 * 32, uint32_t(type));
        std::vector<uint8_t> q(size_t(row_bytes(traits, int64_t(x.size()))));
        traits.quantize_row(x.data(), q.data(), int64_t(x.size()));
        const std::vector<double> dq =
            testing::reference_dequantize(uint32_t(type), q.data(), int64_t(x.size()));
        double worst = 0;  // error over the ideal half step
        for (size_t b = 0; b < x.size() / 32; ++b) {
            const float* xb = x.data() + b * 32;
            const uint8_t* block = q.data() + b * size_t(traits.bytes_per_block);
            const double d_stored = testing::read_f16(block);
            double bound, ideal;
            if (has_min) {
                const auto [lo, hi] = std::minmax_element(xb, xb + 32);
                const double d = (double(*hi) - *lo) / max_code;
                const double m_stored = testing::read_f16(block + 2);
                ideal = d / 2;
                bound = d_stored / 2 + std::fabs(m_stored - *lo) +
                        max_code * std::fabs(d_stored - d) + 1e-6 * (std::fabs(*lo) + d);
            } else {
                double extreme = 0;
                for (int k = 0; k < 32; ++k)
                    if (std::fabs(xb[k]) > std::fabs(extreme)) extreme = xb[k];
                const double d = extreme / -16;
                ideal = std::fabs(d) / 2;
                // Values past +15.5 steps clamp to 15: up to a whole step off.
                bound = std::fabs(d) + 16 * std::fabs(d_stored - d) + 1e-6 * std::fabs(d);
            }
            for (int k = 0; k < 32; ++k) {
                const double err = std::fabs(double(xb[k]) - dq[b * 32 + size_t(k)]);
                QVERIFY2(err <= bound, qPrintable(QString("block %1 value %2: x=%3 dq=%4 err=%5 "
                                                          "bound=%6")
                                                      .arg(b)
                                                      .arg(k)
                                                      .arg(xb[k])
                                                      .arg(dq[b * 32 + size_t(k)])
                                                      .arg(err)
                                                      .arg(bound)));
                if (ideal > 1e-3) worst = std::max(worst, err / ideal);
            }
        }
        qInfo("%s: worst error %.3f ideal half-steps", traits.name.data(), worst);
        QVERIFY(worst <= (has_min ? 1.01 : 2.01));
        check_engine_matches_reference(DType(type), q, x.size());
    }

    void quantizeKQuantsWithinBound_data() {
        QTest::addColumn<int>("type");
        for (const DType t : {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K})
            QTest::newRow(dtype_traits(t).name.data()) << int(t);
    }

    void quantizeKQuantsWithinBound() {
        // The quantizers round the sub-block scales (and mins) up, so every value lies inside its
        // sub-block's range of codes: within half a step of its code. And the step is at most
        // one super-block scale unit coarser than the sub-block's own range needs.
        QFETCH(int, type);
        const DType t = DType(type);
        const auto& traits = dtype_traits(t);
        struct Shape {
            int sub, max_code, min_code;
            bool affine;  // value = d * s * q - dmin * m, else d * s * q
        };
        const Shape shape = t == DType::Q2_K   ? Shape{16, 3, 0, true}
                            : t == DType::Q3_K ? Shape{16, 3, -4, false}
                            : t == DType::Q4_K ? Shape{32, 15, 0, true}
                            : t == DType::Q5_K ? Shape{32, 31, 0, true}
                                               : Shape{16, 31, -32, false};
        const std::vector<float> x = test_values(400 * 256, uint32_t(type) + 100);
        std::vector<uint8_t> q(size_t(row_bytes(traits, int64_t(x.size()))));
        traits.quantize_row(x.data(), q.data(), int64_t(x.size()));
        const std::vector<double> dq =
            testing::reference_dequantize(uint32_t(type), q.data(), int64_t(x.size()));
        double sum_err2 = 0, sum_x2 = 0, worst = 0;
        for (size_t s = 0; s < x.size() / 256; ++s) {
            const uint8_t* block = q.data() + s * size_t(traits.bytes_per_block);
            for (int j = 0; j < 256 / shape.sub; ++j) {
                const float* xs = x.data() + s * 256 + size_t(j * shape.sub);
                const double* ds = dq.data() + s * 256 + size_t(j * shape.sub);
                const auto [lo, hi] = std::minmax_element(xs, xs + shape.sub);
                double needed;  // the step the sub-block's own values ask for
                if (shape.affine)
                    needed = (double(*hi) - std::min(0.0, double(*lo))) / shape.max_code;
                else
                    needed = std::max(std::fabs(*lo), std::fabs(*hi)) / double(shape.max_code);
                const double step = decoded_step(t, block, j * shape.sub);
                const double allowance = step_allowance(t, block, shape.max_code);
                QVERIFY2(step <= (needed + allowance) * (1 + 1e-5),
                         qPrintable(QString("super-block %1 sub-block %2: step %3, needed %4, "
                                            "allowance %5")
                                        .arg(s)
                                        .arg(j)
                                        .arg(step)
                                        .arg(needed)
                                        .arg(allowance)));
                for (int l = 0; l < shape.sub; ++l) {
                    const double err = std::fabs(double(xs[l]) - ds[l]);
                    const double bound = step / 2 * (1 + 1e-5) + 1e-6 * std::fabs(xs[l]) + 1e-30;
                    QVERIFY2(err <= bound,
                             qPrintable(QString("super-block %1 value %2: x=%3 dq=%4 err=%5 "
                                                "step=%6")
                                            .arg(s)
                                            .arg(j * shape.sub + l)
                                            .arg(xs[l])
                                            .arg(ds[l])
                                            .arg(err)
                                            .arg(step)));
                    if (step > 0) worst = std::max(worst, err / step);
                    sum_err2 += err * err;
                    sum_x2 += double(xs[l]) * xs[l];
                }
            }
        }
        qInfo("%s: worst error %.3f steps, relative RMS error %.4f", traits.name.data(), worst,
              std::sqrt(sum_err2 / sum_x2));
        check_engine_matches_reference(t, q, x.size());
    }
};

QTEST_APPLESS_MAIN(TestDtype)
#include "tst_dtype.moc"
