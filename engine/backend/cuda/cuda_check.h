// Turning CUDA and cuBLAS status codes into engine errors (never aborts).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "selfextend/error.h"

namespace selfextend::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* what, const char* file,
                                   int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* what, const char* file,
                                     int line);

}  // namespace selfextend::cuda

#define SE_CUDA_CHECK(call)                                                              \
    do {                                                                                 \
        const cudaError_t se_status_ = (call);                                           \
        if (se_status_ != cudaSuccess)                                                   \
            ::selfextend::cuda::throw_cuda_error(se_status_, #call, __FILE__, __LINE__); \
    } while (0)

#define SE_CUBLAS_CHECK(call)                                                              \
    do {                                                                                   \
        const cublasStatus_t se_status_ = (call);                                          \
        if (se_status_ != CUBLAS_STATUS_SUCCESS)                                           \
            ::selfextend::cuda::throw_cublas_error(se_status_, #call, __FILE__, __LINE__); \
    } while (0)

// After a kernel launch: launch errors always; execution errors too in debug builds, where the
// stream is synchronised so the failing kernel is named.
#ifdef NDEBUG
#define SE_CUDA_CHECK_LAUNCH(stream) SE_CUDA_CHECK(cudaGetLastError())
#else
#define SE_CUDA_CHECK_LAUNCH(stream)                  \
    do {                                              \
        SE_CUDA_CHECK(cudaGetLastError());            \
        SE_CUDA_CHECK(cudaStreamSynchronize(stream)); \
    } while (0)
#endif
