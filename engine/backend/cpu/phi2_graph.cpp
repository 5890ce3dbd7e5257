// The Phi-2 layer (llama.cpp's "phi2" GGUF architecture): one LayerNorm feeds attention and the
// MLP side by side, and both are added to the residual stream together:
//
//   h = layernorm(x) attn_norm (+ bias)
//   q, k, v = h Wq + bq, h Wk + bk, h Wv + bv;  RoPE on the first rope_dimensions of each head
//   (half-split layout)
//   x += attention(q, k, v) Wo + bo  +  gelu_tanh(h Wup + bup) Wdown + bdown
//
// q, k and v may come from one fused attn_qkv tensor (model_weights.h binds its row ranges).
// The final LayerNorm and the output bias are in CpuSession::forward.
#include "backend/cpu/cpu_session.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/vector_math.h"

namespace selfextend::cpu {

void CpuSession::phi2_layer(int layer, int64_t n) {
    const LayerWeights& lw = w_.layers[size_t(layer)];
    const int64_t e = hp_.embedding_length;
    const int64_t ff = hp_.feed_forward_length;

    block_norm(x_.data(), lw.attention_norm, lw.attention_norm_bias, h_.data(), n);
    kernels().matmul(lw.wq, h_.data(), n, q_.data(), pool_);
    kernels().matmul(lw.wk, h_.data(), n, k_.data(), pool_);
    kernels().matmul(lw.wv, h_.data(), n, v_.data(), pool_);
    add_row_bias(q_.data(), lw.q_bias.data(), n, hp_.q_dim());
    add_row_bias(k_.data(), lw.k_bias.data(), n, hp_.kv_dim());
    add_row_bias(v_.data(), lw.v_bias.data(), n, hp_.kv_dim());
    // The MLP's first half reads the same h, before h_ is reused for the attention's output.
    kernels().matmul(lw.ffn_up, h_.data(), n, up_.data(), pool_);
    add_row_bias(up_.data(), lw.ffn_up_bias.data(), n, ff);

    to_adjacent_pairs(n);
    rotate_and_store(layer, n);
    attend(layer, n);
    kernels().matmul(lw.wo, attn_.data(), n, h_.data(), pool_);
    add_row_bias(h_.data(), lw.o_bias.data(), n, e);
    for (int64_t k = 0; k < n * e; ++k) x_[size_t(k)] += h_[size_t(k)];

    gelu_tanh_rows(up_.data(), n * ff);
    kernels().matmul(lw.ffn_down, up_.data(), n, h_.data(), pool_);
    add_row_bias(h_.data(), lw.ffn_down_bias.data(), n, e);
    for (int64_t k = 0; k < n * e; ++k) x_[size_t(k)] += h_[size_t(k)];
}

}  // namespace selfextend::cpu
