#include "model/llama_weights.h"

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

}  // namespace

LlamaWeights LlamaWeights::bind(const GgufFile& gguf, const HyperParams& hp) {
    LlamaWeights w;
    const int64_t e = hp.embedding_length;
    w.token_embedding = matrix(gguf, "token_embd.weight", e, hp.vocab_size);
    for (int l = 0; l < hp.layer_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        LayerWeights layer;
        layer.attention_norm = vector_f32(gguf, p + "attn_norm.weight", e);
        layer.wq = matrix(gguf, p + "attn_q.weight", e, hp.q_dim());
        layer.wk = matrix(gguf, p + "attn_k.weight", e, hp.kv_dim());
        layer.wv = matrix(gguf, p + "attn_v.weight", e, hp.kv_dim());
        layer.wo = matrix(gguf, p + "attn_output.weight", hp.q_dim(), e);
        layer.ffn_norm = vector_f32(gguf, p + "ffn_norm.weight", e);
        layer.ffn_gate = matrix(gguf, p + "ffn_gate.weight", e, hp.feed_forward_length);
        layer.ffn_up = matrix(gguf, p + "ffn_up.weight", e, hp.feed_forward_length);
        layer.ffn_down = matrix(gguf, p + "ffn_down.weight", hp.feed_forward_length, e);
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
    w.output = gguf.find_tensor("output.weight") ? matrix(gguf, "output.weight", e, hp.vocab_size)
                                                 : w.token_embedding;
    return w;
}

std::vector<const WeightMatrix*> LlamaWeights::matrices() const {
    std::vector<const WeightMatrix*> all{&token_embedding};
    for (const LayerWeights& layer : layers)
        for (const WeightMatrix* m : {&layer.wq, &layer.wk, &layer.wv, &layer.wo, &layer.ffn_gate,
                                      &layer.ffn_up, &layer.ffn_down})
            all.push_back(m);
    if (output.data != token_embedding.data) all.push_back(&output);
    return all;
}

}  // namespace selfextend
