#include "tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstdio>

#include "gguf/gguf_file.h"
#include "selfextend/error.h"
#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/parallel_encode.h"
#include "tokenizer/sentencepiece_model_proto.h"

namespace selfextend {

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// "<0x0A>" -> 0x0A; -1 when the piece is not of that form.
int parse_byte_piece(const std::string& piece) {
    unsigned value = 0;
    if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%2X>", &value) == 1) return int(value);
    return -1;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer()
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_file(const std::string& path) {
    std::unique_ptr<SentencePieceTokenizer> tokenizer(new SentencePieceTokenizer());
    const auto status = tokenizer->processor_->Load(path);
    if (!status.ok())
        throw Error("cannot load SentencePiece model '" + path + "': " + status.ToString());
    tokenizer->take_vocabulary_from_processor();
    tokenizer->bos_id_ = tokenizer->processor_->bos_id();
    tokenizer->eos_id_ = tokenizer->processor_->eos_id();
    tokenizer->unk_id_ = tokenizer->processor_->unk_id();
    return tokenizer;
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_gguf(const GgufFile& gguf) {
    const std::string model = gguf.find_string("tokenizer.ggml.model").value_or("");
    if (model != "llama")
        throw Error("tokenizer '" + model +
                    "' is not supported (SentencePiece 'llama' vocabularies are)");
    const GgufValue& tokens =
        gguf_vocabulary::array(gguf, "tokenizer.ggml.tokens", GgufType::String, 0);
    const size_t n = tokens.items.size();
    if (n == 0) throw Error("tokenizer: empty vocabulary");

    SentencePieceVocabulary vocabulary;
    vocabulary.pieces.reserve(n);
    for (const GgufValue& token : tokens.items) vocabulary.pieces.push_back(token.s);
    vocabulary.scores.assign(n, 0.0f);
    if (gguf.find("tokenizer.ggml.scores")) {
        const GgufValue& scores =
            gguf_vocabulary::array(gguf, "tokenizer.ggml.scores", GgufType::Float32, n);
        for (size_t k = 0; k < n; ++k) vocabulary.scores[k] = float(scores.items[k].f);
    }
    vocabulary.kinds.assign(n, PieceKind::Normal);
    if (gguf.find("tokenizer.ggml.token_type")) {
        const GgufValue& types =
            gguf_vocabulary::array(gguf, "tokenizer.ggml.token_type", GgufType::Int32, n);
        for (size_t k = 0; k < n; ++k)
            vocabulary.kinds[k] = gguf_vocabulary::kind_from_type(types.items[k].i);
    }
    vocabulary.unk_id = gguf_vocabulary::token_id(gguf, "tokenizer.ggml.unknown_token_id", 0, n);
    vocabulary.bos_id = gguf_vocabulary::token_id(gguf, "tokenizer.ggml.bos_token_id", 1, n);
    vocabulary.eos_id = gguf_vocabulary::token_id(gguf, "tokenizer.ggml.eos_token_id", 2, n);
    // libsentencepiece insists that the unknown piece is of type UNKNOWN and BOS/EOS CONTROL, and
    // allows one UNKNOWN piece only: converters mark padding pieces UNKNOWN too (Phi-3's
    // [PAD32011]...), which become unused pieces (never produced by encoding).
    for (size_t k = 0; k < n; ++k)
        if (vocabulary.kinds[k] == PieceKind::Unknown && int64_t(k) != vocabulary.unk_id)
            vocabulary.kinds[k] = PieceKind::Unused;
    if (vocabulary.unk_id >= 0) vocabulary.kinds[size_t(vocabulary.unk_id)] = PieceKind::Unknown;
    vocabulary.add_dummy_prefix = gguf.get_bool_or("tokenizer.ggml.add_space_prefix", true);
    vocabulary.remove_extra_whitespaces =
        gguf.get_bool_or("tokenizer.ggml.remove_extra_whitespaces", false);

    std::unique_ptr<SentencePieceTokenizer> tokenizer(new SentencePieceTokenizer());
    const auto status =
        tokenizer->processor_->LoadFromSerializedProto(serialize_bpe_model_proto(vocabulary));
    if (!status.ok())
        throw Error("tokenizer: SentencePiece rejected the GGUF vocabulary: " + status.ToString());
    // BPE merges never join a newline to anything else when no piece does: either no piece holds
    // a newline, or (Gemma 3) the pieces that do are runs of newlines only. Then a text cut after
    // a run of newlines encodes part by part to the same ids: the first part with the dummy
    // prefix, the others without.
    const bool newline_joins_other =
        std::any_of(vocabulary.pieces.begin(), vocabulary.pieces.end(), [](const std::string& p) {
            return p.find('\n') != std::string::npos &&
                   p.find_first_not_of('\n') != std::string::npos;
        });
    tokenizer->parallel_ = !newline_joins_other && !vocabulary.remove_extra_whitespaces;
    for (size_t id = 0; id < n; ++id)
        if (vocabulary.kinds[id] == PieceKind::UserDefined &&
            vocabulary.pieces[id].find(' ') != std::string::npos)
            tokenizer->spaced_pieces_.push_back(int32_t(id));
    std::stable_sort(tokenizer->spaced_pieces_.begin(), tokenizer->spaced_pieces_.end(),
                     [&](int32_t a, int32_t b) {
                         return vocabulary.pieces[size_t(a)].size() >
                                vocabulary.pieces[size_t(b)].size();
                     });
    for (const int32_t id : tokenizer->spaced_pieces_)
        if (const char first = vocabulary.pieces[size_t(id)][0];
            tokenizer->spaced_firsts_.find(first) == std::string::npos)
            tokenizer->spaced_firsts_ += first;
    // Text that does not start the whole text (a parallel part, the text after a spaced piece)
    // takes no dummy prefix: the same vocabulary without it, when it has one.
    if (vocabulary.add_dummy_prefix &&
        (tokenizer->parallel_ || !tokenizer->spaced_pieces_.empty())) {
        SentencePieceVocabulary inner = vocabulary;
        inner.add_dummy_prefix = false;
        tokenizer->no_prefix_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
        if (!tokenizer->no_prefix_->LoadFromSerializedProto(serialize_bpe_model_proto(inner)).ok())
            throw Error("tokenizer: SentencePiece rejected the GGUF vocabulary");
    }
    tokenizer->pieces_ = std::move(vocabulary.pieces);
    tokenizer->kinds_ = std::move(vocabulary.kinds);
    tokenizer->unk_id_ = vocabulary.unk_id;
    tokenizer->bos_id_ = vocabulary.bos_id;
    tokenizer->eos_id_ = vocabulary.eos_id;
    tokenizer->add_bos_ = gguf.get_bool_or("tokenizer.ggml.add_bos_token", true);
    tokenizer->add_eos_ = gguf.get_bool_or("tokenizer.ggml.add_eos_token", false);
    tokenizer->add_space_prefix_ = vocabulary.add_dummy_prefix;
    return tokenizer;
}

void SentencePieceTokenizer::take_vocabulary_from_processor() {
    const int n = processor_->GetPieceSize();
    pieces_.resize(size_t(n));
    kinds_.resize(size_t(n));
    for (int id = 0; id < n; ++id) {
        pieces_[size_t(id)] = processor_->IdToPiece(id);
        kinds_[size_t(id)] = processor_->IsByte(id)      ? PieceKind::Byte
                             : processor_->IsUnknown(id) ? PieceKind::Unknown
                             : processor_->IsControl(id) ? PieceKind::Control
                             : processor_->IsUnused(id)  ? PieceKind::Unused
                                                         : PieceKind::Normal;
    }
}

void SentencePieceTokenizer::encode_with(const sentencepiece::SentencePieceProcessor& processor,
                                         std::string_view text, std::vector<int32_t>& ids) const {
    std::vector<int> encoded;
    const auto status = processor.Encode(absl::string_view(text.data(), text.size()), &encoded);
    if (!status.ok()) throw Error("tokenizer: " + status.ToString());
    ids.insert(ids.end(), encoded.begin(), encoded.end());
}

int32_t SentencePieceTokenizer::spaced_piece_at(std::string_view text) const {
    for (const int32_t id : spaced_pieces_) {
        const std::string& p = pieces_[size_t(id)];
        if (text.size() >= p.size() && text[0] == p[0] && (p.size() < 2 || text[1] == p[1]) &&
            text.compare(0, p.size(), p) == 0)
            return id;
    }
    return -1;
}

void SentencePieceTokenizer::encode_part(std::string_view text, bool first,
                                         std::vector<int32_t>& ids) const {
    const auto& inner = [&](bool at_text_start) -> const sentencepiece::SentencePieceProcessor& {
        return at_text_start || !no_prefix_ ? *processor_ : *no_prefix_;
    };
    if (spaced_pieces_.empty()) {
        encode_with(inner(first), text, ids);
        return;
    }
    size_t plain_from = 0;  // start of the text not yet encoded
    for (size_t at = text.find_first_of(spaced_firsts_); at < text.size();
         at = text.find_first_of(spaced_firsts_, at)) {
        const int32_t id = spaced_piece_at(text.substr(at));
        if (id < 0) {
            ++at;
            continue;
        }
        if (at > plain_from)
            encode_with(inner(first && plain_from == 0), text.substr(plain_from, at - plain_from),
                        ids);
        ids.push_back(id);
        at += pieces_[size_t(id)].size();
        plain_from = at;
    }
    if (plain_from < text.size())
        encode_with(inner(first && plain_from == 0), text.substr(plain_from), ids);
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool at_start) const {
    std::vector<int32_t> ids;
    if (at_start && add_bos_ && bos_id_ >= 0) ids.push_back(bos_id_);
    if (parallel_) {
        // After a run of newlines is a safe cut (see from_gguf): the first part takes the dummy
        // prefix.
        const std::vector<int32_t> body = encode_in_parallel(
            text,
            [this](std::string_view whole, size_t newline) { return safe_cut(whole, newline); },
            [&](std::string_view part, bool first, std::vector<int32_t>& out) {
                encode_part(part, first, out);
            });
        ids.insert(ids.end(), body.begin(), body.end());
    } else {
        encode_part(text, true, ids);
    }
    if (at_start && add_eos_ && eos_id_ >= 0) ids.push_back(eos_id_);
    return ids;
}

std::optional<size_t> SentencePieceTokenizer::safe_cut(std::string_view text,
                                                       size_t newline) const {
    if (!parallel_ || newline >= text.size() || text[newline] != '\n') return std::nullopt;
    // After the whole run of newlines (a vocabulary may hold pieces of several).
    const size_t end = text.find_first_not_of('\n', newline);
    if (end == std::string_view::npos) return std::nullopt;
    return end;
}

std::vector<int32_t> SentencePieceTokenizer::encode_continuation(std::string_view text) const {
    if (!parallel_)
        throw Error("tokenizer: this SentencePiece vocabulary cannot encode a text in parts");
    return encode_in_parallel(
        text, [this](std::string_view whole, size_t newline) { return safe_cut(whole, newline); },
        [&](std::string_view part, bool, std::vector<int32_t>& out) {
            encode_part(part, false, out);
        });
}

const std::string& SentencePieceTokenizer::piece(int32_t id) const {
    static const std::string kNone;
    return id >= 0 && size_t(id) < pieces_.size() ? pieces_[size_t(id)] : kNone;
}

PieceKind SentencePieceTokenizer::kind(int32_t id) const {
    return id >= 0 && size_t(id) < kinds_.size() ? kinds_[size_t(id)] : PieceKind::Unused;
}

std::optional<int32_t> SentencePieceTokenizer::find_token(std::string_view text) const {
    // PieceToId answers the unknown id for pieces it lacks: only an exact match counts.
    const int id = processor_->PieceToId(absl::string_view(text.data(), text.size()));
    if (id >= 0 && size_t(id) < pieces_.size() && pieces_[size_t(id)] == text) return id;
    return std::nullopt;
}

std::string SentencePieceTokenizer::token_bytes(int32_t id) const {
    if (id < 0 || id >= vocab_size()) return {};
    switch (kind(id)) {
        case PieceKind::Control:
        case PieceKind::Unused:
            return {};
        case PieceKind::Unknown:
            return " \xE2\x81\x87 ";  // " ⁇ ", SentencePiece's surface
        case PieceKind::Byte: {
            const int byte = parse_byte_piece(piece(id));
            return byte < 0 ? std::string() : std::string(1, char(byte));
        }
        case PieceKind::Normal:
        case PieceKind::UserDefined:
            break;
    }
    std::string text;
    const std::string& p = piece(id);
    for (size_t at = 0; at < p.size();) {
        if (p.compare(at, kSpaceMarker.size(), kSpaceMarker) == 0) {
            text += ' ';
            at += kSpaceMarker.size();
        } else {
            text += p[at++];
        }
    }
    return text;
}

std::unique_ptr<Tokenizer> Tokenizer::from_sentencepiece_file(const std::string& path) {
    return SentencePieceTokenizer::from_file(path);
}

}  // namespace selfextend
