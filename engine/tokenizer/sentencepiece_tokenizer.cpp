#include "tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <exception>
#include <thread>

#include "gguf/gguf_file.h"
#include "selfextend/error.h"
#include "tokenizer/sentencepiece_model_proto.h"

namespace selfextend {

namespace {

// GGUF token types (tokenizer.ggml.token_type) use SentencePiece's numbering.
PieceKind kind_from_gguf(int64_t type) {
    switch (type) {
        case 2:
            return PieceKind::Unknown;
        case 3:
            return PieceKind::Control;
        case 4:
            return PieceKind::UserDefined;
        case 5:
            return PieceKind::Unused;
        case 6:
            return PieceKind::Byte;
        default:
            return PieceKind::Normal;
    }
}

const GgufValue& array_key(const GgufFile& gguf, const char* key, GgufType element_type,
                           size_t expected) {
    const GgufValue* value = gguf.find(key);
    if (!value) throw Error(std::string("tokenizer: missing '") + key + "'");
    if (value->type != GgufType::Array || value->element_type != element_type)
        throw Error(std::string("tokenizer: '") + key + "' is not an array of " +
                    std::string(gguf_value_type_name(element_type)));
    if (expected && value->items.size() != expected)
        throw Error(std::string("tokenizer: '") + key + "' has " +
                    std::to_string(value->items.size()) + " entries, the vocabulary " +
                    std::to_string(expected));
    return *value;
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
    const GgufValue& tokens = array_key(gguf, "tokenizer.ggml.tokens", GgufType::String, 0);
    const size_t n = tokens.items.size();
    if (n == 0) throw Error("tokenizer: empty vocabulary");

    SentencePieceVocabulary vocabulary;
    vocabulary.pieces.reserve(n);
    for (const GgufValue& token : tokens.items) vocabulary.pieces.push_back(token.s);
    vocabulary.scores.assign(n, 0.0f);
    if (gguf.find("tokenizer.ggml.scores")) {
        const GgufValue& scores = array_key(gguf, "tokenizer.ggml.scores", GgufType::Float32, n);
        for (size_t k = 0; k < n; ++k) vocabulary.scores[k] = float(scores.items[k].f);
    }
    vocabulary.kinds.assign(n, PieceKind::Normal);
    if (gguf.find("tokenizer.ggml.token_type")) {
        const GgufValue& types = array_key(gguf, "tokenizer.ggml.token_type", GgufType::Int32, n);
        for (size_t k = 0; k < n; ++k) vocabulary.kinds[k] = kind_from_gguf(types.items[k].i);
    }
    auto id_key = [&](const char* key, int64_t fallback) {
        const int64_t id = gguf.get_int_or(key, fallback);
        if (id < -1 || id >= int64_t(n))
            throw Error(std::string("tokenizer: '") + key + "' is out of range");
        return int(id);
    };
    vocabulary.unk_id = id_key("tokenizer.ggml.unknown_token_id", 0);
    vocabulary.bos_id = id_key("tokenizer.ggml.bos_token_id", 1);
    vocabulary.eos_id = id_key("tokenizer.ggml.eos_token_id", 2);
    // libsentencepiece insists that the unknown piece is of type UNKNOWN and BOS/EOS CONTROL.
    if (vocabulary.unk_id >= 0) vocabulary.kinds[size_t(vocabulary.unk_id)] = PieceKind::Unknown;
    vocabulary.add_dummy_prefix = gguf.get_bool_or("tokenizer.ggml.add_space_prefix", true);
    vocabulary.remove_extra_whitespaces =
        gguf.get_bool_or("tokenizer.ggml.remove_extra_whitespaces", false);

    std::unique_ptr<SentencePieceTokenizer> tokenizer(new SentencePieceTokenizer());
    const auto status =
        tokenizer->processor_->LoadFromSerializedProto(serialize_bpe_model_proto(vocabulary));
    if (!status.ok())
        throw Error("tokenizer: SentencePiece rejected the GGUF vocabulary: " + status.ToString());
    // BPE merges never cross a newline when no piece holds one, so a long text split after
    // newlines encodes piece by piece to the same ids: the first piece with the dummy prefix,
    // the others without.
    const bool newline_in_pieces =
        std::any_of(vocabulary.pieces.begin(), vocabulary.pieces.end(),
                    [](const std::string& p) { return p.find('\n') != std::string::npos; });
    if (!newline_in_pieces && !vocabulary.remove_extra_whitespaces) {
        SentencePieceVocabulary continuation = vocabulary;
        continuation.add_dummy_prefix = false;
        tokenizer->continuation_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
        if (!tokenizer->continuation_
                 ->LoadFromSerializedProto(serialize_bpe_model_proto(continuation))
                 .ok())
            tokenizer->continuation_.reset();
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

std::vector<int> SentencePieceTokenizer::encode_with(
    const sentencepiece::SentencePieceProcessor& processor, std::string_view text) const {
    std::vector<int> ids;
    const auto status = processor.Encode(absl::string_view(text.data(), text.size()), &ids);
    if (!status.ok()) throw Error("tokenizer: " + status.ToString());
    return ids;
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_bos) const {
    constexpr size_t kParallelBytes = 128 * 1024;
    std::vector<int> ids;
    const size_t threads = std::max(1u, std::thread::hardware_concurrency());
    if (continuation_ && text.size() >= kParallelBytes && threads > 1) {
        // Split after newlines into about one part per core; encode the parts at once.
        std::vector<std::string_view> parts;
        size_t start = 0;
        for (size_t k = 1; k < threads && start < text.size(); ++k) {
            const size_t newline = text.find('\n', std::max(start, k * text.size() / threads));
            if (newline == std::string_view::npos) break;
            parts.push_back(text.substr(start, newline + 1 - start));
            start = newline + 1;
        }
        parts.push_back(text.substr(start));
        std::vector<std::vector<int>> encoded(parts.size());
        std::vector<std::exception_ptr> errors(parts.size());
        std::vector<std::thread> workers;
        for (size_t k = 1; k < parts.size(); ++k)
            workers.emplace_back([&, k] {
                try {
                    encoded[k] = encode_with(*continuation_, parts[k]);
                } catch (...) {
                    errors[k] = std::current_exception();
                }
            });
        try {  // a throw here must not destroy joinable threads
            encoded[0] = encode_with(*processor_, parts[0]);
        } catch (...) {
            errors[0] = std::current_exception();
        }
        for (std::thread& worker : workers) worker.join();
        for (const auto& error : errors)
            if (error) std::rethrow_exception(error);
        for (const auto& part : encoded) ids.insert(ids.end(), part.begin(), part.end());
    } else {
        ids = encode_with(*processor_, text);
    }
    std::vector<int32_t> out;
    out.reserve(ids.size() + 2);
    if (add_bos && bos_id_ >= 0) out.push_back(bos_id_);
    out.insert(out.end(), ids.begin(), ids.end());
    if (add_bos && add_eos_ && eos_id_ >= 0) out.push_back(eos_id_);
    return out;
}

const std::string& SentencePieceTokenizer::piece(int32_t id) const {
    static const std::string kNone;
    return id >= 0 && size_t(id) < pieces_.size() ? pieces_[size_t(id)] : kNone;
}

PieceKind SentencePieceTokenizer::kind(int32_t id) const {
    return id >= 0 && size_t(id) < kinds_.size() ? kinds_[size_t(id)] : PieceKind::Unused;
}

std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufFile& gguf) {
    return SentencePieceTokenizer::from_gguf(gguf);
}

std::unique_ptr<Tokenizer> Tokenizer::from_sentencepiece_file(const std::string& path) {
    return SentencePieceTokenizer::from_file(path);
}

}  // namespace selfextend
