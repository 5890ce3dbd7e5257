#include "tokenizer/sentencepiece_model_proto.h"

#include <cstdint>
#include <cstring>

namespace selfextend {

namespace {

// Protocol-buffer wire format: a field is (number << 3 | wire type) then its payload.
enum WireType { kVarint = 0, kLengthDelimited = 2, kFixed32 = 5 };

class ProtoWriter {
  public:
    void varint_field(int number, uint64_t value) {
        tag(number, kVarint);
        varint(value);
    }
    void signed_varint_field(int number, int64_t value) {  // int32 fields: negatives take 10 bytes
        varint_field(number, uint64_t(value));
    }
    void float_field(int number, float value) {
        tag(number, kFixed32);
        uint32_t bits;
        std::memcpy(&bits, &value, 4);
        for (int k = 0; k < 4; ++k) out_ += char((bits >> (8 * k)) & 0xff);
    }
    void bytes_field(int number, const std::string& bytes) {
        tag(number, kLengthDelimited);
        varint(bytes.size());
        out_ += bytes;
    }
    const std::string& bytes() const { return out_; }

  private:
    void tag(int number, WireType type) { varint(uint64_t(number) << 3 | type); }
    void varint(uint64_t value) {
        do {
            uint8_t byte = value & 0x7f;
            value >>= 7;
            if (value) byte |= 0x80;
            out_ += char(byte);
        } while (value);
    }
    std::string out_;
};

// SentencePiece.Type values.
int piece_type(PieceKind kind) {
    switch (kind) {
        case PieceKind::Normal:
            return 1;
        case PieceKind::Unknown:
            return 2;
        case PieceKind::Control:
            return 3;
        case PieceKind::UserDefined:
            return 4;
        case PieceKind::Unused:
            return 5;
        case PieceKind::Byte:
            return 6;
    }
    return 1;
}

}  // namespace

std::string serialize_bpe_model_proto(const SentencePieceVocabulary& vocabulary) {
    ProtoWriter model;
    bool has_byte_pieces = false;
    for (size_t id = 0; id < vocabulary.pieces.size(); ++id) {
        ProtoWriter piece;  // ModelProto.SentencePiece
        piece.bytes_field(1, vocabulary.pieces[id]);
        piece.float_field(2, vocabulary.scores[id]);
        piece.varint_field(3, uint64_t(piece_type(vocabulary.kinds[id])));
        model.bytes_field(1, piece.bytes());
        has_byte_pieces |= vocabulary.kinds[id] == PieceKind::Byte;
    }

    ProtoWriter trainer;         // TrainerSpec
    trainer.varint_field(3, 2);  // model_type = BPE
    trainer.varint_field(4, vocabulary.pieces.size());
    trainer.varint_field(35, has_byte_pieces);  // byte_fallback
    trainer.signed_varint_field(40, vocabulary.unk_id);
    trainer.signed_varint_field(41, vocabulary.bos_id);
    trainer.signed_varint_field(42, vocabulary.eos_id);
    trainer.signed_varint_field(43, -1);  // pad_id: none
    model.bytes_field(2, trainer.bytes());

    ProtoWriter normalizer;  // NormalizerSpec
    normalizer.bytes_field(1, "identity");
    normalizer.varint_field(3, vocabulary.add_dummy_prefix);
    normalizer.varint_field(4, vocabulary.remove_extra_whitespaces);
    normalizer.varint_field(5, 1);  // escape_whitespaces
    model.bytes_field(3, normalizer.bytes());
    return model.bytes();
}

}  // namespace selfextend
