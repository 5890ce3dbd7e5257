#include "AnswerSources.h"

#include <QString>
#include <algorithm>
#include <numeric>
#include <string>

#include "selfextend/tokenizer.h"

namespace studio {
namespace {

bool isBlank(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

// The document's end is looked for by its last bytes (a prompt cut to fit holds only its end).
constexpr size_t kAnchorBytes = 200;

// QString offset of a byte offset at a character boundary of valid UTF-8 text.
qsizetype utf16Offset(std::string_view text, int64_t byte) {
    return QString::fromUtf8(text.data(), qsizetype(byte)).size();
}

}  // namespace

std::vector<ByteRange> documentTokenRanges(const selfextend::Tokenizer& tokenizer,
                                           std::span<const int32_t> prompt, int64_t documentPrefix,
                                           std::string_view document) {
    if (document.empty() || documentPrefix <= 0 || documentPrefix > int64_t(prompt.size()))
        return {};
    // The prompt decoded token by token: token t is decoded[start[t], start[t + 1]).
    selfextend::StreamDecoder decoder(tokenizer, true);
    std::string decoded;
    std::vector<int64_t> start(prompt.size() + 1);
    for (size_t t = 0; t < prompt.size(); ++t) {
        start[t] = int64_t(decoded.size());
        decoded += decoder.push(prompt[t]);
    }
    start[prompt.size()] = int64_t(decoded.size());
    decoded += decoder.flush();

    // The document's last bytes, before the first question starts.
    const std::string_view anchor =
        document.substr(document.size() - std::min(kAnchorBytes, document.size()));
    const std::string_view head =
        std::string_view(decoded).substr(0, size_t(start[size_t(documentPrefix)]));
    const size_t found = head.rfind(anchor);
    if (found == std::string_view::npos) return {};
    // decoded[offset + k] is document[k] wherever both exist: check that they agree.
    const int64_t end = int64_t(found + anchor.size());
    const int64_t offset = end - int64_t(document.size());
    const int64_t overlap = std::min<int64_t>(end, int64_t(document.size()));
    if (decoded.compare(size_t(end - overlap), size_t(overlap), document,
                        document.size() - size_t(overlap), size_t(overlap)) != 0)
        return {};

    std::vector<ByteRange> ranges(prompt.size());
    const int64_t size = int64_t(document.size());
    for (size_t t = 0; t < prompt.size(); ++t) {
        const int64_t begin = std::clamp<int64_t>(start[t] - offset, 0, size);
        const int64_t stop = std::clamp<int64_t>(start[t + 1] - offset, 0, size);
        ranges[t] = {begin, stop};
    }
    return ranges;
}

std::vector<ByteRange> splitPassages(std::string_view document) {
    std::vector<ByteRange> passages;
    const auto add = [&](int64_t begin, int64_t end) {
        while (begin < end && isBlank(document[size_t(begin)])) ++begin;
        while (end > begin && isBlank(document[size_t(end - 1)])) --end;
        if (begin < end) passages.push_back({begin, end});
    };
    const auto size = int64_t(document.size());
    int64_t begin = 0;
    for (int64_t k = 0; k < size; ++k) {
        const char c = document[size_t(k)];
        const bool sentenceEnd = (c == '.' || c == '!' || c == '?') &&
                                 (k + 1 == size || isBlank(document[size_t(k + 1)]));
        const bool tooLong = k - begin >= kMaxPassageBytes && c == ' ';
        if (c == '\n' || sentenceEnd || tooLong) {
            add(begin, k + 1);
            begin = k + 1;
        }
    }
    add(begin, size);
    return passages;
}

AnswerSources rankSources(std::string_view document, std::span<const ByteRange> tokenRanges,
                          std::span<const float> mass, int count) {
    AnswerSources sources;
    const std::vector<ByteRange> passages = splitPassages(document);
    if (passages.empty()) return sources;
    std::vector<double> passageMass(passages.size(), 0.0);
    const size_t tokens = std::min(tokenRanges.size(), mass.size());
    for (size_t t = 0; t < tokens; ++t) {
        ByteRange r = tokenRanges[t];
        if (r.empty()) continue;
        while (r.begin + 1 < r.end && isBlank(document[size_t(r.begin)])) ++r.begin;
        // The passage holding the token's first non-blank byte (or the next one after a blank).
        const auto after =
            std::upper_bound(passages.begin(), passages.end(), r.begin,
                             [](int64_t byte, const ByteRange& p) { return byte < p.begin; });
        if (after == passages.begin()) continue;  // blanks before the first passage
        const auto p = after - 1;
        if (r.begin >= p->end) continue;  // blanks between passages
        passageMass[size_t(p - passages.begin())] += double(mass[t]);
    }
    const double total = std::accumulate(passageMass.begin(), passageMass.end(), 0.0);
    if (total <= 0) return sources;
    std::vector<size_t> order(passages.size());
    std::iota(order.begin(), order.end(), size_t(0));
    const size_t top = std::min(order.size(), size_t(std::max(count, 0)));
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(top), order.end(),
                      [&](size_t a, size_t b) { return passageMass[a] > passageMass[b]; });
    for (size_t k = 0; k < top; ++k) {
        const ByteRange& p = passages[order[k]];
        const qsizetype start = utf16Offset(document, p.begin);
        sources.passages.push_back(
            {start, utf16Offset(document, p.end) - start, passageMass[order[k]] / total});
    }
    return sources;
}

}  // namespace studio
