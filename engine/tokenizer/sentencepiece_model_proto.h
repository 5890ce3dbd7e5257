// Builds the serialized SentencePiece ModelProto for a vocabulary stored in a GGUF file, so that
// libsentencepiece can encode with it. Only the fields the encoder reads are written; their
// numbers follow SentencePiece's public sentencepiece_model.proto.
#pragma once

#include <string>
#include <vector>

#include "selfextend/tokenizer.h"

namespace selfextend {

struct SentencePieceVocabulary {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::vector<PieceKind> kinds;
    int unk_id = 0;
    int bos_id = 1;
    int eos_id = 2;
    bool add_dummy_prefix = true;
    bool remove_extra_whitespaces = false;
};

std::string serialize_bpe_model_proto(const SentencePieceVocabulary& vocabulary);

}  // namespace selfextend
