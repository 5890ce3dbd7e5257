// The Llama layer, which every family without a graph of its own runs (Llama, Qwen2, Gemma,
// Phi-3): pre-norm attention and gated FFN, each added to the residual stream:
//
//   h = rmsnorm(x) attn_norm;  q, k, v = h Wq (+ bq), h Wk (+ bk), h Wv (+ bv);  RoPE
//   x += attention(q, k, v) Wo
//   h = rmsnorm(x) ffn_norm;  x += (act(h Wgate) * h Wup) Wdown
//
// The families that share it switch: q/k/v biases (Qwen2), half-split RoPE (Qwen2, Gemma,
// Phi-3), GeGLU and scaled embeddings (Gemma); Phi-3's fused tensors arrive as q/k/v and
// gate/up row ranges (model_weights.h).
#include "backend/cpu/cpu_session.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/vector_math.h"

namespace selfextend::cpu {

void CpuSession::llama_layer(int layer, int64_t n) {
    const LayerWeights& lw = w_.layers[size_t(layer)];
    const int64_t e = hp_.embedding_length;

    norm_rows(x_.data(), lw.attention_norm, h_.data(), n, e);
    kernels().matmul(lw.wq, h_.data(), n, q_.data(), pool_);
    kernels().matmul(lw.wk, h_.data(), n, k_.data(), pool_);
    kernels().matmul(lw.wv, h_.data(), n, v_.data(), pool_);
    if (hp_.qkv_bias) {
        add_row_bias(q_.data(), lw.q_bias.data(), n, hp_.q_dim());
        add_row_bias(k_.data(), lw.k_bias.data(), n, hp_.kv_dim());
        add_row_bias(v_.data(), lw.v_bias.data(), n, hp_.kv_dim());
    }
    to_adjacent_pairs(n);
    rotate_and_store(layer, n);
    attend(layer, n);

    kernels().matmul(lw.wo, attn_.data(), n, h_.data(), pool_);
    for (int64_t k = 0; k < n * e; ++k) x_[size_t(k)] += h_[size_t(k)];

    norm_rows(x_.data(), lw.ffn_norm, h_.data(), n, e);
    kernels().matmul(lw.ffn_gate, h_.data(), n, gate_.data(), pool_);
    kernels().matmul(lw.ffn_up, h_.data(), n, up_.data(), pool_);
    if (hp_.activation == FfnActivation::GeluTanh)
        gelu_tanh_mul(gate_.data(), up_.data(), n * hp_.feed_forward_length);
    else
        silu_mul(gate_.data(), up_.data(), n * hp_.feed_forward_length);
    kernels().matmul(lw.ffn_down, gate_.data(), n, h_.data(), pool_);
    for (int64_t k = 0; k < n * e; ++k) x_[size_t(k)] += h_[size_t(k)];
}

}  // namespace selfextend::cpu
