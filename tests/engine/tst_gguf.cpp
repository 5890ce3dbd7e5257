// The GGUF writer and parser: every metadata type and tensor type survives a round trip (in
// memory and on disk), the byte layout matches one written by hand here, and hundreds of
// malformed files (truncations, patched fields, hand-built oddities, random byte flips) are
// rejected with a GgufError that names the byte, never a crash or an out-of-bounds read.
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>
#include <bit>
#include <cstring>
#include <functional>
#include <random>

#include "gguf/dtype.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "selfextend/error.h"

using namespace selfextend;

namespace {

// ---------------------------------------------------------------------------------------------
// A tiny little-endian byte builder: the test's own, independent writer of the GGUF layout.
// Every put returns the offset it wrote at, so fields can be patched later.
struct Bytes {
    std::vector<uint8_t> b;

    size_t size() const { return b.size(); }
    size_t le(uint64_t v, int n) {
        const size_t at = b.size();
        for (int k = 0; k < n; ++k) b.push_back(uint8_t(v >> (8 * k)));
        return at;
    }
    size_t u8(uint8_t v) { return le(v, 1); }
    size_t u16(uint16_t v) { return le(v, 2); }
    size_t u32(uint32_t v) { return le(v, 4); }
    size_t u64(uint64_t v) { return le(v, 8); }
    size_t f32(float v) { return u32(std::bit_cast<uint32_t>(v)); }
    size_t f64(double v) { return u64(std::bit_cast<uint64_t>(v)); }
    size_t str(std::string_view s) {
        const size_t at = u64(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return at;
    }
    size_t raw(const std::vector<uint8_t>& data) {
        const size_t at = b.size();
        b.insert(b.end(), data.begin(), data.end());
        return at;
    }
    void pad(size_t alignment) {
        while (b.size() % alignment) b.push_back(0);
    }
    // "GGUF", version, tensor count, kv count.
    void header(uint32_t version, uint64_t tensors, uint64_t kvs) {
        b.insert(b.end(), {'G', 'G', 'U', 'F'});
        u32(version);
        u64(tensors);
        u64(kvs);
    }
};

void patch(std::vector<uint8_t>& bytes, size_t at, uint64_t value, int n) {
    for (int k = 0; k < n; ++k) bytes.at(at + size_t(k)) = uint8_t(value >> (8 * k));
}

uint64_t align_up(uint64_t x, uint64_t a) {
    return (x + a - 1) / a * a;
}

// Block size and bytes per block, straight from the GGUF spec (ggml.c type_traits).
std::pair<int64_t, int64_t> block_of(uint32_t type) {
    switch (type) {
        case 0:
            return {1, 4};  // F32
        case 1:
            return {1, 2};  // F16
        case 2:
            return {32, 18};  // Q4_0
        case 3:
            return {32, 20};  // Q4_1
        case 6:
            return {32, 22};  // Q5_0
        case 7:
            return {32, 24};  // Q5_1
        case 8:
            return {32, 34};  // Q8_0
        case 10:
            return {256, 84};  // Q2_K
        case 11:
            return {256, 110};  // Q3_K
        case 12:
            return {256, 144};  // Q4_K
        case 13:
            return {256, 176};  // Q5_K
        case 14:
            return {256, 210};  // Q6_K
        case 30:
            return {1, 2};  // BF16
    }
    return {0, 0};
}

int64_t tensor_bytes(uint32_t type, const std::vector<int64_t>& dims) {
    const auto [bs, bpb] = block_of(type);
    int64_t rows = 1;
    for (size_t d = 1; d < dims.size(); ++d) rows *= dims[d];
    return dims[0] / bs * bpb * rows;
}

// ---------------------------------------------------------------------------------------------
// Metadata values.
GgufValue mk_u(GgufType t, uint64_t v) {
    GgufValue x;
    x.type = t;
    x.u = v;
    return x;
}
GgufValue mk_i(GgufType t, int64_t v) {
    GgufValue x;
    x.type = t;
    x.i = v;
    return x;
}
GgufValue mk_f(GgufType t, double v) {
    GgufValue x;
    x.type = t;
    x.f = v;
    return x;
}
GgufValue mk_s(std::string s) {
    GgufValue x;
    x.type = GgufType::String;
    x.s = std::move(s);
    return x;
}
GgufValue mk_arr(GgufType element, std::vector<GgufValue> items) {
    GgufValue x;
    x.type = GgufType::Array;
    x.element_type = element;
    x.items = std::move(items);
    return x;
}

// Bytes a value takes in the file (independent of the writer), for layout checks.
uint64_t encoded_size(const GgufValue& v) {
    switch (v.type) {
        case GgufType::UInt8:
        case GgufType::Int8:
        case GgufType::Bool:
            return 1;
        case GgufType::UInt16:
        case GgufType::Int16:
            return 2;
        case GgufType::UInt32:
        case GgufType::Int32:
        case GgufType::Float32:
            return 4;
        case GgufType::UInt64:
        case GgufType::Int64:
        case GgufType::Float64:
            return 8;
        case GgufType::String:
            return 8 + v.s.size();
        case GgufType::Array: {
            uint64_t n = 12;
            for (const GgufValue& item : v.items) n += encoded_size(item);
            return n;
        }
    }
    return 0;
}

void compare_values(const GgufValue& want, const GgufValue& got, const QString& where,
                    QStringList& diffs) {
    if (want.type != got.type) {
        diffs << QString("%1: type %2 != %3").arg(where).arg(int(got.type)).arg(int(want.type));
        return;
    }
    switch (want.type) {
        case GgufType::UInt8:
        case GgufType::UInt16:
        case GgufType::UInt32:
        case GgufType::UInt64:
        case GgufType::Bool:
            if (want.u != got.u)
                diffs << QString("%1: u %2 != %3").arg(where).arg(got.u).arg(want.u);
            break;
        case GgufType::Int8:
        case GgufType::Int16:
        case GgufType::Int32:
        case GgufType::Int64:
            if (want.i != got.i)
                diffs << QString("%1: i %2 != %3").arg(where).arg(got.i).arg(want.i);
            break;
        case GgufType::Float32:
        case GgufType::Float64:
            if (std::bit_cast<uint64_t>(want.f) != std::bit_cast<uint64_t>(got.f))
                diffs << QString("%1: f %2 != %3")
                             .arg(where)
                             .arg(got.f, 0, 'g', 17)
                             .arg(want.f, 0, 'g', 17);
            break;
        case GgufType::String:
            if (want.s != got.s)
                diffs << QString("%1: s '%2' != '%3'")
                             .arg(where, QString::fromStdString(got.s),
                                  QString::fromStdString(want.s));
            break;
        case GgufType::Array:
            if (want.element_type != got.element_type)
                diffs << QString("%1: element type %2 != %3")
                             .arg(where)
                             .arg(int(got.element_type))
                             .arg(int(want.element_type));
            if (want.items.size() != got.items.size()) {
                diffs << QString("%1: %2 items != %3")
                             .arg(where)
                             .arg(got.items.size())
                             .arg(want.items.size());
                return;
            }
            for (size_t k = 0; k < want.items.size(); ++k)
                compare_values(want.items[k], got.items[k], where + QString("[%1]").arg(k), diffs);
            break;
    }
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> out(n);
    for (auto& b : out) b = uint8_t(rng());
    return out;
}

// ---------------------------------------------------------------------------------------------
// The small valid file the hostile tests start from, written twice: once by GgufWriter and once
// by hand with Bytes, which records where every field lies. Its last tensor ends exactly at EOF
// (32 F32 bytes at a 32-aligned offset), so every truncation must be rejected.
struct Base {
    std::vector<uint8_t> writer_bytes;
    std::vector<uint8_t> bytes;  // hand-built
    static constexpr int kKvs = 7;
    size_t key_at[kKvs]{}, type_at[kKvs]{}, value_at[kKvs]{};
    size_t arr_count_at = 0, arr_elem_type_at = 0;
    size_t str_elem_type_at = 0, str_count_at = 0, str_item0_at = 0;
    size_t tname_at[2]{}, ndims_at[2]{}, dim_at[2][2]{}, ttype_at[2]{}, toff_at[2]{};
    size_t header_end = 0, data_start = 0;
    std::vector<uint8_t> t0_data, t1_data;
};

Base make_base() {
    Base base;
    // t0: Q8_0 [32, 1] = one block of 34 bytes: scale 1.0 (f16 0x3C00), quants -16..15.
    base.t0_data = {0x00, 0x3C};
    for (int k = 0; k < 32; ++k) base.t0_data.push_back(uint8_t(int8_t(k - 16)));
    // t1: F32 [8] = 1..8.
    for (int k = 1; k <= 8; ++k) {
        const uint32_t bits = std::bit_cast<uint32_t>(float(k));
        for (int j = 0; j < 4; ++j) base.t1_data.push_back(uint8_t(bits >> (8 * j)));
    }

    GgufWriter w;
    w.set_uint32("general.alignment", 32);
    w.set_uint32("k.u32", 7);
    w.set_bool("k.bol", true);
    w.set_int32_array("k.arr", {1, -2, 3});
    w.set_string_array("k.str", {"x", "yz"});
    w.set_string("k.nam", "base");
    w.set_float32("k.f32", 0.5f);
    w.add_tensor("t0", DType::Q8_0, {32, 1}, base.t0_data);
    w.add_tensor("t1", DType::F32, {8}, base.t1_data);
    base.writer_bytes = w.to_bytes();

    Bytes b;
    b.header(3, 2, Base::kKvs);
    auto kv = [&](int k, const char* key, GgufType type) {
        base.key_at[k] = b.str(key);
        base.type_at[k] = b.u32(uint32_t(type));
        base.value_at[k] = b.size();
    };
    kv(0, "general.alignment", GgufType::UInt32);
    b.u32(32);
    kv(1, "k.u32", GgufType::UInt32);
    b.u32(7);
    kv(2, "k.bol", GgufType::Bool);
    b.u8(1);
    kv(3, "k.arr", GgufType::Array);
    base.arr_elem_type_at = b.u32(uint32_t(GgufType::Int32));
    base.arr_count_at = b.u64(3);
    b.u32(1);
    b.u32(uint32_t(-2));
    b.u32(3);
    kv(4, "k.str", GgufType::Array);
    base.str_elem_type_at = b.u32(uint32_t(GgufType::String));
    base.str_count_at = b.u64(2);
    base.str_item0_at = b.str("x");
    b.str("yz");
    kv(5, "k.nam", GgufType::String);
    b.str("base");
    kv(6, "k.f32", GgufType::Float32);
    b.f32(0.5f);
    // Tensor infos.
    base.tname_at[0] = b.str("t0");
    base.ndims_at[0] = b.u32(2);
    base.dim_at[0][0] = b.u64(32);
    base.dim_at[0][1] = b.u64(1);
    base.ttype_at[0] = b.u32(8);
    base.toff_at[0] = b.u64(0);
    base.tname_at[1] = b.str("t1");
    base.ndims_at[1] = b.u32(1);
    base.dim_at[1][0] = b.u64(8);
    base.ttype_at[1] = b.u32(0);
    base.toff_at[1] = b.u64(64);
    base.header_end = b.size();
    b.pad(32);
    base.data_start = b.size();
    b.raw(base.t0_data);
    b.pad(32);
    b.raw(base.t1_data);
    base.bytes = b.b;
    return base;
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs: each must be rejected by GgufError whose message says "at byte".
struct Hostile {
    QString name;
    std::vector<uint8_t> bytes;
    int64_t offset = -1;   // expected GgufError::offset(), -1: only checked to lie inside the file
    QString must_contain;  // expected in the message, empty: no check
};

// Parses a private heap copy of exactly the given bytes (so ASan sees any read past the end);
// returns an empty string when the file was rejected as required, else what went wrong.
QString check_rejected(const Hostile& h) {
    std::vector<uint8_t> copy(h.bytes);
    copy.shrink_to_fit();
    const std::span<const uint8_t> span(copy.data(), copy.size());
    try {
        const GgufFile file = GgufFile::parse(span, "hostile");
        return QString("%1: accepted (%2 tensors)").arg(h.name).arg(file.tensors().size());
    } catch (const GgufError& e) {
        const QString what = QString::fromStdString(e.what());
        if (!what.contains("at byte")) return h.name + ": message lacks 'at byte': " + what;
        if (e.offset() > copy.size())
            return QString("%1: offset %2 beyond the file's %3 bytes")
                .arg(h.name)
                .arg(e.offset())
                .arg(copy.size());
        if (h.offset >= 0 && e.offset() != uint64_t(h.offset))
            return QString("%1: offset %2, expected %3 (%4)")
                .arg(h.name)
                .arg(e.offset())
                .arg(h.offset)
                .arg(what);
        if (!h.must_contain.isEmpty() && !what.contains(h.must_contain))
            return QString("%1: message lacks '%2': %3").arg(h.name, h.must_contain, what);
        return {};
    } catch (const Error& e) {
        return h.name + ": not a GgufError: " + QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return h.name + ": foreign exception: " + QString::fromStdString(e.what());
    }
}

// Invariants every accepted file must satisfy, checked independently of the parser's own logic.
QString check_accepted_invariants(const GgufFile& file, std::span<const uint8_t> bytes) {
    for (const GgufTensor& t : file.tensors()) {
        const QString name = QString::fromStdString(t.name);
        if (t.dims.empty() || t.dims.size() > 4) return name + ": dims count";
        __int128 elements = 1;
        for (const int64_t d : t.dims) {
            if (d <= 0) return name + ": non-positive dim";
            elements *= d;
        }
        const auto [bs, bpb] = block_of(t.raw_type);
        if (bs == 0) return name + ": unsupported type accepted";
        if (t.dims[0] % bs != 0) return name + ": partial block accepted";
        const __int128 want_bytes = elements / bs * bpb;
        if (want_bytes != __int128(t.bytes))
            return QString("%1: %2 bytes for %3 elements of type %4")
                .arg(name)
                .arg(t.bytes)
                .arg(double(elements))
                .arg(t.raw_type);
        if (t.offset % file.alignment() != 0) return name + ": misaligned";
        const uint8_t* begin = bytes.data();
        const uint8_t* end = begin + bytes.size();
        if (t.data < begin || t.data > end || uint64_t(end - t.data) < t.bytes)
            return name + ": data outside the file";
    }
    return {};
}

int g_hostile_total = 0;

}  // namespace

class TestGguf : public QObject {
    Q_OBJECT
  private slots:
    void cleanupTestCase() {
        qInfo("hostile files checked: %d", g_hostile_total);
        QVERIFY(g_hostile_total >= 200);
    }

