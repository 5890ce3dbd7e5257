#include "model/hyper_params.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "gguf/gguf_file.h"

namespace selfextend {

namespace {

int positive_int(const GgufFile& gguf, const std::string& key, int64_t limit) {
    const int64_t value = gguf.get_int(key);
    if (value <= 0 || value > limit)
        throw Error("model: '" + key + "' = " + std::to_string(value) + " is out of range (1.." +
                    std::to_string(limit) + ")");
    return int(value);
}

// Gemma 3 interleaves five sliding-window layers with one global layer (layers 5, 11, 17, ...
// are global). A GGUF may state the period, or one flag per layer, in
// <arch>.attention.sliding_window_pattern; files without the key use the published period 6.
std::vector<bool> gemma3_local_layers(const GgufFile& gguf, const std::string& a, int layers) {
    constexpr int64_t kGemma3Period = 6;
    std::vector<bool> local(static_cast<size_t>(layers));
    const GgufValue* pattern = gguf.find(a + "attention.sliding_window_pattern");
    if (pattern && pattern->type == GgufType::Array) {
        if (pattern->items.size() != size_t(layers))
            throw Error("model: '" + a + "attention.sliding_window_pattern' has " +
                        std::to_string(pattern->items.size()) + " entries for " +
                        std::to_string(layers) + " layers");
        for (int l = 0; l < layers; ++l) local[size_t(l)] = pattern->items[size_t(l)].u != 0;
        return local;
    }
    const int64_t period = pattern ? pattern->as_int() : kGemma3Period;
    if (period < 1 || period > layers + 1)
        throw Error("model: sliding window pattern " + std::to_string(period) + " is invalid");
    for (int l = 0; l < layers; ++l) local[size_t(l)] = l % period < period - 1;
    return local;
}

// The architectures from_gguf accepts, in the order messages list them.
struct KnownArchitecture {
    const char* name;  // general.architecture
    ModelFamily family;
};
constexpr KnownArchitecture kArchitectures[] = {
    {"llama", ModelFamily::Llama},   {"qwen2", ModelFamily::Qwen2}, {"gemma", ModelFamily::Gemma},
    {"gemma3", ModelFamily::Gemma3}, {"phi2", ModelFamily::Phi2},   {"phi3", ModelFamily::Phi3},
};

std::optional<ModelFamily> family_of(const std::string& architecture) {
    for (const KnownArchitecture& known : kArchitectures)
        if (architecture == known.name) return known.family;
    return std::nullopt;
}

// A window stated in <arch>.attention.sliding_window that the graph does not apply (Mistral,
// Phi-3): 0 when the key is absent.
int stated_window(const GgufFile& gguf, const std::string& a) {
    const std::string key = a + "attention.sliding_window";
    return gguf.find(key) ? int(std::clamp<int64_t>(gguf.get_int(key), 0, int64_t(1) << 30)) : 0;
}

// The Gemma 3 switches (docs/method.md, "Gemma 3"): NEOX RoPE, GeGLU, embeddings scaled by
// sqrt(dim), q/k norms, pre- and post-norms, sliding-window layers with their own RoPE base. The
// norm weights in the GGUF already hold Gemma's "1 + w" and are used as stored.
void set_gemma3(HyperParams& hp, const GgufFile& gguf, const std::string& a) {
    hp.rope_layout = RopeLayout::HalfSplit;
    hp.activation = FfnActivation::GeluTanh;
    hp.embedding_scale = std::sqrt(float(hp.embedding_length));
    hp.qk_norm = true;
    hp.post_norms = true;
    hp.sliding_window = positive_int(gguf, a + "attention.sliding_window", int64_t(1) << 24);
    hp.rope_freq_base_local = float(gguf.get_float_or(a + "rope.freq_base_swa", 10000.0));
    if (!(hp.rope_freq_base_local > 1.0f)) throw Error("model: rope.freq_base_swa must be > 1");
    hp.layer_is_local = gemma3_local_layers(gguf, a, hp.layer_count);
}

// What differs between the families, from their published descriptions (and llama.cpp's graph
// for each GGUF architecture). Llama is the default of every switch.
void set_family(HyperParams& hp, const GgufFile& gguf, const std::string& a) {
    switch (hp.family) {
        case ModelFamily::Llama:
            // Mistral, TinyLlama, Llama-2 and Llama-3 GGUFs all declare it; Mistral states a
            // sliding window.
            hp.ignored_sliding_window = stated_window(gguf, a);
            return;
        case ModelFamily::Qwen2:
            // The Llama layer with biases on q, k and v, NEOX RoPE.
            hp.rope_layout = RopeLayout::HalfSplit;
            hp.qkv_bias = true;
            return;
        case ModelFamily::Gemma:
            // Gemma (1): GeGLU, embeddings scaled by sqrt(dim), NEOX RoPE, tied output; the norm
            // weights hold "1 + w" as in Gemma 3.
            hp.rope_layout = RopeLayout::HalfSplit;
            hp.activation = FfnActivation::GeluTanh;
            hp.embedding_scale = std::sqrt(float(hp.embedding_length));
            return;
        case ModelFamily::Gemma3:
            set_gemma3(hp, gguf, a);
            return;
        case ModelFamily::Phi2:
            // LayerNorm with bias, one norm per layer feeding attention and MLP in parallel, a
            // GELU MLP, biases everywhere, partial NEOX RoPE (rope.dimension_count).
            hp.norm = NormKind::Layer;
            hp.norm_eps = float(gguf.get_float_or(a + "attention.layernorm_epsilon", 1e-5));
            hp.rope_layout = RopeLayout::HalfSplit;
            hp.activation = FfnActivation::GeluTanh;
            hp.gated_ffn = false;
            hp.qkv_bias = true;
            hp.projection_bias = true;
            hp.parallel_attention_ffn = true;
            return;
        case ModelFamily::Phi3:
            // The Llama layer with NEOX RoPE (its fused tensors are the weights' business).
            hp.rope_layout = RopeLayout::HalfSplit;
            hp.ignored_sliding_window = stated_window(gguf, a);
            return;
    }
}

}  // namespace

const char* family_name(ModelFamily family) {
    switch (family) {
        case ModelFamily::Llama:
            return "Llama";
        case ModelFamily::Qwen2:
            return "Qwen2";
        case ModelFamily::Gemma:
            return "Gemma";
        case ModelFamily::Gemma3:
            return "Gemma 3";
        case ModelFamily::Phi2:
            return "Phi-2";
        case ModelFamily::Phi3:
            return "Phi-3";
    }
    return "unknown";
}

const char* supported_architectures() {
    // The names of kArchitectures (tst_family_loading loads each).
    return "llama, qwen2, gemma, gemma3, phi2, phi3";
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
    const std::optional<ModelFamily> family = family_of(hp.architecture);
    if (!family)
        throw Error("model architecture '" + hp.architecture +
                    "' is not supported (supported: " + supported_architectures() + ")");
    hp.family = *family;
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
    set_family(hp, gguf, a);
    if (!(hp.norm_eps > 0.0f)) throw Error("model: norm epsilon must be positive");
    return hp;
}

}  // namespace selfextend
