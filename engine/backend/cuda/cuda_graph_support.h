// What the CUDA backend's one layer graph can run: the plain Llama layer (RMSNorm, SwiGLU, no
// biases, RoPE on adjacent pairs, separate q/k/v and gate/up tensors, unscaled embeddings, every
// layer global). Plain C++ kept apart from the CUDA code, so that the engine asks it before it
// tries a GPU and the tests ask it in builds without CUDA.
#pragma once

#include <string>

#include "model/hyper_params.h"
#include "model/model_weights.h"

namespace selfextend::cuda {

// Why the CUDA graph cannot run this model, naming what it lacks in plain words; empty when it
// can run it.
std::string cuda_graph_refusal(const HyperParams& hp, const ModelWeights& weights);

}  // namespace selfextend::cuda