    // ----- format and round trips -------------------------------------------------------------

    void writerMatchesHandWrittenLayout() {
        const Base base = make_base();
        QCOMPARE(base.writer_bytes.size(), base.bytes.size());
        QVERIFY(base.writer_bytes == base.bytes);
        // The layout numbers the hostile tests depend on.
        QCOMPARE(base.header_end, size_t(311));
        QCOMPARE(base.data_start, size_t(320));
        QCOMPARE(base.bytes.size(), size_t(320 + 64 + 32));  // last tensor ends exactly at EOF

        const GgufFile file = GgufFile::parse(base.bytes);
        QCOMPARE(file.version(), 3u);
        QCOMPARE(file.alignment(), uint64_t(32));
        QCOMPARE(file.file_bytes(), uint64_t(base.bytes.size()));
        QCOMPARE(file.metadata().size(), size_t(7));
        QCOMPARE(file.get_int("k.u32"), int64_t(7));
        QCOMPARE(file.get_bool_or("k.bol", false), true);
        QCOMPARE(file.get_float_or("k.f32", 0), 0.5);
        QCOMPARE(QString::fromStdString(file.get_string("k.nam")), QString("base"));
        QCOMPARE(file.tensors().size(), size_t(2));
        const GgufTensor* t0 = file.find_tensor("t0");
        const GgufTensor* t1 = file.find_tensor("t1");
        QVERIFY(t0 && t1);
        QCOMPARE(t0->bytes, uint64_t(34));
        QCOMPARE(t0->data, base.bytes.data() + 320);
        QCOMPARE(t1->offset, uint64_t(64));
        QCOMPARE(t1->data, base.bytes.data() + 384);
        QCOMPARE(t1->rows(), int64_t(1));
        QCOMPARE(t0->element_count(), int64_t(32));
        std::vector<float> row(32);
        t0->dtype->dequantize_row(t0->data, row.data(), 32);
        for (int k = 0; k < 32; ++k) QCOMPARE(row[size_t(k)], float(k - 16));
        t1->dtype->dequantize_row(t1->data, row.data(), 8);
        for (int k = 0; k < 8; ++k) QCOMPARE(row[size_t(k)], float(k + 1));
    }

