// The committed reference logits of the real-model tests (tst_smollm2, tst_gemma3): reading the
// token and logits files (format: tests/data/smollm2/README.md) and measuring how close a
// session's logits come to them.
#pragma once

#include <QByteArray>
#include <QFile>
#include <QString>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

#include "selfextend/attention_mode.h"

namespace testing {

static_assert(std::endian::native == std::endian::little,
              "the reference files are little-endian and read by copying their bytes");

using selfextend::AttentionMode;

// Reads a file's bytes front to back, checking every length.
class ByteReader {
  public:
    explicit ByteReader(QByteArray bytes) : bytes_(std::move(bytes)) {}

    bool magic(std::string_view expected) {
        if (remaining() < expected.size() ||
            std::memcmp(bytes_.constData() + offset_, expected.data(), expected.size()) != 0)
            return false;
        offset_ += expected.size();
        return true;
    }

    template <typename T>
    bool read(std::vector<T>& out, size_t count) {
        if (count > remaining() / sizeof(T)) return false;
        out.resize(count);
        std::memcpy(out.data(), bytes_.constData() + offset_, count * sizeof(T));
        offset_ += count * sizeof(T);
        return true;
    }

    bool at_end() const { return remaining() == 0; }

  private:
    size_t remaining() const { return size_t(bytes_.size()) - offset_; }

    QByteArray bytes_;
    size_t offset_ = 0;
};

// One logits_<setting>.bin: a few rows in full, and the top-k logits of every row.
struct ReferenceLogits {
    AttentionMode mode;
    int rows = 0;  // one per token
    int vocab = 0;
    int top_k = 0;
    std::vector<int32_t> full_rows;  // indices of the rows stored in full
    std::vector<float> full_logits;  // [full_rows x vocab]
    std::vector<int32_t> top_ids;    // [rows x top_k], largest logit first
    std::vector<float> top_logits;   // [rows x top_k]
};

// Reads tokens.bin into `tokens`; returns what is wrong with the file, or an empty string.
inline QString read_tokens(const QString& path, std::vector<int32_t>& tokens) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return "cannot open " + path;
    ByteReader in(file.readAll());
    std::vector<uint32_t> count;
    if (!in.magic("SETOKEN1") || !in.read(count, 1) || !in.read(tokens, count[0]) || !in.at_end())
        return path + " is not a token file of the documented format";
    return {};
}

// Reads a logits_<setting>.bin into `ref`; returns what is wrong with the file, or "".
inline QString read_logits(const QString& path, ReferenceLogits& ref) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return "cannot open " + path;
    ByteReader in(file.readAll());
    std::vector<uint32_t> header;  // group, window, rows, vocab, full rows, top_k
    if (!in.magic("SELOGIT1") || !in.read(header, 6))
        return path + " does not start with a logits header";
    ref.mode = header[0] == 1 ? AttentionMode::vanilla()
                              : AttentionMode::self_extend(int(header[0]), int(header[1]));
    ref.rows = int(header[2]);
    ref.vocab = int(header[3]);
    ref.top_k = int(header[5]);
    const size_t rows = header[2], vocab = header[3], full = header[4], top_k = header[5];
    if (!in.read(ref.full_rows, full) || !in.read(ref.full_logits, full * vocab) ||
        !in.read(ref.top_ids, rows * top_k) || !in.read(ref.top_logits, rows * top_k) ||
        !in.at_end())
        return path + " is shorter or longer than its header says";
    for (const int32_t row : ref.full_rows)
        if (row < 0 || row >= ref.rows) return path + ": a full row lies outside the passage";
    for (const int32_t id : ref.top_ids)
        if (id < 0 || id >= ref.vocab) return path + ": a top-k id lies outside the vocabulary";
    return {};
}

// Reads the reference of a test's data row into `ref` and checks that it holds the setting the
// row names (group 1: vanilla); returns what is wrong, or "".
inline QString read_logits_for(const QString& path, int group, int window, ReferenceLogits& ref) {
    const QString error = read_logits(path, ref);
    if (!error.isEmpty()) return error;
    const AttentionMode expected =
        group == 1 ? AttentionMode::vanilla() : AttentionMode::self_extend(group, window);
    if (!(ref.mode == expected))
        return path + " holds " + QString::fromStdString(ref.mode.describe());
    return {};
}

// How close a session's logits [rows x vocab] come to a reference.
struct Agreement {
    double full_rows_error = 0;    // max |delta| over the full rows / the reference's max |logit|
    double top_entries_error = 0;  // the same over the top-k entries of every row
    double top1 = 0;               // share of rows whose argmax is the reference's top-1 token

    double error() const { return std::max(full_rows_error, top_entries_error); }
};

// What the comparison needs of a session's logits, gathered a few rows at a time when a whole
// passage's logits would not fit in memory (Gemma 3: 1 331 x 262 144 floats): each row's logits
// at the reference's top-k ids and its own argmax, and the rows the reference stores in full.
struct LogitsDigest {
    std::vector<float> at_top;    // [rows x top_k]
    std::vector<int32_t> argmax;  // [rows]
    std::vector<float> full;      // [full rows x vocab]
};

// Adds `count` rows of logits [count x vocab], the passage's rows first_row.., to the digest.
inline void add_rows(LogitsDigest& d, const float* logits, int64_t first_row, int64_t count,
                     const ReferenceLogits& ref) {
    d.full.resize(ref.full_rows.size() * size_t(ref.vocab));
    for (int64_t t = 0; t < count; ++t) {
        const int64_t row = first_row + t;
        const float* ours = logits + size_t(t) * size_t(ref.vocab);
        for (int k = 0; k < ref.top_k; ++k)
            d.at_top.push_back(ours[ref.top_ids[size_t(row) * size_t(ref.top_k) + size_t(k)]]);
        d.argmax.push_back(int32_t(std::max_element(ours, ours + ref.vocab) - ours));
        for (size_t f = 0; f < ref.full_rows.size(); ++f)
            if (ref.full_rows[f] == row)
                std::copy_n(ours, ref.vocab, d.full.begin() + std::ptrdiff_t(f * ref.vocab));
    }
}

inline Agreement compare(const LogitsDigest& d, const ReferenceLogits& ref) {
    double scale = 0, full_delta = 0, top_delta = 0;
    for (size_t k = 0; k < ref.full_logits.size(); ++k) {
        scale = std::max(scale, std::abs(double(ref.full_logits[k])));
        full_delta = std::max(full_delta, std::abs(double(d.full[k]) - ref.full_logits[k]));
    }
    int same_top1 = 0;
    for (int row = 0; row < ref.rows; ++row) {
        const size_t first = size_t(row) * size_t(ref.top_k);
        for (int k = 0; k < ref.top_k; ++k) {
            const double expected = ref.top_logits[first + size_t(k)];
            scale = std::max(scale, std::abs(expected));
            top_delta =
                std::max(top_delta, std::abs(double(d.at_top[first + size_t(k)]) - expected));
        }
        same_top1 += d.argmax[size_t(row)] == ref.top_ids[first];
    }
    return {full_delta / scale, top_delta / scale, double(same_top1) / double(ref.rows)};
}

// The passage's logits [rows x vocab] at once.
inline Agreement compare(const std::vector<float>& logits, const ReferenceLogits& ref) {
    LogitsDigest d;
    add_rows(d, logits.data(), 0, ref.rows, ref);
    return compare(d, ref);
}

}  // namespace testing
