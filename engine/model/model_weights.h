// The tensors of a model, bound by name to data in the memory map and checked against the
// hyper-parameters. One layout serves every family, with the tensors a family lacks left empty
// (as GGUF names them: a family's graph reads the ones it has). Matrices stay in their stored
// type; small vectors (norm weights, biases) are converted to float32 once. A fused tensor (Phi's
// attn_qkv, Phi-3's gate-and-up ffn_up) is bound as row ranges of the stored matrix, without a
// copy, so every graph sees q, k, v, gate and up alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/dtype.h"
#include "model/hyper_params.h"

namespace selfextend {

class GgufFile;

// A row-major matrix as stored: `rows` rows of `cols` values each (GGUF dims {cols, rows}).
// y = W x maps cols inputs to rows outputs.
struct WeightMatrix {
    std::string name;
    const DTypeTraits* dtype = nullptr;
    const uint8_t* data = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t row_bytes = 0;

    const uint8_t* row(int64_t r) const { return data + r * row_bytes; }
    int64_t bytes() const { return rows * row_bytes; }
    // Rows [first, first + count) of this matrix, in place.
    WeightMatrix row_range(int64_t first, int64_t count, const std::string& part) const;
};

struct LayerWeights {
    std::vector<float> attention_norm;
    std::vector<float> attention_norm_bias;  // LayerNorm (hp.norm == NormKind::Layer)
    WeightMatrix wq, wk, wv, wo;
    std::vector<float> q_bias, k_bias, v_bias;      // hp.qkv_bias
    std::vector<float> o_bias;                      // hp.projection_bias
    std::vector<float> ffn_norm;                    // empty with hp.parallel_attention_ffn
    WeightMatrix ffn_gate, ffn_up, ffn_down;        // ffn_gate empty without hp.gated_ffn
    std::vector<float> ffn_up_bias, ffn_down_bias;  // hp.projection_bias
    // Gemma 3 (hp.qk_norm, hp.post_norms); empty for Llama.
    std::vector<float> q_norm, k_norm;  // head_dim weights, shared by every head
    std::vector<float> post_attention_norm, post_ffn_norm;
};

struct ModelWeights {
    WeightMatrix token_embedding;  // vocab rows of embedding_length
    std::vector<LayerWeights> layers;
    std::vector<float> output_norm;
    std::vector<float> output_norm_bias;  // LayerNorm
    WeightMatrix output;                  // the embedding itself when the model ties them
    std::vector<float> output_bias;       // hp.projection_bias
    // Whether q, k, v come from one attn_qkv tensor, gate and up from one ffn_up tensor.
    bool fused_qkv = false;
    bool fused_gate_up = false;

    // Throws Error naming the tensor for missing tensors and wrong shapes.
    static ModelWeights bind(const GgufFile& gguf, const HyperParams& hp);

    // Every stored matrix once (a fused tensor's row ranges count as their parts).
    std::vector<const WeightMatrix*> matrices() const;
};

}  // namespace selfextend