    void typedAccessors() {
        const Base base = make_base();
        const GgufFile file = GgufFile::parse(base.bytes);
        QCOMPARE(file.get_int_or("missing", -5), int64_t(-5));
        QCOMPARE(file.get_float_or("k.u32", 0), 7.0);  // integers widen to double
        QCOMPARE(file.get_bool_or("missing", true), true);
        QVERIFY(!file.find_string("missing").has_value());
        QVERIFY(file.find("missing") == nullptr);
        QVERIFY(file.find_tensor("t2") == nullptr);
        QVERIFY_THROWS_EXCEPTION(Error, file.get_int("missing"));
        QVERIFY_THROWS_EXCEPTION(Error, file.get_string("k.u32"));
        QVERIFY_THROWS_EXCEPTION(Error, file.get_int("k.nam"));
        QVERIFY_THROWS_EXCEPTION(Error, file.get_bool_or("k.u32", false));
        QVERIFY_THROWS_EXCEPTION(Error, file.get_float_or("k.nam", 0));
        const GgufValue* arr = file.find("k.arr");
        QVERIFY(arr);
        QCOMPARE(arr->items.size(), size_t(3));
        QCOMPARE(arr->items[1].as_int(), int64_t(-2));
        QVERIFY_THROWS_EXCEPTION(Error, arr->as_int());
        // A uint64 above INT64_MAX is not silently wrapped.
        QVERIFY_THROWS_EXCEPTION(Error, mk_u(GgufType::UInt64, ~uint64_t(0)).as_int());
        QCOMPARE(mk_u(GgufType::UInt64, uint64_t(1) << 62).as_int(), int64_t(1) << 62);
    }

    void version2IsRead() {
        Base base = make_base();
        patch(base.bytes, 4, 2, 4);
        const GgufFile file = GgufFile::parse(base.bytes);
        QCOMPARE(file.version(), 2u);
        QCOMPARE(file.tensors().size(), size_t(2));
    }

    void emptyFileWithoutTensorsOrMetadata() {
        Bytes b;
        b.header(3, 0, 0);
        const GgufFile file = GgufFile::parse(b.b);
        QCOMPARE(file.metadata().size(), size_t(0));
        QCOMPARE(file.tensors().size(), size_t(0));
        QCOMPARE(file.alignment(), uint64_t(32));
    }

    void everyMetadataTypeRoundTrips() {
        std::vector<std::pair<std::string, GgufValue>> kvs = {
            {"t.uint8", mk_u(GgufType::UInt8, 200)},
            {"t.int8", mk_i(GgufType::Int8, -100)},
            {"t.uint16", mk_u(GgufType::UInt16, 60000)},
            {"t.int16", mk_i(GgufType::Int16, -30000)},
            {"t.uint32", mk_u(GgufType::UInt32, 4000000000u)},
            {"t.int32", mk_i(GgufType::Int32, -2000000000)},
            {"t.uint64", mk_u(GgufType::UInt64, (uint64_t(1) << 63) + 5)},
            {"t.int64", mk_i(GgufType::Int64, -(int64_t(1) << 62) - 3)},
            {"t.float32", mk_f(GgufType::Float32, double(3.14159274f))},
            {"t.float32.neg", mk_f(GgufType::Float32, double(-1.0e-30f))},
            {"t.float64", mk_f(GgufType::Float64, 3.141592653589793)},
            {"t.float64.tiny", mk_f(GgufType::Float64, 4.9406564584124654e-324)},
            {"t.bool.true", mk_u(GgufType::Bool, 1)},
            {"t.bool.false", mk_u(GgufType::Bool, 0)},
            {"t.string", mk_s("plain")},
            {"t.string.empty", mk_s("")},
            {"t.string.unicode", mk_s("Grüße, 世界 🌍 \xE2\x96\x81x\n\t\"")},
            {"t.string.nul", mk_s(std::string("a\0b", 3))},
            {"t.arr.empty.u8", mk_arr(GgufType::UInt8, {})},
            {"t.arr.empty.arr", mk_arr(GgufType::Array, {})},
            {"t.arr.u8",
             mk_arr(GgufType::UInt8, {mk_u(GgufType::UInt8, 0), mk_u(GgufType::UInt8, 255)})},
            {"t.arr.i16", mk_arr(GgufType::Int16,
                                 {mk_i(GgufType::Int16, -32768), mk_i(GgufType::Int16, 32767)})},
            {"t.arr.u64", mk_arr(GgufType::UInt64, {mk_u(GgufType::UInt64, ~uint64_t(0))})},
            {"t.arr.f64", mk_arr(GgufType::Float64,
                                 {mk_f(GgufType::Float64, -0.0), mk_f(GgufType::Float64, 1e300)})},
            {"t.arr.bool", mk_arr(GgufType::Bool, {mk_u(GgufType::Bool, 1), mk_u(GgufType::Bool, 0),
                                                   mk_u(GgufType::Bool, 1)})},
            {"t.arr.str", mk_arr(GgufType::String,
                                 {mk_s(""), mk_s("ü"), mk_s("\xE2\x96\x81The"), mk_s("<0x0A>")})},
            {"t.arr.arr",
             mk_arr(GgufType::Array,
                    {mk_arr(GgufType::Int32, {mk_i(GgufType::Int32, 1), mk_i(GgufType::Int32, -1)}),
                     mk_arr(GgufType::String, {}), mk_arr(GgufType::String, {mk_s("nested")})})},
            // Four levels of arrays: the deepest the parser accepts.
            {"t.arr.depth4",
             mk_arr(
                 GgufType::Array,
                 {mk_arr(GgufType::Array,
                         {mk_arr(GgufType::Array,
                                 {mk_arr(GgufType::Float32, {mk_f(GgufType::Float32, 0.25)})})})})},
        };
        GgufWriter w;
        for (const auto& [key, value] : kvs) w.set(key, value);
        // The typed setters.
        w.set_string("h.string", "héllo");
        w.set_uint32("h.uint32", 0xFFFFFFFFu);
        w.set_int32("h.int32", -7);
        w.set_float32("h.float32", 1.5f);
        w.set_bool("h.bool", true);
        w.set_string_array("h.strings", {"a", "", "☃"});
        w.set_float32_array("h.floats", {0.5f, -2.0f});
        w.set_int32_array("h.ints", {});
        // set() on an existing key replaces the value in place.
        w.set_uint32("t.uint32", 4000000000u);

        const std::vector<uint8_t> bytes = w.to_bytes();
        const GgufFile file = GgufFile::parse(bytes);
        const auto& md = file.metadata();
        QCOMPARE(md.size(), kvs.size() + 8);
        QStringList diffs;
        for (size_t k = 0; k < kvs.size(); ++k) {
            QCOMPARE(QString::fromStdString(md[k].first), QString::fromStdString(kvs[k].first));
            compare_values(kvs[k].second, md[k].second, QString::fromStdString(kvs[k].first),
                           diffs);
        }
        QVERIFY2(diffs.isEmpty(), qPrintable(diffs.join("\n")));

        QCOMPARE(QString::fromStdString(file.get_string("h.string")), QString("héllo"));
        QCOMPARE(file.get_int("h.uint32"), int64_t(0xFFFFFFFFu));
        QCOMPARE(file.get_int("h.int32"), int64_t(-7));
        QCOMPARE(file.get_float_or("h.float32", 0), 1.5);
        QCOMPARE(file.get_bool_or("h.bool", false), true);
        const GgufValue* strings = file.find("h.strings");
        QVERIFY(strings && strings->element_type == GgufType::String);
        QCOMPARE(strings->items.size(), size_t(3));
        QCOMPARE(QString::fromStdString(strings->items[2].s), QString("☃"));
        const GgufValue* floats = file.find("h.floats");
        QVERIFY(floats && floats->element_type == GgufType::Float32 && floats->items.size() == 2);
        QCOMPARE(floats->items[1].f, -2.0);
        const GgufValue* ints = file.find("h.ints");
        QVERIFY(ints && ints->element_type == GgufType::Int32 && ints->items.empty());

        // Size of the file: header + key/values, padded to 32 (no tensors: no data).
        uint64_t expected = 24;
        for (const auto& [key, value] : md) expected += 8 + key.size() + 4 + encoded_size(value);
        QCOMPARE(uint64_t(bytes.size()), align_up(expected, 32));
    }

