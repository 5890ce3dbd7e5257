#include "backend/cuda/cuda_graph_support.h"

#include <vector>

namespace selfextend::cuda {

std::string cuda_graph_refusal(const HyperParams& hp, const ModelWeights& weights) {
    // Everything in which a model's graph departs from the plain Llama layer.
    std::vector<std::string> needs;
    if (hp.norm != NormKind::Rms) needs.push_back("LayerNorm");
    if (hp.parallel_attention_ffn) needs.push_back("parallel attention and MLP");
    if (hp.qkv_bias) needs.push_back("biases on q, k and v");
    if (hp.projection_bias) needs.push_back("biases on the output projections");
    if (hp.rope_layout != RopeLayout::AdjacentPairs) needs.push_back("half-split (NEOX) RoPE");
    if (!hp.gated_ffn) needs.push_back("an ungated MLP");
    if (hp.activation != FfnActivation::SiLU) needs.push_back("GELU");
    if (hp.embedding_scale != 1.0f) needs.push_back("scaled embeddings");
    if (hp.qk_norm) needs.push_back("q/k norms");
    if (hp.post_norms) needs.push_back("post-norms");
    if (hp.sliding_window > 0) needs.push_back("sliding-window layers");
    if (weights.fused_qkv) needs.push_back("a fused attn_qkv tensor");
    if (weights.fused_gate_up) needs.push_back("a fused gate/up tensor");
    if (needs.empty() && hp.family->runs_on_cuda) return {};
    if (needs.empty()) needs.push_back("the " + std::string(hp.family->name) + " graph");

    std::string list;
    for (size_t k = 0; k < needs.size(); ++k)
        list += (k == 0 ? "" : k + 1 == needs.size() ? " and " : ", ") + needs[k];
    return "the CUDA backend runs the plain Llama graph only; this '" + hp.architecture +
           "' model (" + std::string(hp.family->name) + ") needs " + list +
           ", so it runs on the CPU backend (--device cpu)";
}

}  // namespace selfextend::cuda
