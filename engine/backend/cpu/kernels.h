// The CPU kernels whose speed depends on the instruction set: the matrix products, attention,
// and rounding a row into the KV cache. The engine holds them several times, built for several
// x86-64 levels (cpu_kernels() lists them), and runs the best build this CPU supports, or the one
// the environment variable SE_CPU_KERNELS names. The graphs reach them only through kernels().
//
// How several builds of the same code live in one program: each level's build of the kernel
// files is linked into one relocatable object whose only global symbol is its table
// (kernel_table.cpp); every other symbol in it, the inline and template code of the headers
// included, is made local to that object (engine/CMakeLists.txt). No build ever calls a function
// compiled for another instruction set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/cpu/attention.h"
#include "model/model_weights.h"

namespace selfextend::cpu {

class ThreadPool;

struct Kernels {
    // matmul.h
    void (*matmul)(const WeightMatrix& w, const float* x, int64_t n, float* y, ThreadPool& pool);
    // attention.h
    void (*attention)(const AttentionShape& shape, const AttentionMode& mode, const float* q,
                      const float* q_grouped, const KvLayerView& cache, int64_t first, int64_t n,
                      float* out, ThreadPool& pool, const AttentionMass* mass);
    // kv_row.h: head_dim floats rounded into one cache row of `type`.
    void (*store_kv_row)(KvType type, const float* row, void* out, int head_dim);
    // integer_matmul.h: whether prefill multiplies quantized weights in 16-bit integers.
    bool integer_prefill;
};

// The kernels this process runs (chosen once). Throws Error when SE_CPU_KERNELS names a build
// that does not exist or that this CPU cannot run.
const Kernels& kernels();
// The name of that build ("avx2", "native", …: cpu_kernel_builds() in engine.h).
std::string kernels_in_use();

}  // namespace selfextend::cpu