    void tensorsOfEveryTypeRoundTrip_data() {
        QTest::addColumn<int>("alignment");
        QTest::newRow("align 32") << 32;
        QTest::newRow("align 64") << 64;
        QTest::newRow("align 1") << 1;
        QTest::newRow("align 4096") << 4096;
    }
    void tensorsOfEveryTypeRoundTrip() {
        QFETCH(int, alignment);
        struct Spec {
            std::string name;
            DType type;
            std::vector<int64_t> dims;
        };
        const std::vector<Spec> specs = {
            {"f32.1d", DType::F32, {5}},
            {"f16.2d", DType::F16, {3, 7}},
            {"bf16.3d", DType::BF16, {2, 3, 4}},
            {"q8_0.4d", DType::Q8_0, {64, 2, 1, 3}},
            {"q4_0.2d", DType::Q4_0, {32, 3}},
            {"q4_0.1d", DType::Q4_0, {96}},
            {"f32.4d", DType::F32, {1, 1, 1, 1}},
            {"q8_0.3d", DType::Q8_0, {32, 1, 5}},
            {"f16.4d", DType::F16, {1, 2, 3, 2}},
            {"bf16.1d", DType::BF16, {33}},
            {"q4_0.4d", DType::Q4_0, {32, 2, 2, 2}},
            {"f32.3d", DType::F32, {7, 1, 2}},
            {"q4_1.2d", DType::Q4_1, {64, 3}},
            {"q5_0.1d", DType::Q5_0, {32}},
            {"q5_1.3d", DType::Q5_1, {32, 2, 2}},
            {"q2_k.2d", DType::Q2_K, {256, 2}},
            {"q3_k.1d", DType::Q3_K, {512}},
            {"q4_k.2d", DType::Q4_K, {256, 3}},
            {"q5_k.2d", DType::Q5_K, {256, 1}},
            {"q6_k.3d", DType::Q6_K, {256, 2, 2}},
        };
        GgufWriter w{uint64_t(alignment)};
        w.set_string("general.architecture", "test");
        std::vector<std::vector<uint8_t>> datas;
        for (size_t k = 0; k < specs.size(); ++k) {
            datas.push_back(random_bytes(
                size_t(tensor_bytes(uint32_t(specs[k].type), specs[k].dims)), uint32_t(k + 1)));
            w.add_tensor(specs[k].name, specs[k].type, specs[k].dims, datas.back());
        }
        const std::vector<uint8_t> bytes = w.to_bytes();
        const GgufFile file = GgufFile::parse(bytes);
        QCOMPARE(file.alignment(), uint64_t(alignment));
        if (alignment != 32) {
            QCOMPARE(file.get_int("general.alignment"), int64_t(alignment));
        } else {
            QVERIFY(file.find("general.alignment") == nullptr);
        }

        // Independent layout: header, key/values, tensor infos, then data at aligned offsets.
        uint64_t header = 24;
        for (const auto& [key, value] : file.metadata())
            header += 8 + key.size() + 4 + encoded_size(value);
        for (const Spec& s : specs) header += 8 + s.name.size() + 4 + 8 * s.dims.size() + 4 + 8;
        const uint64_t data_start = align_up(header, uint64_t(alignment));
        uint64_t offset = 0;

        QCOMPARE(file.tensors().size(), specs.size());
        for (size_t k = 0; k < specs.size(); ++k) {
            const GgufTensor& t = file.tensors()[k];
            QCOMPARE(QString::fromStdString(t.name), QString::fromStdString(specs[k].name));
            QVERIFY(t.dims == specs[k].dims);
            QCOMPARE(t.raw_type, uint32_t(specs[k].type));
            QVERIFY(t.dtype != nullptr);
            QCOMPARE(t.dtype->type, specs[k].type);
            QCOMPARE(t.offset, offset);
            QCOMPARE(t.offset % uint64_t(alignment), uint64_t(0));
            QCOMPARE(t.bytes, uint64_t(datas[k].size()));
            QCOMPARE(t.data, bytes.data() + data_start + offset);
            QVERIFY(std::memcmp(t.data, datas[k].data(), datas[k].size()) == 0);
            QCOMPARE(file.find_tensor(specs[k].name), &t);
            int64_t elements = 1;
            for (const int64_t d : specs[k].dims) elements *= d;
            QCOMPARE(t.element_count(), elements);
            QCOMPARE(t.rows(), elements / specs[k].dims[0]);
            offset += align_up(datas[k].size(), uint64_t(alignment));
        }
        QCOMPARE(uint64_t(bytes.size()), data_start + offset);
    }

    void tensorsFromFloatsDequantizeExactly() {
        // Values each type represents exactly, so the stored tensors must give them back as is.
        GgufWriter w(64);
        std::vector<float> f32(3 * 10), f16(2 * 6), bf16(4 * 2), q8(64 * 2), q4(32 * 3);
        for (size_t k = 0; k < f32.size(); ++k) f32[k] = float(k) * 0.1f - 1.0f;
        for (size_t k = 0; k < f16.size(); ++k) f16[k] = float(int(k) - 6) / 8.0f;  // k/8
        for (size_t k = 0; k < bf16.size(); ++k) bf16[k] = float(int(k) * 3 - 7) * 256.0f;
        // Q8_0: q * 0.5 with 127 present in every block -> scale exactly 0.5.
        for (size_t k = 0; k < q8.size(); ++k) q8[k] = float(int(k * 37 % 255) - 127) * 0.5f;
        q8[5] = 63.5f;
        q8[40] = -63.5f;
        q8[70] = 63.5f;
        q8[100] = -63.5f;
        // Q4_0: (code - 8) * 0.25 with -2 (code 0) the extreme of every block -> scale 0.25.
        for (size_t k = 0; k < q4.size(); ++k) q4[k] = float(int(k * 7 % 16) - 8) * 0.25f;
        for (size_t b = 0; b < 3; ++b) q4[b * 32 + 3] = -2.0f;
        w.add_tensor_from_floats("f32", DType::F32, {10, 3}, f32);
        w.add_tensor_from_floats("f16", DType::F16, {6, 2}, f16);
        w.add_tensor_from_floats("bf16", DType::BF16, {2, 2, 2}, bf16);
        w.add_tensor_from_floats("q8", DType::Q8_0, {64, 2}, q8);
        w.add_tensor_from_floats("q4", DType::Q4_0, {32, 3}, q4);
        const std::vector<uint8_t> bytes = w.to_bytes();
        const GgufFile file = GgufFile::parse(bytes);
        auto check = [&](const char* name, const std::vector<float>& values) {
            const GgufTensor* t = file.find_tensor(name);
            QVERIFY(t);
            const int64_t row = t->dims[0];
            const int64_t bytes_per_row = int64_t(t->bytes) / t->rows();
            std::vector<float> out(values.size());
            for (int64_t r = 0; r < t->rows(); ++r)
                t->dtype->dequantize_row(t->data + r * bytes_per_row, out.data() + r * row, row);
            for (size_t k = 0; k < values.size(); ++k)
                QVERIFY2(
                    out[k] == values[k],
                    qPrintable(
                        QString("%1[%2]: %3 != %4").arg(name).arg(k).arg(out[k]).arg(values[k])));
        };
        check("f32", f32);
        check("f16", f16);
        check("bf16", bf16);
        check("q8", q8);
        check("q4", q4);
        QCOMPARE(file.find_tensor("q8")->bytes, uint64_t(4 * 34));
        QCOMPARE(file.find_tensor("q4")->bytes, uint64_t(3 * 18));
    }

