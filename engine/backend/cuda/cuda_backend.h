// Entry points of the CUDA backend. In a build without CUDA they report that none is available.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "model/hyper_params.h"
#include "model/model_weights.h"

namespace selfextend::cuda {

bool cuda_available();
std::string cuda_unavailable_reason();
// Uploads the weights; throws OutOfMemory (with the bytes needed and free) or Error.
std::unique_ptr<detail::Backend> make_cuda_backend(const HyperParams& hp,
                                                   const ModelWeights& weights);

}  // namespace selfextend::cuda
