// Llama (Llama 2 and 3, Mistral, TinyLlama, SmolLM2, …): the default of every switch.
#include "model/families/families.h"
#include "model/hyper_params.h"

namespace selfextend::families {

namespace {

void configure(HyperParams& hp, const GgufFile& gguf, const std::string& prefix) {
    // Mistral states a sliding window that llama.cpp does not apply either.
    hp.ignored_sliding_window = stated_window(gguf, prefix);
}

}  // namespace

const Family kLlama{.architecture = "llama",
                    .name = "Llama",
                    .graph = LayerGraph::Llama,
                    .runs_on_cuda = true,
                    .configure = configure};

}  // namespace selfextend::families
