#include "tokenizer/gguf_tokenizer.h"

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"

namespace selfextend {

std::unique_ptr<Tokenizer> tokenizer_from_gguf(const GgufFile& gguf) {
    const std::string model = gguf.find_string("tokenizer.ggml.model").value_or("");
    if (model == "llama") return SentencePieceTokenizer::from_gguf(gguf);
    if (model == "gpt2") return BpeTokenizer::from_gguf(gguf);
    throw Error("tokenizer '" + model +
                "' is not supported (SentencePiece 'llama' and byte-level BPE 'gpt2' are)");
}

GgufVocabulary load_gguf_vocabulary(const std::string& path) {
    const GgufFile gguf = GgufFile::open(path);
    return {tokenizer_from_gguf(gguf), gguf.tensors().empty()};
}

namespace gguf_vocabulary {

PieceKind kind_from_type(int64_t type) {
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

const GgufValue& array(const GgufFile& gguf, const char* key, GgufType element_type,
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

int32_t token_id(const GgufFile& gguf, const char* key, int64_t fallback, size_t vocab_size) {
    const int64_t id = gguf.get_int_or(key, fallback);
    if (id < -1 || id >= int64_t(vocab_size))
        throw Error(std::string("tokenizer: '") + key + "' = " + std::to_string(id) +
                    " is out of range (the vocabulary has " + std::to_string(vocab_size) +
                    " tokens)");
    return int32_t(id);
}

}  // namespace gguf_vocabulary

}  // namespace selfextend
