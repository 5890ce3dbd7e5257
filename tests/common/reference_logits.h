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

inline Agreement compare(const std::vector<float>& logits, const ReferenceLogits& ref) {
    const auto at = [&](int64_t row, int64_t id) {
        return double(logits[size_t(row) * size_t(ref.vocab) + size_t(id)]);
    };
    double scale = 0, full_delta = 0, top_delta = 0;
    for (size_t r = 0; r < ref.full_rows.size(); ++r)
        for (int v = 0; v < ref.vocab; ++v) {
            const double expected = ref.full_logits[r * size_t(ref.vocab) + size_t(v)];
            scale = std::max(scale, std::abs(expected));
            full_delta = std::max(full_delta, std::abs(at(ref.full_rows[r], v) - expected));
        }
    int same_top1 = 0;
    for (int row = 0; row < ref.rows; ++row) {
        const size_t first = size_t(row) * size_t(ref.top_k);
        for (int k = 0; k < ref.top_k; ++k) {
            const double expected = ref.top_logits[first + size_t(k)];
            scale = std::max(scale, std::abs(expected));
            top_delta =
                std::max(top_delta, std::abs(at(row, ref.top_ids[first + size_t(k)]) - expected));
        }
        const float* ours = logits.data() + size_t(row) * size_t(ref.vocab);
        same_top1 += std::max_element(ours, ours + ref.vocab) - ours == ref.top_ids[first];
    }
    return {full_delta / scale, top_delta / scale, double(same_top1) / double(ref.rows)};
}

}  // namespace testing
