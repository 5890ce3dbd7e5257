// Phi-2: LayerNorm with bias, one norm per layer feeding attention and the MLP in parallel, a
// GELU MLP, biases everywhere, partial NEOX RoPE (rope.dimension_count); its own graph
// (backend/cpu/phi2_graph.cpp).
#include "gguf/gguf_file.h"
#include "model/families/families.h"
#include "model/hyper_params.h"

namespace selfextend::families {

namespace {

void configure(HyperParams& hp, const GgufFile& gguf, const std::string& prefix) {
    hp.norm = NormKind::Layer;
    hp.norm_eps = float(gguf.get_float_or(prefix + "attention.layernorm_epsilon", 1e-5));
    hp.rope_layout = RopeLayout::HalfSplit;
    hp.activation = FfnActivation::GeluTanh;
    hp.gated_ffn = false;
    hp.qkv_bias = true;
    hp.projection_bias = true;
    hp.parallel_attention_ffn = true;
}

}  // namespace

const Family kPhi2{.architecture = "phi2",
                   .name = "Phi-2",
                   .graph = LayerGraph::Phi2,
                   .may_fuse_qkv = true,
                   .configure = configure};

}  // namespace selfextend::families
