#include "model/model_weights.h"

#include "gguf/gguf_file.h"

namespace selfextend {

namespace {

std::string shape_string(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t k = 0; k < dims.size(); ++k) s += (k ? ", " : "") + std::to_string(dims[k]);
    return s + "]";
}

const GgufTensor& require_tensor(const GgufFile& gguf, const std::string& name,
                                 std::vector<int64_t> dims) {
    const GgufTensor* tensor = gguf.find_tensor(name);
    if (!tensor) throw Error("model: missing tensor '" + name + "'");
    if (tensor->dims != dims)
        throw Error("model: tensor '" + name + "' has shape " + shape_string(tensor->dims) +
                    ", expected " + shape_string(dims));
    return *tensor;
}

WeightMatrix matrix(const GgufFile& gguf, const std::string& name, int64_t cols, int64_t rows) {
    const GgufTensor& t = require_tensor(gguf, name, {cols, rows});
    return {name, t.dtype, t.data, rows, cols, row_bytes(*t.dtype, cols)};
}

std::vector<float> vector_f32(const GgufFile& gguf, const std::string& name, int64_t n) {
    const GgufTensor& t = require_tensor(gguf, name, {n});
    std::vector<float> values(static_cast<size_t>(n));
    t.dtype->dequantize_row(t.data, values.data(), n);
    return values;
}

std::vector<float> slice(const std::vector<float>& values, int64_t first, int64_t count) {
    return {values.begin() + first, values.begin() + first + count};
}

// q, k and v: three tensors, or one attn_qkv whose rows are q's, then k's, then v's (Phi-2,
// Phi-3). A family that may fuse them names attn_qkv when neither layout is there.
void bind_attention(const GgufFile& gguf, const HyperParams& hp, const std::string& p,
                    bool may_fuse, LayerWeights& layer, bool& fused) {
    const int64_t e = hp.embedding_length, q = hp.q_dim(), kv = hp.kv_dim();
    fused = may_fuse &&
            (gguf.find_tensor(p + "attn_qkv.weight") || !gguf.find_tensor(p + "attn_q.weight"));
    if (fused) {
        const WeightMatrix qkv = matrix(gguf, p + "attn_qkv.weight", e, q + 2 * kv);
        layer.wq = qkv.row_range(0, q, "q");
        layer.wk = qkv.row_range(q, kv, "k");
        layer.wv = qkv.row_range(q + kv, kv, "v");
        if (hp.qkv_bias) {
            const std::vector<float> bias = vector_f32(gguf, p + "attn_qkv.bias", q + 2 * kv);
            layer.q_bias = slice(bias, 0, q);
            layer.k_bias = slice(bias, q, kv);
            layer.v_bias = slice(bias, q + kv, kv);
        }
        return;
    }
    layer.wq = matrix(gguf, p + "attn_q.weight", e, q);
    layer.wk = matrix(gguf, p + "attn_k.weight", e, kv);
    layer.wv = matrix(gguf, p + "attn_v.weight", e, kv);
    if (hp.qkv_bias) {
        layer.q_bias = vector_f32(gguf, p + "attn_q.bias", q);
        layer.k_bias = vector_f32(gguf, p + "attn_k.bias", kv);
        layer.v_bias = vector_f32(gguf, p + "attn_v.bias", kv);
    }
}

// The FFN's input side: gate and up as two tensors (Llama), as one ffn_up of 2 x FFN rows with
// the gate's rows first (Phi-3: its SwiGLU applies the activation to the first half), or up
// alone with a bias (Phi-2's MLP).
void bind_ffn_input(const GgufFile& gguf, const HyperParams& hp, const std::string& p,
                    LayerWeights& layer, bool& fused) {
    const int64_t e = hp.embedding_length, ff = hp.feed_forward_length;
    fused = hp.family->may_fuse_gate_up && !gguf.find_tensor(p + "ffn_gate.weight");
    if (!hp.gated_ffn) {
        layer.ffn_up = matrix(gguf, p + "ffn_up.weight", e, ff);
    } else if (fused) {
        const WeightMatrix gate_up = matrix(gguf, p + "ffn_up.weight", e, 2 * ff);
        layer.ffn_gate = gate_up.row_range(0, ff, "gate");
        layer.ffn_up = gate_up.row_range(ff, ff, "up");
    } else {
        layer.ffn_gate = matrix(gguf, p + "ffn_gate.weight", e, ff);
        layer.ffn_up = matrix(gguf, p + "ffn_up.weight", e, ff);
    }
    if (hp.projection_bias) layer.ffn_up_bias = vector_f32(gguf, p + "ffn_up.bias", ff);
}

}  // namespace

