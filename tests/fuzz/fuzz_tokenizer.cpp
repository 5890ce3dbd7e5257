// Arbitrary bytes through a tokenizer read from the GGUF named by $SE_FUZZ_VOCAB (a byte-level
// BPE or a SentencePiece vocabulary; tools/fuzz.sh runs this target once with each): encoding
// must not crash, every id must be in the vocabulary, no control token may come out of text, and
// valid UTF-8 must decode back to exactly the input (both vocabularies fall back to bytes), except
// that SentencePiece writes spaces as U+2581 "▁", so that character itself comes back as a space
// (as in every SentencePiece implementation).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "gguf/gguf_file.h"
#include "selfextend/error.h"
#include "selfextend/tokenizer.h"
#include "tokenizer/gguf_tokenizer.h"

using namespace selfextend;

namespace {

std::unique_ptr<Tokenizer>& tokenizer() {
    static std::unique_ptr<Tokenizer> loaded;
    return loaded;
}

// Strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const int n = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
        if (n == 0 || i + size_t(n) > s.size()) return false;
        uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
        for (int k = 1; k < n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + size_t(k)]);
            if ((d >> 6) != 0x2) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kSmallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += size_t(n);
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* path = std::getenv("SE_FUZZ_VOCAB");
    if (!path) {
        std::fprintf(stderr, "fuzz_tokenizer: set SE_FUZZ_VOCAB to a GGUF with a vocabulary\n");
        std::exit(2);
    }
    tokenizer() = tokenizer_from_gguf(GgufFile::open(path));
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Tokenizer& t = *tokenizer();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<int32_t> ids;
    try {
        ids = t.encode(text, false);
    } catch (const Error&) {
        return 0;  // refused with a message: fine
    }
    for (const int32_t id : ids)
        if (id < 0 || id >= t.vocab_size() || t.kind(id) == PieceKind::Control) std::abort();
    const bool sentencepiece = t.kind_name() == "SentencePiece";
    if (valid_utf8(text) && text.find('\0') == std::string_view::npos &&
        !(sentencepiece && text.find("\u2581") != std::string_view::npos)) {
        const std::string back = t.decode(ids);
        if (back != text) {
            std::fprintf(stderr, "round trip differs: %zu bytes in, %zu out\n", text.size(),
                         back.size());
            std::abort();
        }
    }
    return 0;
}
