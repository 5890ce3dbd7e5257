// Built when SE_CUDA is off: the engine runs on the CPU only.
#include "backend/cuda/cuda_backend.h"
#include "selfextend/error.h"

namespace selfextend::cuda {

bool cuda_available() {
    return false;
}

std::string cuda_unavailable_reason() {
    return "This build has no GPU support (it was built without CUDA)";
}

std::unique_ptr<detail::Backend> make_cuda_backend(const HyperParams&, const ModelWeights&) {
    throw Error(cuda_unavailable_reason());
}

}  // namespace selfextend::cuda
