#include "model/hyper_params.h"

#include <algorithm>
#include <cmath>

#include "gguf/gguf_file.h"

namespace selfextend {

int positive_int(const GgufFile& gguf, const std::string& key, int64_t limit) {
    const int64_t value = gguf.get_int(key);
    if (value <= 0 || value > limit)
        throw Error("model: '" + key + "' = " + std::to_string(value) + " is out of range (1.." +
                    std::to_string(limit) + ")");
    return int(value);
}

RopeFrequencies HyperParams::rope(int layer) const {
    // Local layers rotate with their own base and no scaling (Gemma 3 scales the global layers
    // only).
    return is_local(layer) ? RopeFrequencies{rope_dimensions, rope_freq_base_local, 1.0f}
                           : global_rope();
}

HyperParams HyperParams::from_gguf(const GgufFile& gguf) {
    HyperParams hp;
    hp.architecture = gguf.get_string("general.architecture");
    hp.family = family_of_architecture(hp.architecture);
    if (!hp.family)
        throw Error("model architecture '" + hp.architecture +
                    "' is not supported (supported: " + supported_architectures() + ")");
    const std::string a = hp.architecture + ".";
    hp.context_length = positive_int(gguf, a + "context_length", int64_t(1) << 24);
    hp.embedding_length = positive_int(gguf, a + "embedding_length", 1 << 16);
    hp.layer_count = positive_int(gguf, a + "block_count", 1024);
    hp.head_count = positive_int(gguf, a + "attention.head_count", 1024);
    hp.head_count_kv = gguf.find(a + "attention.head_count_kv")
                           ? positive_int(gguf, a + "attention.head_count_kv", 1024)
                           : hp.head_count;
    hp.feed_forward_length = positive_int(gguf, a + "feed_forward_length", 1 << 18);
    if (hp.head_count % hp.head_count_kv != 0)
        throw Error("model: head count " + std::to_string(hp.head_count) +
                    " is not a multiple of the KV head count " + std::to_string(hp.head_count_kv));
    // The head dimension is stated (key_length) when it is not embedding / heads: Gemma 3 270M
    // has 4 heads of 256 on an embedding of 640.
    if (gguf.find(a + "attention.key_length")) {
        hp.head_dim = positive_int(gguf, a + "attention.key_length", 1 << 12);
        const int value_length =
            int(gguf.get_int_or(a + "attention.value_length", int64_t(hp.head_dim)));
        if (value_length != hp.head_dim)
            throw Error("model: value length " + std::to_string(value_length) +
                        " differs from the key length " + std::to_string(hp.head_dim) +
                        " (not supported)");
    } else {
        if (hp.embedding_length % hp.head_count != 0)
            throw Error("model: embedding length " + std::to_string(hp.embedding_length) +
                        " is not a multiple of the head count " + std::to_string(hp.head_count));
        hp.head_dim = hp.embedding_length / hp.head_count;
    }
    if (hp.head_dim % 2 != 0) throw Error("model: head dimension must be even");
    hp.rope_dimensions = int(gguf.get_int_or(a + "rope.dimension_count", hp.head_dim));
    if (hp.rope_dimensions <= 0 || hp.rope_dimensions > hp.head_dim || hp.rope_dimensions % 2 != 0)
        throw Error("model: rope.dimension_count " + std::to_string(hp.rope_dimensions) +
                    " is invalid");
    hp.rope_freq_base = float(gguf.get_float_or(a + "rope.freq_base", 10000.0));
    if (!(hp.rope_freq_base > 1.0f)) throw Error("model: rope.freq_base must be > 1");
    // Linear RoPE scaling: either rope.scaling.type = "linear" with rope.scaling.factor, or the
    // older rope.scale_linear key.
    const std::string scaling = gguf.find_string(a + "rope.scaling.type").value_or("none");
    if (scaling == "linear") {
        hp.rope_scale = float(gguf.get_float_or(a + "rope.scaling.factor", 1.0));
    } else if (scaling != "none") {
        throw Error("model: RoPE scaling '" + scaling + "' is not supported (linear is)");
    }
    hp.rope_scale = float(gguf.get_float_or(a + "rope.scale_linear", hp.rope_scale));
    if (!(hp.rope_scale > 0.0f)) throw Error("model: RoPE scaling factor must be positive");
    hp.norm_eps = float(gguf.get_float_or(a + "attention.layer_norm_rms_epsilon", 1e-5));
    if (const GgufValue* tokens = gguf.find("tokenizer.ggml.tokens"))
        hp.vocab_size = int(tokens->items.size());
    hp.vocab_size = int(gguf.get_int_or(a + "vocab_size", hp.vocab_size));
    if (hp.vocab_size <= 0) throw Error("model: vocabulary size unknown");
    // What differs from the Llama defaults: the family's own entry (engine/model/families/).
    hp.family->configure(hp, gguf, a);
    if (!(hp.norm_eps > 0.0f)) throw Error("model: norm epsilon must be positive");
    return hp;
}

}  // namespace selfextend
