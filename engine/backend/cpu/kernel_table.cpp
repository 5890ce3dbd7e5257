// One build's table of kernels (kernels.h). Compiled with the kernel files: once into the engine
// with the build's own flags ("built in"), and once for each x86-64 level, where
// SE_KERNELS_ENTRY names the table's function (kernel_choice.cpp calls it).
#include "backend/cpu/attention.h"
#include "backend/cpu/integer_matmul.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/kv_row.h"
#include "backend/cpu/matmul.h"

#ifndef SE_KERNELS_ENTRY
#define SE_KERNELS_ENTRY se_cpu_kernels_builtin
#endif

extern "C" const selfextend::cpu::Kernels* SE_KERNELS_ENTRY() {
    static constexpr selfextend::cpu::Kernels table{
        &selfextend::cpu::matmul, &selfextend::cpu::attention, &selfextend::cpu::store_kv_row,
        selfextend::cpu::kIntegerMatmul};
    return &table;
}
