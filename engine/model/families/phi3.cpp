// Phi-3: the Llama layer with NEOX RoPE; its q, k and v may come fused in attn_qkv and its gate
// and up in one ffn_up (the weights bind them as row ranges).
#include "model/families/families.h"
#include "model/hyper_params.h"

namespace selfextend::families {

namespace {

void configure(HyperParams& hp, const GgufFile& gguf, const std::string& prefix) {
    hp.rope_layout = RopeLayout::HalfSplit;
    hp.ignored_sliding_window = stated_window(gguf, prefix);
}

}  // namespace

const Family kPhi3{.architecture = "phi3",
                   .name = "Phi-3",
                   .may_fuse_qkv = true,
                   .may_fuse_gate_up = true,
                   .configure = configure};

}  // namespace selfextend::families
