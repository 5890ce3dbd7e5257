// Gemma 3 (docs/method.md, "Gemma 3"): NEOX RoPE, GeGLU, embeddings scaled by sqrt(dim), q/k
// norms, pre- and post-norms, sliding-window layers with their own RoPE base; its own graph
// (backend/cpu/gemma3_graph.cpp). The norm weights in the GGUF already hold Gemma's "1 + w" and
// are used as stored.
#include <cmath>

#include "gguf/gguf_file.h"
#include "model/families/families.h"
#include "model/hyper_params.h"
#include "selfextend/error.h"

namespace selfextend::families {

namespace {

// Gemma 3 interleaves five sliding-window layers with one global layer (layers 5, 11, 17, ...
// are global). A GGUF may state the period, or one flag per layer, in
// <arch>.attention.sliding_window_pattern; files without the key use the published period 6.
std::vector<bool> gemma3_local_layers(const GgufFile& gguf, const std::string& a, int layers) {
    constexpr int64_t kGemma3Period = 6;
    std::vector<bool> local(static_cast<size_t>(layers));
    const GgufValue* pattern = gguf.find(a + "attention.sliding_window_pattern");
    if (pattern && pattern->type == GgufType::Array) {
        if (pattern->items.size() != size_t(layers))
            throw Error("model: '" + a + "attention.sliding_window_pattern' has " +
                        std::to_string(pattern->items.size()) + " entries for " +
                        std::to_string(layers) + " layers");
        for (int l = 0; l < layers; ++l) local[size_t(l)] = pattern->items[size_t(l)].u != 0;
        return local;
    }
    const int64_t period = pattern ? pattern->as_int() : kGemma3Period;
    if (period < 1 || period > layers + 1)
        throw Error("model: sliding window pattern " + std::to_string(period) + " is invalid");
    for (int l = 0; l < layers; ++l) local[size_t(l)] = l % period < period - 1;
    return local;
}

void configure(HyperParams& hp, const GgufFile& gguf, const std::string& a) {
    hp.rope_layout = RopeLayout::HalfSplit;
    hp.activation = FfnActivation::GeluTanh;
    hp.embedding_scale = std::sqrt(float(hp.embedding_length));
    hp.qk_norm = true;
    hp.post_norms = true;
    hp.sliding_window = positive_int(gguf, a + "attention.sliding_window", int64_t(1) << 24);
    hp.rope_freq_base_local = float(gguf.get_float_or(a + "rope.freq_base_swa", 10000.0));
    if (!(hp.rope_freq_base_local > 1.0f)) throw Error("model: rope.freq_base_swa must be > 1");
    hp.layer_is_local = gemma3_local_layers(gguf, a, hp.layer_count);
}

}  // namespace

const Family kGemma3{.architecture = "gemma3",
                     .name = "Gemma 3",
                     .graph = LayerGraph::Gemma3,
                     // At 40 000 tokens G = 3 (largest position 0.49 L) stated 14 of 18 facts,
                     // the smallest fitting G = 2 (0.67 L) 12 (docs/long-context.md).
                     .trusted_position_share = 2.0 / 3.0,
                     .configure = configure};

}  // namespace selfextend::families
