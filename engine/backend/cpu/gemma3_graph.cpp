// The Gemma 3 layer (docs/method.md, "Gemma 3"):
//
//   h = rmsnorm(x) attn_norm;  q, k, v = h Wq, h Wk, h Wv
//   q = rmsnorm_per_head(q) q_norm;  k = rmsnorm_per_head(k) k_norm;  RoPE (half-split layout)
//   a = attention(q, k, v) Wo;  x += rmsnorm(a) post_attention_norm
//   h = rmsnorm(x) ffn_norm;  f = (gelu_tanh(h Wgate) * h Wup) Wdown;  x += rmsnorm(f)
//   post_ffw_norm
//
// Local layers attend to the last hp.sliding_window keys with their own RoPE base and never
// group; global layers attend to every key, with Self-Extend when the session asks for it
// (CpuSession::mode_of, rope_of, HyperParams::key_window). The embedding scale and the tied
// output are in CpuSession::forward.
#include "backend/cpu/cpu_session.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/vector_math.h"

namespace selfextend::cpu {

void CpuSession::gemma3_layer(int layer, int64_t n) {
    const LayerWeights& lw = w_.layers[size_t(layer)];
    const int64_t e = hp_.embedding_length;
    const int hd = hp_.head_dim;

    norm_rows(x_.data(), lw.attention_norm, h_.data(), n, e);
    kernels().matmul(lw.wq, h_.data(), n, q_.data(), pool_);
    kernels().matmul(lw.wk, h_.data(), n, k_.data(), pool_);
    kernels().matmul(lw.wv, h_.data(), n, v_.data(), pool_);
    // Each head of q and k normalised on its own (rows of head_dim values), then moved to the
    // adjacent-pair layout the RoPE table and the cache use (rope_table.h).
    norm_rows(q_.data(), lw.q_norm, q_.data(), n * hp_.head_count, hd);
    norm_rows(k_.data(), lw.k_norm, k_.data(), n * hp_.head_count_kv, hd);
    RopeTable::interleave_halves(q_.data(), int(n * hp_.head_count), hd, hp_.rope_dimensions);
    RopeTable::interleave_halves(k_.data(), int(n * hp_.head_count_kv), hd, hp_.rope_dimensions);
    rotate_and_store(layer, n);
    attend(layer, n);

    kernels().matmul(lw.wo, attn_.data(), n, h_.data(), pool_);
    norm_rows(h_.data(), lw.post_attention_norm, h_.data(), n, e);
    for (int64_t k = 0; k < n * e; ++k) x_[size_t(k)] += h_[size_t(k)];

    norm_rows(x_.data(), lw.ffn_norm, h_.data(), n, e);
    kernels().matmul(lw.ffn_gate, h_.data(), n, gate_.data(), pool_);
    kernels().matmul(lw.ffn_up, h_.data(), n, up_.data(), pool_);
    gelu_tanh_mul(gate_.data(), up_.data(), n * hp_.feed_forward_length);
    kernels().matmul(lw.ffn_down, gate_.data(), n, h_.data(), pool_);
    norm_rows(h_.data(), lw.post_ffn_norm, h_.data(), n, e);
    for (int64_t k = 0; k < n * e; ++k) x_[size_t(k)] += h_[size_t(k)];
}

}  // namespace selfextend::cpu
