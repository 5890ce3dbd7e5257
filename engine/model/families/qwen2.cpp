// Qwen2: the Llama layer with biases on q, k and v and half-split (NEOX) RoPE.
#include "model/families/families.h"
#include "model/hyper_params.h"

namespace selfextend::families {

namespace {

void configure(HyperParams& hp, const GgufFile&, const std::string&) {
    hp.rope_layout = RopeLayout::HalfSplit;
    hp.qkv_bias = true;
}

}  // namespace

const Family kQwen2{.architecture = "qwen2", .name = "Qwen2", .configure = configure};

}  // namespace selfextend::families
