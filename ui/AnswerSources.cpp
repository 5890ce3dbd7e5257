#include "AnswerSources.h"

#include <QString>

namespace studio {
namespace {

// QString offset of a byte offset at a character boundary of valid UTF-8 text.
qsizetype utf16Offset(std::string_view text, int64_t byte) {
    return QString::fromUtf8(text.data(), qsizetype(byte)).size();
}

}  // namespace

AnswerSources studioSources(std::string_view document,
                            std::span<const selfextend::RankedPassage> ranked) {
    AnswerSources sources;
    for (const selfextend::RankedPassage& p : ranked) {
        const qsizetype start = utf16Offset(document, p.bytes.begin);
        sources.passages.push_back({start, utf16Offset(document, p.bytes.end) - start, p.share});
    }
    return sources;
}

}  // namespace studio
