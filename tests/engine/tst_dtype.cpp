// Element types: f16 and bf16 conversions against float64 computations from the bit fields
// (all 65536 values, round-to-nearest-even at every tie), the type table, and Q8_0 / Q4_0 blocks
// built by hand (dequantization exact, quantization within its error bound).
#include <QtTest>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

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
        for (const Row& r :
             {Row{0, DType::F32, "F32", 1, 4}, Row{1, DType::F16, "F16", 1, 2},
              Row{2, DType::Q4_0, "Q4_0", 32, 18}, Row{8, DType::Q8_0, "Q8_0", 32, 34},
              Row{30, DType::BF16, "BF16", 1, 2}}) {
            const DTypeTraits* t = find_dtype(r.raw);
            QVERIFY(t);
            QCOMPARE(t, &dtype_traits(r.type));
            QCOMPARE(t->type, r.type);
            QCOMPARE(QString::fromUtf8(t->name.data(), qsizetype(t->name.size())), QString(r.name));
            QCOMPARE(t->block_size, r.block);
            QCOMPARE(t->bytes_per_block, r.bytes);
            QCOMPARE(QString::fromUtf8(gguf_type_name(r.raw).data(),
                                       qsizetype(gguf_type_name(r.raw).size())),
                     QString(r.name));
            QCOMPARE(row_bytes(*t, 0), int64_t(0));
            QCOMPARE(row_bytes(*t, 64), 64 / r.block * r.bytes);
            QCOMPARE(row_bytes(*t, 4096 * 3), 4096 * 3 / r.block * r.bytes);
            QCOMPARE(row_bytes(*t, -r.block), int64_t(-1));
            if (r.block > 1) {
                QCOMPARE(row_bytes(*t, 33), int64_t(-1));
                QCOMPARE(row_bytes(*t, 1), int64_t(-1));
                QCOMPARE(row_bytes(*t, 16), int64_t(-1));
            }
        }
        for (uint32_t raw : {3u, 4u, 6u, 9u, 10u, 12u, 14u, 28u, 31u, 99u, 0xFFFFFFFFu})
            QVERIFY(find_dtype(raw) == nullptr);
        auto name = [](uint32_t raw) {
            const std::string n = gguf_type_name(raw);
            return QString::fromUtf8(n.data(), qsizetype(n.size()));
        };
        // The GGUF numbering of the types the engine does not support.
        QCOMPARE(name(3), QString("Q4_1"));
        QCOMPARE(name(6), QString("Q5_0"));
        QCOMPARE(name(10), QString("Q2_K"));
        QCOMPARE(name(12), QString("Q4_K"));
        QCOMPARE(name(14), QString("Q6_K"));
        QCOMPARE(name(15), QString("Q8_K"));
        QCOMPARE(name(20), QString("IQ4_NL"));
        QCOMPARE(name(24), QString("I8"));
        QCOMPARE(name(28), QString("F64"));
        QCOMPARE(name(29), QString("IQ1_M"));
        // dtype.h promises a name for any number: "type 99" for unknown ones.
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
};

QTEST_APPLESS_MAIN(TestDtype)
#include "tst_dtype.moc"
