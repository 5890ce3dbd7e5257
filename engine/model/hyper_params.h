// A model's hyper-parameters, read from GGUF metadata once and used by every backend. Everything
// in which the supported families differ is a value here, set by the family's entry
// (model/family.h): the graphs read the values, nothing else looks at the architecture's name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/family.h"

namespace selfextend {

class GgufFile;

// How the RoPE pairs of a head are laid out: GGUF "llama" tensors rotate (x[2k], x[2k+1]);
// NEOX-style models (Gemma, Qwen2, HF checkpoints) rotate (x[k], x[k + d/2]).
enum class RopeLayout { AdjacentPairs, HalfSplit };

enum class FfnActivation { SiLU, GeluTanh };  // SwiGLU (Llama) or GeGLU with tanh GELU (Gemma)

// RMSNorm (x / rms(x) * w) or LayerNorm ((x - mean) / std * w + b, Phi-2).
enum class NormKind { Rms, Layer };

// The rotary frequencies of one layer.
struct RopeFrequencies {
    int dimensions = 0;  // leading dimensions of each head that rotate
    float base = 10000.0f;
    float scale = 1.0f;  // linear scaling: positions are divided by this

    friend bool operator==(const RopeFrequencies&, const RopeFrequencies&) = default;
};

struct HyperParams {
    std::string architecture;
    const Family* family = llama_family();  // its entry in the table of families (family.h)
    int64_t context_length = 0;             // L, the training window
    int embedding_length = 0;
    int layer_count = 0;
    int head_count = 0;
    int head_count_kv = 0;
    int head_dim = 0;
    int rope_dimensions = 0;  // leading dimensions of each head that RoPE rotates
    int feed_forward_length = 0;
    int vocab_size = 0;
    float rope_freq_base = 10000.0f;  // global (full-attention) layers
    float rope_scale = 1.0f;          // linear scaling of the global layers
    float norm_eps = 1e-5f;
    NormKind norm = NormKind::Rms;
    RopeLayout rope_layout = RopeLayout::AdjacentPairs;
    FfnActivation activation = FfnActivation::SiLU;
    // The FFN: gated (act(h Wgate) * h Wup) Wdown, or Phi-2's plain MLP act(h Wup + b) Wdown + b.
    bool gated_ffn = true;
    // Biases added to q, k and v (Qwen2, Phi-2); to the attention output, the MLP and the logits
    // as well (Phi-2).
    bool qkv_bias = false;
    bool projection_bias = false;
    // Phi-2: attention and MLP both read the same normed input and are added to the residual
    // stream together (x += attn(h) + mlp(h)), with no second norm.
    bool parallel_attention_ffn = false;
    float embedding_scale = 1.0f;  // token embeddings are multiplied by this (Gemma: sqrt(dim))
    // Gemma 3: RMSNorm of each head of q and k before RoPE, and a second RMSNorm on the output of
    // attention and of the FFN before each is added to the residual stream.
    bool qk_norm = false;
    bool post_norms = false;
    // Sliding-window (local) layers: a query i sees keys j > i - sliding_window only, and rotates
    // with rope_freq_base_local unscaled. Empty for models without them.
    int sliding_window = 0;
    float rope_freq_base_local = 10000.0f;
    std::vector<bool> layer_is_local;  // [layer_count] when sliding_window > 0
    // A window the file states but the graph does not apply (Mistral's and Phi-3's
    // <arch>.attention.sliding_window): every layer attends to all keys, as llama.cpp runs these
    // models, and Self-Extend (which regroups distances instead) ignores it. 0 when none.
    int ignored_sliding_window = 0;

    int q_dim() const { return head_count * head_dim; }
    int kv_dim() const { return head_count_kv * head_dim; }

    bool is_local(int layer) const { return sliding_window > 0 && layer_is_local[size_t(layer)]; }
    // The key window of a layer's attention: sliding_window on local layers, 0 (all keys) else.
    int key_window(int layer) const { return is_local(layer) ? sliding_window : 0; }
    // Self-Extend regroups positions on the global layers only: the local ones never see a
    // distance past their window, which lies inside what they were trained on.
    bool self_extend_applies(int layer) const { return !is_local(layer); }
    RopeFrequencies rope(int layer) const;
    RopeFrequencies global_rope() const { return {rope_dimensions, rope_freq_base, rope_scale}; }

    // Reads <arch>.* keys; throws Error for unknown architectures and inconsistent values.
    static HyperParams from_gguf(const GgufFile& gguf);
};

// The integer at `key`, which must lie in 1..limit (Error otherwise).
int positive_int(const GgufFile& gguf, const std::string& key, int64_t limit);

}  // namespace selfextend