WeightMatrix WeightMatrix::row_range(int64_t first, int64_t count, const std::string& part) const {
    if (first < 0 || count < 0 || first + count > rows)
        throw Error("model: rows [" + std::to_string(first) + ", " + std::to_string(first + count) +
                    ") are outside '" + name + "'");
    return {name + " (" + part + " rows)", dtype, row(first), count, cols, row_bytes};
}

ModelWeights ModelWeights::bind(const GgufFile& gguf, const HyperParams& hp) {
    // Phi-3's LongRoPE (128k models) rescales each frequency by a stored factor: not supported.
    for (const char* factors : {"rope_factors_long.weight", "rope_factors_short.weight"})
        if (gguf.find_tensor(factors))
            throw Error(std::string("model: LongRoPE frequency factors ('") + factors +
                        "') are not supported");
    const bool layer_norm = hp.norm == NormKind::Layer;
    const bool may_fuse_qkv = hp.family->may_fuse_qkv;
    ModelWeights w;
    const int64_t e = hp.embedding_length;
    w.token_embedding = matrix(gguf, "token_embd.weight", e, hp.vocab_size);
    for (int l = 0; l < hp.layer_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        LayerWeights layer;
        layer.attention_norm = vector_f32(gguf, p + "attn_norm.weight", e);
        if (layer_norm) layer.attention_norm_bias = vector_f32(gguf, p + "attn_norm.bias", e);
        bind_attention(gguf, hp, p, may_fuse_qkv, layer, w.fused_qkv);
        layer.wo = matrix(gguf, p + "attn_output.weight", hp.q_dim(), e);
        if (hp.projection_bias) layer.o_bias = vector_f32(gguf, p + "attn_output.bias", e);
        if (!hp.parallel_attention_ffn) layer.ffn_norm = vector_f32(gguf, p + "ffn_norm.weight", e);
        bind_ffn_input(gguf, hp, p, layer, w.fused_gate_up);
        layer.ffn_down = matrix(gguf, p + "ffn_down.weight", hp.feed_forward_length, e);
        if (hp.projection_bias) layer.ffn_down_bias = vector_f32(gguf, p + "ffn_down.bias", e);
        if (hp.qk_norm) {
            layer.q_norm = vector_f32(gguf, p + "attn_q_norm.weight", hp.head_dim);
            layer.k_norm = vector_f32(gguf, p + "attn_k_norm.weight", hp.head_dim);
        }
        if (hp.post_norms) {
            layer.post_attention_norm = vector_f32(gguf, p + "post_attention_norm.weight", e);
            layer.post_ffn_norm = vector_f32(gguf, p + "post_ffw_norm.weight", e);
        }
        w.layers.push_back(std::move(layer));
    }
    w.output_norm = vector_f32(gguf, "output_norm.weight", e);
    if (layer_norm) w.output_norm_bias = vector_f32(gguf, "output_norm.bias", e);
    w.output = gguf.find_tensor("output.weight") ? matrix(gguf, "output.weight", e, hp.vocab_size)
                                                 : w.token_embedding;
    if (hp.projection_bias) w.output_bias = vector_f32(gguf, "output.bias", hp.vocab_size);
    return w;
}

std::vector<const WeightMatrix*> ModelWeights::matrices() const {
    std::vector<const WeightMatrix*> all{&token_embedding};
    for (const LayerWeights& layer : layers)
        for (const WeightMatrix* m : {&layer.wq, &layer.wk, &layer.wv, &layer.wo, &layer.ffn_gate,
                                      &layer.ffn_up, &layer.ffn_down})
            if (m->data) all.push_back(m);  // Phi-2 has no gate
    if (output.data != token_embedding.data) all.push_back(&output);
    return all;
}

}  // namespace selfextend