    void writerRejectsWrongDataSize() {
        GgufWriter w;
        const std::vector<uint8_t> data(33);
        QVERIFY_THROWS_EXCEPTION(Error, w.add_tensor("a", DType::Q8_0, {32}, data));
        QVERIFY_THROWS_EXCEPTION(Error, w.add_tensor("b", DType::Q8_0, {33}, data));
        QVERIFY_THROWS_EXCEPTION(Error, w.add_tensor("c", DType::F32, {}, data));
    }

    void writeAndOpenOnDisk() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        GgufWriter w(64);
        w.set_string("general.name", "disk ✓");
        w.set(("general.nested"),
              mk_arr(GgufType::Array, {mk_arr(GgufType::UInt8, {}),
                                       mk_arr(GgufType::Int64, {mk_i(GgufType::Int64, -9)})}));
        const std::vector<uint8_t> q8 = random_bytes(34 * 4, 7), f16 = random_bytes(2 * 24, 8);
        w.add_tensor("w.q8", DType::Q8_0, {64, 2}, q8);
        w.add_tensor("w.f16", DType::F16, {4, 3, 2}, f16);
        const std::string path = (dir.path() + "/model.gguf").toStdString();
        w.write(path);
        QVERIFY(!QFile::exists(QString::fromStdString(path + ".partial")));
        QFile raw(QString::fromStdString(path));
        QVERIFY(raw.open(QIODevice::ReadOnly));
        const QByteArray on_disk = raw.readAll();
        const std::vector<uint8_t> in_memory = w.to_bytes();
        QCOMPARE(size_t(on_disk.size()), in_memory.size());
        QVERIFY(std::memcmp(on_disk.constData(), in_memory.data(), in_memory.size()) == 0);

        const GgufFile file = GgufFile::open(path);
        QCOMPARE(QString::fromStdString(file.origin()), QString::fromStdString(path));
        QCOMPARE(file.alignment(), uint64_t(64));
        QCOMPARE(file.file_bytes(), uint64_t(in_memory.size()));
        QCOMPARE(QString::fromStdString(file.get_string("general.name")), QString("disk ✓"));
        const GgufValue* nested = file.find("general.nested");
        QVERIFY(nested && nested->items.size() == 2 && nested->items[1].items.size() == 1);
        QCOMPARE(nested->items[1].items[0].i, int64_t(-9));
        const GgufTensor* a = file.find_tensor("w.q8");
        const GgufTensor* b = file.find_tensor("w.f16");
        QVERIFY(a && b);
        QVERIFY(std::memcmp(a->data, q8.data(), q8.size()) == 0);
        QVERIFY(std::memcmp(b->data, f16.data(), f16.size()) == 0);
        QCOMPARE(b->offset, uint64_t(192));  // 136 bytes of Q8_0 padded to 64
        QCOMPARE(b->offset % 64, uint64_t(0));

        // Overwriting an existing file works and leaves no partial file.
        GgufWriter small;
        small.set_uint32("x", 1);
        small.write(path);
        QCOMPARE(GgufFile::open(path).get_int("x"), int64_t(1));
        QVERIFY(!QFile::exists(QString::fromStdString(path + ".partial")));

        // I/O failures are Errors.
        QVERIFY_THROWS_EXCEPTION(Error,
                                 small.write((dir.path() + "/no/such/dir/x.gguf").toStdString()));
        QVERIFY_THROWS_EXCEPTION(Error,
                                 GgufFile::open((dir.path() + "/missing.gguf").toStdString()));
        QVERIFY_THROWS_EXCEPTION(Error, GgufFile::open(dir.path().toStdString()));  // a directory
        // An empty file on disk (nothing to map) is a GgufError.
        const std::string empty = (dir.path() + "/empty.gguf").toStdString();
        QFile(QString::fromStdString(empty)).open(QIODevice::WriteOnly);
        QVERIFY_THROWS_EXCEPTION(GgufError, GgufFile::open(empty));
    }

    void openNamesThePathInErrors() {
        QTemporaryDir dir;
        const Base base = make_base();
        const QString path = dir.path() + "/truncated.gguf";
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(reinterpret_cast<const char*>(base.bytes.data()), qint64(base.bytes.size() - 1));
        f.close();
        try {
            GgufFile::open(path.toStdString());
            QFAIL("a truncated file was accepted");
        } catch (const GgufError& e) {
            const QString what = QString::fromStdString(e.what());
            QVERIFY2(what.contains(path), qPrintable(what));
            QVERIFY2(what.startsWith("GGUF: "), qPrintable(what));
            QCOMPARE(e.offset(), uint64_t(base.data_start + 64));  // t1 runs past the end
            // The offset should be stated once, not repeated by the rewrapping in open().
            QVERIFY2(what.count("at byte") == 1, qPrintable(what));
        }
    }

    // ----- hostile files ----------------------------------------------------------------------

    void truncatedAtEveryLength() {
        const Base base = make_base();
        QStringList failures;
        for (size_t len = 0; len < base.bytes.size(); ++len) {
            Hostile h{
                QString("truncated to %1").arg(len),
                std::vector<uint8_t>(base.bytes.begin(), base.bytes.begin() + ptrdiff_t(len))};
            const QString problem = check_rejected(h);
            if (!problem.isEmpty()) failures << problem;
            ++g_hostile_total;
        }
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
        // And the file itself is fine, also with bytes appended after the last tensor.
        std::vector<uint8_t> longer = base.bytes;
        longer.resize(longer.size() + 100, 0xAB);
        QCOMPARE(GgufFile::parse(longer).tensors().size(), size_t(2));
    }

