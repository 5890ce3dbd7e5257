#include "tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "gguf/gguf_file.h"
#include "selfextend/error.h"
#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/parallel_encode.h"

namespace selfextend {

namespace {

// Bytes that stand for themselves in GPT-2's table: '!'..'~', '¡'..'¬', '®'..'ÿ'.
bool is_printable_latin1(uint8_t b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

std::string utf8_of(uint32_t cp) {
    std::string out;
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else {  // the table only reaches U+0143
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
    return out;
}

// The code point of the one- or two-byte UTF-8 sequence at text[at] and its length; {0, 0}
// when there is none (longer sequences never stand for a byte).
std::pair<uint32_t, size_t> short_code_point_at(std::string_view text, size_t at) {
    const auto b0 = uint8_t(text[at]);
    if (b0 < 0x80) return {b0, 1};
    if (b0 >= 0xC2 && b0 <= 0xDF && at + 1 < text.size() && (uint8_t(text[at + 1]) & 0xC0) == 0x80)
        return {uint32_t(b0 & 0x1F) << 6 | (uint8_t(text[at + 1]) & 0x3F), 2};
    return {0, 0};
}

// The length of the UTF-8 sequence that starts with b (1 for a byte that starts none).
size_t sequence_length(uint8_t b) {
    return b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
}

// Pre-tokens longer than this are rare (long runs of spaces or symbols) and not worth caching.
constexpr size_t kMaxCachedBytes = 64;

}  // namespace

uint32_t byte_level_code_point(uint8_t b) {
    if (is_printable_latin1(b)) return b;
    uint32_t others_below = 0;
    for (int c = 0; c < b; ++c) others_below += !is_printable_latin1(uint8_t(c));
    return 256 + others_below;
}

// Per-thread state of one encode: pre-tokens, the symbols and merge candidates of the word being
// merged, and the ids of the words already seen.
struct BpeTokenizer::Scratch {
    explicit Scratch(const PreTokenizer& pre_tokenizer) : pre(pre_tokenizer) {}

    PreTokenizer::Scratch pre;
    std::vector<std::string_view> words;

    struct Symbol {
        int32_t id;  // -1 once merged into the symbol on its left
        int32_t prev;
        int32_t next;
    };
    std::vector<Symbol> symbols;

    // A merge of two neighbouring symbols, valid while both still hold the ids it was found for.
    struct Candidate {
        int32_t rank;
        int32_t left, right;
        int32_t left_id, right_id;
        int32_t result;
    };
    std::vector<Candidate> heap;  // the lowest rank on top, then the leftmost

    // Where a word's ids were first written to the output: offset and count.
    std::unordered_map<std::string_view, std::pair<size_t, size_t>> seen;
    std::string spelled;  // a word in the vocabulary's characters (ignore_merges)
};

BpeTokenizer::BpeTokenizer(PreTokenizer pre_tokenizer) : pre_tokenizer_(std::move(pre_tokenizer)) {
    for (int b = 0; b < 256; ++b)
        byte_chars_[size_t(b)] = utf8_of(byte_level_code_point(uint8_t(b)));
    add_space_prefix_ = false;  // byte-level BPE has no dummy prefix
}

std::unique_ptr<BpeTokenizer> BpeTokenizer::from_gguf(const GgufFile& gguf) {
    const std::string model = gguf.find_string("tokenizer.ggml.model").value_or("");
    if (model != "gpt2") throw Error("tokenizer '" + model + "' is not byte-level BPE ('gpt2')");
    const GgufValue& tokens =
        gguf_vocabulary::array(gguf, "tokenizer.ggml.tokens", GgufType::String, 0);
    const size_t n = tokens.items.size();
    if (n == 0) throw Error("tokenizer: empty vocabulary");
    if (n > size_t(INT32_MAX)) throw Error("tokenizer: vocabulary too large");

    std::unique_ptr<BpeTokenizer> tokenizer(
        new BpeTokenizer(PreTokenizer::named(gguf.find_string("tokenizer.ggml.pre").value_or(""))));
    BpeTokenizer& t = *tokenizer;
    t.pieces_.reserve(n);
    t.ids_.reserve(n);
    for (const GgufValue& token : tokens.items) {
        t.ids_.emplace(token.s, int32_t(t.pieces_.size()));  // the first of duplicates wins
        t.pieces_.push_back(token.s);
    }
    t.kinds_.assign(n, PieceKind::Normal);
    if (gguf.find("tokenizer.ggml.token_type")) {
        const GgufValue& types =
            gguf_vocabulary::array(gguf, "tokenizer.ggml.token_type", GgufType::Int32, n);
        for (size_t k = 0; k < n; ++k)
            t.kinds_[k] = gguf_vocabulary::kind_from_type(types.items[k].i);
    }
    t.bos_id_ = gguf_vocabulary::token_id(gguf, "tokenizer.ggml.bos_token_id", -1, n);
    t.eos_id_ = gguf_vocabulary::token_id(gguf, "tokenizer.ggml.eos_token_id", -1, n);
    t.unk_id_ = gguf_vocabulary::token_id(gguf, "tokenizer.ggml.unknown_token_id", -1, n);
    t.add_bos_ = gguf.get_bool_or("tokenizer.ggml.add_bos_token", false);
    t.add_eos_ = gguf.get_bool_or("tokenizer.ggml.add_eos_token", false);

    t.take_byte_tokens();
    t.take_merges(gguf_vocabulary::array(gguf, "tokenizer.ggml.merges", GgufType::String, 0));
    t.spell_out_surfaces();
    return tokenizer;
}

// Vocabularies lack bytes their training text never held (SmolLM2: some controls, bytes that
// never occur in UTF-8); those bytes are dropped, as the reference tokenizers drop them. Printable
// ASCII and the common whitespace are in every byte-level vocabulary.
void BpeTokenizer::take_byte_tokens() {
    for (int b = 0; b < 256; ++b) {
        const auto found = ids_.find(byte_chars_[size_t(b)]);
        byte_ids_[size_t(b)] = found == ids_.end() ? -1 : found->second;
        const bool required = (b >= 0x20 && b < 0x7F) || b == '\t' || b == '\n' || b == '\r';
        if (required && found == ids_.end()) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", b);
            throw Error(std::string("tokenizer: the vocabulary has no token for byte ") + hex +
                        " ('" + byte_chars_[size_t(b)] + "'): not a byte-level vocabulary");
        }
    }
}

// Each merge is "left right", its rank its place in the list. A piece never holds a space (the
// byte table spells it "Ġ").
void BpeTokenizer::take_merges(const GgufValue& merges) {
    if (merges.items.size() > size_t(INT32_MAX)) throw Error("tokenizer: too many merges");
    merges_.reserve(merges.items.size());
    for (size_t rank = 0; rank < merges.items.size(); ++rank) {
        const std::string& merge = merges.items[rank].s;
        auto problem = [&](const std::string& what) {
            return Error("tokenizer: merge " + std::to_string(rank) + " '" + merge + "' " + what);
        };
        const size_t space = merge.find(' ', 1);
        if (space == std::string::npos || space + 1 >= merge.size())
            throw problem("is not two tokens separated by a space");
        const std::string_view left = std::string_view(merge).substr(0, space);
        const std::string_view right = std::string_view(merge).substr(space + 1);
        const auto left_id = find_token(left);
        const auto right_id = find_token(right);
        if (!left_id) throw problem("names '" + std::string(left) + "', not in the vocabulary");
        if (!right_id) throw problem("names '" + std::string(right) + "', not in the vocabulary");
        const auto result = find_token(std::string(left) + std::string(right));
        if (!result) throw problem("makes a token that is not in the vocabulary");
        // Document text must never turn into chat markup, whatever a vocabulary's merges say.
        if (kinds_[size_t(*result)] == PieceKind::Control) continue;
        merges_.emplace(pair_key(*left_id, *right_id), MergeResult{int32_t(rank), *result});
    }
}

// The bytes each token stands for: each character of the byte table stands for its byte;
// anything else (never in a real vocabulary's normal tokens) is kept as it is.
void BpeTokenizer::spell_out_surfaces() {
    std::array<int, 256 + 68> byte_of_code_point;  // the table's inverse, -1 for no byte
    byte_of_code_point.fill(-1);
    for (int b = 0; b < 256; ++b) byte_of_code_point[byte_level_code_point(uint8_t(b))] = b;
    surfaces_.resize(pieces_.size());
    for (size_t id = 0; id < pieces_.size(); ++id) {
        const std::string& p = pieces_[id];
        std::string& surface = surfaces_[id];
        if (kinds_[id] == PieceKind::Control || kinds_[id] == PieceKind::Unused) continue;
        if (kinds_[id] == PieceKind::UserDefined || kinds_[id] == PieceKind::Unknown) {
            surface = p;  // written as they are shown, not in the byte table
            continue;
        }
        for (size_t at = 0; at < p.size();) {
            const auto [cp, length] = short_code_point_at(p, at);
            const int byte = length && cp < byte_of_code_point.size() ? byte_of_code_point[cp] : -1;
            if (byte >= 0) {
                surface += char(byte);
                at += length;
            } else {
                const size_t keep = std::min(sequence_length(uint8_t(p[at])), p.size() - at);
                surface.append(p, at, keep);
                at += keep;
            }
        }
    }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool at_start) const {
    std::vector<int32_t> ids;
    if (at_start && add_bos_ && bos_id_ >= 0) ids.push_back(bos_id_);
    const std::vector<int32_t> body = encode_in_parallel(
        text,
        [this](std::string_view whole, size_t newline) {
            return pre_tokenizer_.safe_cut(whole, newline);
        },
        [this](std::string_view part, bool, std::vector<int32_t>& out) { encode_part(part, out); });
    ids.insert(ids.end(), body.begin(), body.end());
    if (at_start && add_eos_ && eos_id_ >= 0) ids.push_back(eos_id_);
    return ids;
}

std::vector<int32_t> BpeTokenizer::encode_continuation(std::string_view text) const {
    return encode_in_parallel(
        text,
        [this](std::string_view whole, size_t newline) {
            return pre_tokenizer_.safe_cut(whole, newline);
        },
        [this](std::string_view part, bool, std::vector<int32_t>& out) { encode_part(part, out); });
}

void BpeTokenizer::encode_part(std::string_view text, std::vector<int32_t>& ids) const {
    Scratch scratch(pre_tokenizer_);
    pre_tokenizer_.split(text, scratch.pre, scratch.words);
    ids.reserve(ids.size() + text.size() / 3);
    for (const std::string_view word : scratch.words) {
        if (word.size() <= kMaxCachedBytes) {
            if (const auto seen = scratch.seen.find(word); seen != scratch.seen.end()) {
                const auto [offset, count] = seen->second;
                for (size_t k = 0; k < count; ++k) {
                    const int32_t id = ids[offset + k];
                    ids.push_back(id);
                }
                continue;
            }
        }
        const size_t offset = ids.size();
        merge(word, scratch, ids);
        if (word.size() <= kMaxCachedBytes)
            scratch.seen.emplace(word, std::pair(offset, ids.size() - offset));
    }
}

void BpeTokenizer::merge(std::string_view word, Scratch& scratch, std::vector<int32_t>& ids) const {
    if (word.empty()) return;
    if (pre_tokenizer_.ignore_merges()) {
        scratch.spelled.clear();
        for (const char c : word) scratch.spelled += byte_chars_[uint8_t(c)];
        if (const auto whole = ids_.find(scratch.spelled);
            whole != ids_.end() && kinds_[size_t(whole->second)] != PieceKind::Control) {
            ids.push_back(whole->second);
            return;
        }
    }
    auto& symbols = scratch.symbols;
    auto& heap = scratch.heap;
    symbols.clear();
    heap.clear();
    for (const char c : word)
        if (const int32_t id = byte_ids_[uint8_t(c)]; id >= 0)  // else a byte without a token
            symbols.push_back({id, int32_t(symbols.size()) - 1, int32_t(symbols.size()) + 1});
    if (symbols.empty()) return;
    symbols.back().next = -1;
    const auto n = int32_t(symbols.size());

    const auto later = [](const Scratch::Candidate& a, const Scratch::Candidate& b) {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    };
    const auto consider = [&](int32_t left) {
        const int32_t right = symbols[size_t(left)].next;
        if (right < 0) return;
        const int32_t left_id = symbols[size_t(left)].id;
        const int32_t right_id = symbols[size_t(right)].id;
        const auto found = merges_.find(pair_key(left_id, right_id));
        if (found == merges_.end()) return;
        heap.push_back({found->second.rank, left, right, left_id, right_id, found->second.id});
        std::push_heap(heap.begin(), heap.end(), later);
    };
    for (int32_t k = 0; k + 1 < n; ++k) consider(k);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const Scratch::Candidate c = heap.back();
        heap.pop_back();
        Scratch::Symbol& left = symbols[size_t(c.left)];
        Scratch::Symbol& right = symbols[size_t(c.right)];
        if (left.id != c.left_id || left.next != c.right || right.id != c.right_id) continue;
        left.id = c.result;
        left.next = right.next;
        if (right.next >= 0) symbols[size_t(right.next)].prev = c.left;
        right.id = -1;
        if (left.prev >= 0) consider(left.prev);
        consider(c.left);
    }
    for (int32_t k = 0; k >= 0; k = symbols[size_t(k)].next) ids.push_back(symbols[size_t(k)].id);
}

const std::string& BpeTokenizer::piece(int32_t id) const {
    static const std::string kNone;
    return id >= 0 && size_t(id) < pieces_.size() ? pieces_[size_t(id)] : kNone;
}

PieceKind BpeTokenizer::kind(int32_t id) const {
    return id >= 0 && size_t(id) < kinds_.size() ? kinds_[size_t(id)] : PieceKind::Unused;
}

std::optional<int32_t> BpeTokenizer::find_token(std::string_view text) const {
    const auto found = ids_.find(text);
    if (found == ids_.end()) return std::nullopt;
    return found->second;
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
    return id >= 0 && size_t(id) < surfaces_.size() ? surfaces_[size_t(id)] : std::string();
}

}  // namespace selfextend
