#include "backend/cuda/cuda_resources.h"

#include <cuda_fp16.h>

#include "backend/cuda/cuda_check.h"
#include "backend/host_memory.h"

namespace selfextend::cuda {

void throw_cuda_error(cudaError_t status, const char* what, const char* file, int line) {
    const std::string message = std::string("CUDA error: ") + cudaGetErrorString(status) + " in " +
                                what + " (" + file + ":" + std::to_string(line) + ")";
    if (status == cudaErrorMemoryAllocation) throw OutOfMemory(message);
    throw Error(message);
}

void throw_cublas_error(cublasStatus_t status, const char* what, const char* file, int line) {
    const std::string message = std::string("cuBLAS error: ") + cublasGetStatusString(status) +
                                " in " + what + " (" + file + ":" + std::to_string(line) + ")";
    if (status == CUBLAS_STATUS_ALLOC_FAILED) throw OutOfMemory(message);
    throw Error(message);
}

std::pair<size_t, size_t> device_memory() {
    size_t free = 0, total = 0;
    SE_CUDA_CHECK(cudaMemGetInfo(&free, &total));
    return {free, total};
}

template <typename T>
DeviceBuffer<T>::DeviceBuffer(size_t count, const std::string& what) : count_(count) {
    if (count == 0) return;
    void* pointer = nullptr;
    const cudaError_t status = cudaMalloc(&pointer, count * sizeof(T));
    if (status != cudaSuccess && status != cudaErrorMemoryAllocation)
        throw_cuda_error(status, "cudaMalloc", __FILE__, __LINE__);
    if (status != cudaSuccess) {
        cudaGetLastError();  // clear the allocation error so later calls are not blamed for it
        const auto [free, total] = device_memory();
        throw OutOfMemory("out of GPU memory: " + what + " needs " +
                          format_bytes(count * sizeof(T)) + ", " + format_bytes(free) + " of " +
                          format_bytes(total) + " is free");
    }
    data_ = static_cast<T*>(pointer);
}

template <typename T>
void DeviceBuffer<T>::release() {
    if (data_) cudaFree(data_);  // errors here cannot be reported from a destructor
    data_ = nullptr;
    count_ = 0;
}

template class DeviceBuffer<float>;
template class DeviceBuffer<__half>;
template class DeviceBuffer<int32_t>;

Stream::Stream() {
    SE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}
Stream::~Stream() {
    if (stream_) cudaStreamDestroy(stream_);
}
void Stream::synchronize() const {
    SE_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

CublasHandle::CublasHandle(const Stream& stream) {
    SE_CUBLAS_CHECK(cublasCreate(&handle_));
    const cublasStatus_t status = cublasSetStream(handle_, stream.get());
    if (status != CUBLAS_STATUS_SUCCESS) {
        cublasDestroy(handle_);  // a throwing constructor runs no destructor
        throw_cublas_error(status, "cublasSetStream", __FILE__, __LINE__);
    }
}
CublasHandle::~CublasHandle() {
    if (handle_) cublasDestroy(handle_);
}

}  // namespace selfextend::cuda