    void patchedFieldsAreRejected() {
        const Base base = make_base();
        const std::vector<uint8_t>& ok = base.bytes;
        const int64_t size = int64_t(ok.size());
        const int64_t ds = int64_t(base.data_start);
        std::vector<Hostile> cases;
        auto add = [&](QString name, size_t at, uint64_t value, int width, int64_t offset,
                       QString contains = {}) {
            std::vector<uint8_t> bytes = ok;
            patch(bytes, at, value, width);
            cases.push_back({std::move(name), std::move(bytes), offset, std::move(contains)});
        };
        auto add_text = [&](QString name, size_t at, std::string_view text, int64_t offset,
                            QString contains = {}) {
            std::vector<uint8_t> bytes = ok;
            std::memcpy(bytes.data() + at, text.data(), text.size());
            cases.push_back({std::move(name), std::move(bytes), offset, std::move(contains)});
        };
        const uint64_t kHuge[] = {uint64_t(1) << 62, uint64_t(1) << 63, ~uint64_t(0),
                                  uint64_t(1) << 32};

        // Magic.
        for (int k = 0; k < 4; ++k)
            add(QString("magic byte %1").arg(k), size_t(k), ok[size_t(k)] ^ 0x20, 1, 0, "magic");
        add_text("magic FUGG", 0, "FUGG", 0, "magic");
        add("magic zero", 0, 0, 4, 0, "magic");
        // Version.
        for (uint64_t v : {0ull, 1ull, 4ull, 0xFFFFFFFFull, 0x03000000ull})
            add(QString("version %1").arg(v), 4, v, 4, 4, "version");
        // Counts.
        for (uint64_t v : kHuge) add(QString("tensor count %1").arg(v), 8, v, 8, 8, "tensor count");
        add("tensor count 13", 8, 13, 8, 8, "tensor count");  // > (416-24)/32
        add("tensor count 3", 8, 3, 8, int64_t(base.header_end),
            "empty tensor name");  // reads padding
        for (uint64_t v : kHuge) add(QString("kv count %1").arg(v), 16, v, 8, 16, "metadata count");
        add("kv count 31", 16, 31, 8, 16, "metadata count");  // > (416-24)/13
        add("kv count 8", 16, 8, 8, -1);                      // reads t0's info as a key/value
        // Key strings.
        for (uint64_t v : kHuge)
            add(QString("key length %1").arg(v), base.key_at[0], v, 8, int64_t(base.key_at[0]),
                "string length");
        add("key length to EOF+1", base.key_at[0], uint64_t(size - int64_t(base.key_at[0]) - 8 + 1),
            8, int64_t(base.key_at[0]), "string length");
        add("key length to EOF", base.key_at[0], uint64_t(size - int64_t(base.key_at[0]) - 8), 8,
            size, "ends inside");
        add("key length 0", base.key_at[0], 0, 8, int64_t(base.key_at[0]), "empty metadata key");
        add("key length of last key huge", base.key_at[6], uint64_t(1) << 62, 8,
            int64_t(base.key_at[6]));
        // Metadata types.
        for (uint64_t v : {13ull, 99ull, 0xFFFFFFFFull, 0x80000008ull})
            add(QString("metadata type %1").arg(v), base.type_at[0], v, 4, int64_t(base.type_at[0]),
                QString("unknown metadata type %1").arg(v));
        add("k.u32 retyped as string", base.type_at[1], uint32_t(GgufType::String), 4,
            int64_t(base.value_at[1]), "string length");
        add("k.f32 retyped as array", base.type_at[6], uint32_t(GgufType::Array), 4, -1);
        add("k.f32 retyped as float64", base.type_at[6], uint32_t(GgufType::Float64), 4, -1);
        // String values.
        for (uint64_t v : kHuge)
            add(QString("string value length %1").arg(v), base.value_at[5], v, 8,
                int64_t(base.value_at[5]), "string length");
        add("string value length 2^30+1", base.value_at[5], (uint64_t(1) << 30) + 1, 8,
            int64_t(base.value_at[5]));
        add("string value length to EOF+1", base.value_at[5],
            uint64_t(size - int64_t(base.value_at[5]) - 8 + 1), 8, int64_t(base.value_at[5]));
        for (uint64_t v : kHuge)
            add(QString("string item length %1").arg(v), base.str_item0_at, v, 8,
                int64_t(base.str_item0_at), "string length");
        // Arrays.
        for (uint64_t v : {13ull, 99ull, 0xFFFFFFFFull})
            add(QString("array element type %1").arg(v), base.arr_elem_type_at, v, 4,
                int64_t(base.arr_elem_type_at), "unknown array element type");
        add("array of ints read as arrays", base.arr_elem_type_at, uint32_t(GgufType::Array), 4,
            -1);
        add("array of strings read as float64", base.str_elem_type_at, uint32_t(GgufType::Float64),
            4, -1);
        for (uint64_t v : kHuge)
            add(QString("array count %1").arg(v), base.arr_count_at, v, 8,
                int64_t(base.arr_count_at), "cannot fit");
        add("array count rest/4+1", base.arr_count_at,
            uint64_t(size - int64_t(base.arr_count_at) - 8) / 4 + 1, 8, int64_t(base.arr_count_at),
            "cannot fit");
        add("array count 4", base.arr_count_at, 4, 8, -1);
        for (uint64_t v : kHuge)
            add(QString("string array count %1").arg(v), base.str_count_at, v, 8,
                int64_t(base.str_count_at), "cannot fit");
        // Bools.
        for (uint64_t v : {2ull, 0x80ull, 0xFFull})
            add(QString("bool %1").arg(v), base.value_at[2], v, 1, int64_t(base.value_at[2]),
                "bool");
        // Duplicate keys.
        add_text("duplicate key k.u32", base.key_at[2] + 8, "k.u32", int64_t(base.key_at[2]),
                 "duplicate metadata key 'k.u32'");
        add_text("duplicate key k.nam", base.key_at[6] + 8, "k.nam", int64_t(base.key_at[6]),
                 "duplicate");
        // Tensor names.
        add_text("duplicate tensor name", base.tname_at[1] + 8, "t0", int64_t(base.tname_at[1]),
                 "duplicate tensor name 't0'");
        add("empty tensor name", base.tname_at[0], 0, 8, int64_t(base.tname_at[0]),
            "empty tensor name");
        for (uint64_t v : kHuge)
            add(QString("tensor name length %1").arg(v), base.tname_at[0], v, 8,
                int64_t(base.tname_at[0]), "string length");
        // Dimension counts.
        for (uint64_t v : {0ull, 5ull, 0xFFFFFFFFull, 0x80000001ull})
            add(QString("t0 n_dims %1").arg(v), base.ndims_at[0], v, 4, int64_t(base.ndims_at[0]),
                "dimensions");
        add("t1 n_dims 0", base.ndims_at[1], 0, 4, int64_t(base.ndims_at[1]), "dimensions");
        add("t1 n_dims 5", base.ndims_at[1], 5, 4, int64_t(base.ndims_at[1]), "dimensions");
        add("t0 n_dims 3", base.ndims_at[0], 3, 4, -1);  // the type field is read as a dimension
        // Dimensions.
        add("t0 dim0 0", base.dim_at[0][0], 0, 8, int64_t(base.dim_at[0][0]),
            "invalid dimension 0");
        add("t0 dim1 0", base.dim_at[0][1], 0, 8, int64_t(base.dim_at[0][1]),
            "invalid dimension 0");
        add("t1 dim0 0", base.dim_at[1][0], 0, 8, int64_t(base.dim_at[1][0]), "invalid dimension");
        add("t0 dim1 2^63", base.dim_at[0][1], uint64_t(1) << 63, 8, int64_t(base.dim_at[0][1]),
            "invalid dimension");
        add("t0 dim1 2^64-1", base.dim_at[0][1], ~uint64_t(0), 8, int64_t(base.dim_at[0][1]),
            "invalid dimension");
        add("t0 dim1 2^59 (product 2^64)", base.dim_at[0][1], uint64_t(1) << 59, 8,
            int64_t(base.dim_at[0][1]), "invalid dimension");
        add("t0 dim1 2^58 (product 2^63)", base.dim_at[0][1], uint64_t(1) << 58, 8,
            int64_t(base.dim_at[0][1]), "invalid dimension");
        // 32 * (2^58 - 1) elements fit in int64, their 34 * (2^58 - 1) bytes do not.
        add("t0 dim1 2^58-1 (bytes overflow)", base.dim_at[0][1], (uint64_t(1) << 58) - 1, 8,
            int64_t(base.ndims_at[0]), "too large");
        add("t0 dim1 2^40 (past the end)", base.dim_at[0][1], uint64_t(1) << 40, 8, ds,
            "past the end");
        add("t1 dim0 2^63", base.dim_at[1][0], uint64_t(1) << 63, 8, int64_t(base.dim_at[1][0]),
            "invalid dimension");
        add("t1 dim0 9 (past the end)", base.dim_at[1][0], 9, 8, ds + 64, "past the end");
        // Tensor types.
        add("t0 type 99", base.ttype_at[0], 99, 4, int64_t(base.ttype_at[0]), "99");
        add("t0 type Q8_K", base.ttype_at[0], 15, 4, int64_t(base.ttype_at[0]), "Q8_K");
        add("t0 type Q8_1", base.ttype_at[0], 9, 4, int64_t(base.ttype_at[0]), "Q8_1");
        add("t0 type IQ4_NL", base.ttype_at[0], 20, 4, int64_t(base.ttype_at[0]), "IQ4_NL");
        add("t0 type F64", base.ttype_at[0], 28, 4, int64_t(base.ttype_at[0]), "F64");
        // The message lists what the engine reads.
        add("t0 type IQ2_XS", base.ttype_at[0], 17, 4, int64_t(base.ttype_at[0]),
            "supported: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, "
            "BF16");
        // Supported super-block types: t0's 32 values are not a whole super-block of 256.
        add("t0 type Q4_K", base.ttype_at[0], 12, 4, int64_t(base.ndims_at[0]),
            "not a whole number of Q4_K blocks");
        add("t0 type Q6_K", base.ttype_at[0], 14, 4, int64_t(base.ndims_at[0]), "Q6_K blocks");
        add("t0 type 31", base.ttype_at[0], 31, 4, int64_t(base.ttype_at[0]), "31");
        add("t0 type 4", base.ttype_at[0], 4, 4, int64_t(base.ttype_at[0]), "unsupported type");
        add("t0 type 2^32-1", base.ttype_at[0], 0xFFFFFFFFu, 4, int64_t(base.ttype_at[0]),
            "4294967295");
        add("t1 type Q8_0 (8 values)", base.ttype_at[1], 8, 4, int64_t(base.ndims_at[1]),
            "whole number");
        // Rows that are not whole blocks.
        for (uint64_t v : {33ull, 16ull, 31ull, 1ull, 48ull})
            add(QString("Q8_0 ne0 %1").arg(v), base.dim_at[0][0], v, 8, int64_t(base.ndims_at[0]),
                "Q8_0");
        add("Q8_0 ne0 64 (overlaps t1)", base.dim_at[0][0], 64, 8, ds + 64, "overlap");
        // Offsets.
        for (uint64_t v : {65ull, 48ull, 33ull, 1ull, 96ull + 16})
            add(QString("t1 offset %1 misaligned").arg(v), base.toff_at[1], v, 8,
                int64_t(base.toff_at[1]), "not aligned");
        add("t0 offset 1 misaligned", base.toff_at[0], 1, 8, int64_t(base.toff_at[0]),
            "not aligned");
        add("t1 offset 96 (past the end)", base.toff_at[1], 96, 8, ds + 96, "past the end");
        add("t1 offset 2^62", base.toff_at[1], uint64_t(1) << 62, 8, size, "past the end");
        add("t1 offset 2^64-32", base.toff_at[1], ~uint64_t(31), 8, size, "past the end");
        add("t0 offset 64 (past the end)", base.toff_at[0], 64, 8, ds + 64, "past the end");
        add("t1 offset 32 (overlaps t0)", base.toff_at[1], 32, 8, ds + 32, "overlap");
        add("t1 offset 0 (same as t0)", base.toff_at[1], 0, 8, ds, "overlap");
        {
            std::vector<uint8_t> bytes = ok;
            patch(bytes, base.toff_at[0], 32, 8);  // t0 [32, 66) overlaps t1 [64, 96)
            cases.push_back({"t0 offset 32 (overlaps t1)", bytes, ds + 64, "overlap"});
        }
        // general.alignment.
        for (uint64_t v :
             {0ull, 3ull, 6ull, 33ull, 48ull, 1ull << 21, 0x80000000ull, 0xFFFFFFFFull})
            add(QString("alignment %1").arg(v), base.value_at[0], v, 4, -1, "alignment");
        add("alignment 128 (t1 misaligned)", base.value_at[0], 128, 4, int64_t(base.toff_at[1]),
            "not aligned");
        add("alignment retyped float32", base.type_at[0], uint32_t(GgufType::Float32), 4, -1,
            "alignment");
        {
            std::vector<uint8_t> bytes = ok;
            patch(bytes, base.type_at[0], uint32_t(GgufType::Int32), 4);
            patch(bytes, base.value_at[0], uint32_t(-32), 4);
            cases.push_back({"alignment int32 -32", bytes, -1, "alignment"});
        }
        // Names from the file end up in messages: a NUL in them must not cut the message short
        // (what() is a C string) before the byte offset.
        {
            std::vector<uint8_t> bytes = ok;
            bytes[base.key_at[2] + 8 + 2] = 0;  // key "k.\0ol"
            patch(bytes, base.type_at[2], 99, 4);
            cases.push_back({"NUL in key of unknown type", bytes, int64_t(base.type_at[2]),
                             "unknown metadata type 99"});
        }
        {
            std::vector<uint8_t> bytes = ok;
            bytes[base.tname_at[0] + 8 + 1] = 0;  // tensor name "t\0"
            patch(bytes, base.ttype_at[0], 15, 4);
            cases.push_back(
                {"NUL in tensor name of type Q8_K", bytes, int64_t(base.ttype_at[0]), "Q8_K"});
        }
        add("alignment retyped string", base.type_at[0], uint32_t(GgufType::String), 4,
            int64_t(base.value_at[0]), "string length");

        QStringList failures;
        for (const Hostile& h : cases) {
            const QString problem = check_rejected(h);
            if (!problem.isEmpty()) failures << problem;
        }
        g_hostile_total += int(cases.size());
        qInfo("patched files: %d", int(cases.size()));
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
    }

