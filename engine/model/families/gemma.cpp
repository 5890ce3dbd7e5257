// Gemma (1): the Llama layer with GeGLU, embeddings scaled by sqrt(dim), NEOX RoPE and a tied
// output; the norm weights hold "1 + w" as in Gemma 3 and are used as stored.
#include <cmath>

#include "model/families/families.h"
#include "model/hyper_params.h"

namespace selfextend::families {

namespace {

void configure(HyperParams& hp, const GgufFile&, const std::string&) {
    hp.rope_layout = RopeLayout::HalfSplit;
    hp.activation = FfnActivation::GeluTanh;
    hp.embedding_scale = std::sqrt(float(hp.embedding_length));
}

}  // namespace

const Family kGemma{.architecture = "gemma", .name = "Gemma", .configure = configure};

}  // namespace selfextend::families