    void positiveAlignmentPatches() {
        // Alignments under which the base file's offsets stay valid are accepted.
        for (uint32_t a : {1u, 2u, 16u, 64u}) {
            Base base = make_base();
            patch(base.bytes, base.value_at[0], a, 4);
            const GgufFile file = GgufFile::parse(base.bytes);
            QCOMPARE(file.alignment(), uint64_t(a));
            const uint64_t data_start = align_up(base.header_end, a);
            QCOMPARE(file.find_tensor("t1")->data, base.bytes.data() + data_start + 64);
        }
    }

    void handBuiltHostileFiles() {
        std::vector<Hostile> cases;
        auto single_kv = [](std::string_view key, const std::function<void(Bytes&)>& value) {
            Bytes b;
            b.header(3, 0, 1);
            b.str(key);
            value(b);
            return b.b;
        };
        // Array nesting: four levels parse, five do not.
        auto nested = [&](int levels) {
            size_t deepest_at = 0;
            auto bytes = single_kv("deep", [&](Bytes& b) {
                b.u32(uint32_t(GgufType::Array));
                for (int level = 1; level < levels; ++level) {
                    b.u32(uint32_t(GgufType::Array));  // element type
                    b.u64(1);                          // one element: the next array
                }
                deepest_at = b.u32(uint32_t(GgufType::UInt8));
                b.u64(1);
                b.u8(42);
            });
            return std::pair(bytes, deepest_at);
        };
        {
            const auto [bytes, at] = nested(4);
            const GgufFile file = GgufFile::parse(bytes);
            const GgufValue* v = file.find("deep");
            QVERIFY(v);
            QCOMPARE(v->items[0].items[0].items[0].items[0].u, uint64_t(42));
            Q_UNUSED(at);
        }
        for (int levels : {5, 6, 40}) {
            auto [bytes, at] = nested(levels);
            // The element-type field of the fifth array (depth 4) is where the problem is.
            const int64_t fifth = int64_t(24 + 8 + 4 + 4) + 4 * 12;
            cases.push_back({QString("arrays nested %1 deep").arg(levels), bytes, fifth, "nested"});
        }
        // An empty array at depth five is still too deep.
        cases.push_back({"empty array at depth five",
                         single_kv("deep",
                                   [](Bytes& b) {
                                       b.u32(uint32_t(GgufType::Array));
                                       for (int level = 0; level < 4; ++level) {
                                           b.u32(uint32_t(GgufType::Array));
                                           b.u64(1);
                                       }
                                       b.u32(uint32_t(GgufType::UInt8));
                                       b.u64(0);
                                   }),
                         -1, "nested"});
        // general.alignment of the wrong type or value.
        auto alignment = [&](QString name, const std::function<void(Bytes&)>& value,
                             QString contains) {
            cases.push_back(
                {std::move(name), single_kv("general.alignment", value), -1, std::move(contains)});
        };
        alignment(
            "alignment as string",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::String));
                b.str("32");
            },
            "alignment");
        alignment(
            "alignment as float32 32.0",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::Float32));
                b.f32(32.0f);
            },
            "alignment");
        alignment(
            "alignment as float64 32.0",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::Float64));
                b.f64(32.0);
            },
            "alignment");
        alignment(
            "alignment as bool",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::Bool));
                b.u8(1);
            },
            "alignment");
        alignment(
            "alignment as array",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::Array));
                b.u32(uint32_t(GgufType::UInt32));
                b.u64(1);
                b.u32(32);
            },
            "alignment");
        alignment(
            "alignment int64 -32",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::Int64));
                b.u64(uint64_t(-32));
            },
            "alignment");
        alignment(
            "alignment int8 0",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::Int8));
                b.u8(0);
            },
            "alignment");
        alignment(
            "alignment uint64 2^40",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::UInt64));
                b.u64(uint64_t(1) << 40);
            },
            "alignment");
        alignment(
            "alignment uint64 2^63",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::UInt64));
                b.u64(uint64_t(1) << 63);
            },
            "alignment");
        alignment(
            "alignment uint64 2^64-1",
            [](Bytes& b) {
                b.u32(uint32_t(GgufType::UInt64));
                b.u64(~uint64_t(0));
            },
            "alignment");
        // Strings whose length field itself is cut off or absurd.
        cases.push_back({"key length cut off",
                         [] {
                             Bytes b;
                             b.header(3, 0, 1);
                             b.u32(5);
                             return b.b;
                         }(),
                         16, "metadata count"});
        cases.push_back({"value type cut off",
                         [] {
                             Bytes b;
                             b.header(3, 0, 1);
                             b.str("kkkkkkkkkk");
                             b.u16(0);
                             return b.b;
                         }(),
                         42, "ends inside"});
        // A tensor whose data section is missing altogether.
        cases.push_back({"tensor without data",
                         [] {
                             Bytes b;
                             b.header(3, 1, 0);
                             b.str("w");
                             b.u32(1);
                             b.u64(8);
                             b.u32(0);
                             b.u64(0);
                             return b.b;
                         }(),
                         -1,
                         {}});
        // Version 3 header with counts but nothing after it.
        cases.push_back({"header only, one kv",
                         [] {
                             Bytes b;
                             b.header(3, 0, 1);
                             return b.b;
                         }(),
                         16, "metadata count"});
        cases.push_back({"header only, one tensor",
                         [] {
                             Bytes b;
                             b.header(3, 1, 0);
                             return b.b;
                         }(),
                         8, "tensor count"});

        QStringList failures;
        for (const Hostile& h : cases) {
            const QString problem = check_rejected(h);
            if (!problem.isEmpty()) failures << problem;
        }
        g_hostile_total += int(cases.size());
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));

        // The same bytes with a valid power-of-two alignment are accepted.
        const auto good = single_kv("general.alignment", [](Bytes& b) {
            b.u32(uint32_t(GgufType::UInt64));
            b.u64(256);
        });
        QCOMPARE(GgufFile::parse(good).alignment(), uint64_t(256));
    }

    void randomByteFlipsNeverCrash() {
        // Random corruption: whatever the parser accepts must still be a consistent file.
        const Base base = make_base();
        std::mt19937 rng(1234);
        int rejected = 0, accepted = 0;
        QStringList failures;
        for (int round = 0; round < 3000; ++round) {
            std::vector<uint8_t> bytes = base.bytes;
            const int flips = 1 + int(rng() % 4);
            for (int k = 0; k < flips; ++k) {
                const size_t at = rng() % base.header_end;  // corrupt the header, not the data
                bytes[at] =
                    (rng() % 3 == 0) ? uint8_t(rng()) : uint8_t(bytes[at] ^ (1u << (rng() % 8)));
            }
            bytes.shrink_to_fit();
            try {
                const GgufFile file = GgufFile::parse(bytes);
                ++accepted;
                const QString problem = check_accepted_invariants(file, bytes);
                if (!problem.isEmpty()) failures << QString("round %1: %2").arg(round).arg(problem);
            } catch (const GgufError& e) {
                // (The message itself is checked by patchedFieldsAreRejected; random names may
                // hold NULs.)
                ++rejected;
                if (!QString(e.what()).startsWith("GGUF: ") || e.offset() > bytes.size())
                    failures << QString("round %1: offset %2: %3")
                                    .arg(round)
                                    .arg(e.offset())
                                    .arg(e.what());
            } catch (const std::exception& e) {
                failures << QString("round %1: not a GgufError: %2").arg(round).arg(e.what());
            }
        }
        qInfo("random corruptions: %d rejected, %d accepted (consistent)", rejected, accepted);
        QVERIFY(rejected > 1000);
        QVERIFY2(failures.isEmpty(), qPrintable(failures.mid(0, 20).join("\n")));
    }

    void truncatedQuantizedTensorIsAClearError() {
        // A Q4_1 matrix (3 rows of 64 values: 6 blocks of 20 bytes) as the last tensor of a
        // file: cut anywhere inside its data, the file is rejected with a message that names the
        // tensor, its type and its size, at the byte where its data starts.
        GgufWriter w(32);
        w.set_string("general.architecture", "llama");
        std::vector<float> values(64 * 3);
        for (size_t k = 0; k < values.size(); ++k) values[k] = float(int(k % 23) - 11) * 0.125f;
        w.add_tensor_from_floats("blk.0.ffn_up.weight", DType::Q4_1, {64, 3}, values);
        const std::vector<uint8_t> bytes = w.to_bytes();
        const GgufFile whole = GgufFile::parse(bytes);
        const GgufTensor* t = whole.find_tensor("blk.0.ffn_up.weight");
        QVERIFY(t);
        QCOMPARE(t->dtype->type, DType::Q4_1);
        QCOMPARE(t->bytes, uint64_t(6 * 20));
        const int64_t data_at = t->data - bytes.data();
        const int64_t data_end = data_at + int64_t(t->bytes);  // the writer pads after it
        QVERIFY(bytes.size() >= size_t(data_end));
        QStringList failures;
        for (const int64_t cut : {1, 2, 19, 20, 21, 60, 100, 119, 120}) {
            const std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + (data_end - cut));
            const QString problem = check_rejected(
                {QString("Q4_1 tensor cut by %1 bytes").arg(cut), truncated, data_at,
                 "tensor 'blk.0.ffn_up.weight' (Q4_1, 120 bytes at data offset 0) runs past the "
                 "end of the file"});
            if (!problem.isEmpty()) failures << problem;
            ++g_hostile_total;
        }
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
        // Within the header the same cut is caught where the header ends.
        const std::vector<uint8_t> header_only(bytes.begin(), bytes.begin() + data_at - 1);
        QVERIFY_THROWS_EXCEPTION(GgufError, GgufFile::parse(header_only));
    }

    void everyTypeIsReadFromItsBlocks() {
        // t0 of the base file retyped to each supported block type of 32 (its 34 data bytes
        // hold at least one block of each): accepted, with the byte count of the new type.
        for (const uint32_t type : {2u, 3u, 6u, 7u, 8u}) {
            Base base = make_base();
            patch(base.bytes, base.ttype_at[0], type, 4);
            const GgufFile file = GgufFile::parse(base.bytes);
            const GgufTensor& t0 = file.tensors()[0];
            QCOMPARE(t0.raw_type, type);
            QCOMPARE(int64_t(t0.bytes), block_of(type).second);
            QCOMPARE(t0.data, base.bytes.data() + base.data_start);
        }
    }

    // Last: under UBSan an engine overflow here aborts the process.
    void tensorBytesOverflowIsRejected() {
        // Element counts that fit in int64 but whose byte size does not: F32 with ne0 = 2^62
        // (2^64 bytes) and Q8_0 with ne0 = 2^63 - 32 ((2^58 - 1) * 34 bytes). The parser must
        // reject them instead of computing a wrapped byte count.
        QStringList failures;
        const struct {
            const char* name;
            int tensor;
            uint64_t dim0;
        } cases[] = {
            {"F32 ne0 2^62", 1, uint64_t(1) << 62},
            {"F32 ne0 2^61", 1, uint64_t(1) << 61},
            {"F32 ne0 2^63-1", 1, (uint64_t(1) << 63) - 1},
            {"Q8_0 ne0 2^63-32", 0, (uint64_t(1) << 63) - 32},
        };
        for (const auto& c : cases) {
            Base base = make_base();
            patch(base.bytes, base.dim_at[c.tensor][0], c.dim0, 8);
            const QString problem = check_rejected({c.name, base.bytes, -1, {}});
            if (!problem.isEmpty()) failures << problem;
            ++g_hostile_total;
        }
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
    }
};

QTEST_APPLESS_MAIN(TestGguf)
#include "tst_gguf.moc"
