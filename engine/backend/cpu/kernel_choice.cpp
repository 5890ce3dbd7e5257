// Which build of the CPU kernels runs (kernels.h): the builds this program holds, what each needs
// of the CPU, and the choice, made once per process.
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "selfextend/engine.h"
#include "selfextend/error.h"

// The tables, one per build (kernel_table.cpp). The per-level builds exist where the build system
// made them (SE_CPU_KERNEL_LEVELS: x86-64 with GCC, outside the sanitizer and fuzz builds).
extern "C" const selfextend::cpu::Kernels* se_cpu_kernels_builtin();
#if defined(SE_CPU_KERNEL_LEVELS)
extern "C" const selfextend::cpu::Kernels* se_cpu_kernels_sse42();
extern "C" const selfextend::cpu::Kernels* se_cpu_kernels_avx2();
extern "C" const selfextend::cpu::Kernels* se_cpu_kernels_avx512();
#if defined(SE_CPU_KERNEL_AVX512FP16)
extern "C" const selfextend::cpu::Kernels* se_cpu_kernels_avx512fp16();
#endif
#endif

namespace selfextend::cpu {
namespace {

struct Build {
    const char* name;
    const char* instructions;
    bool (*runs_here)();
    const Kernels* (*table)();
};

bool always() {
    return true;
}

#if defined(SE_CPU_KERNEL_LEVELS)
// libgcc's checks include the operating system's support for the wider registers (XSAVE).
bool has_v2() {
    return __builtin_cpu_supports("x86-64-v2");
}
bool has_v3() {
    return __builtin_cpu_supports("x86-64-v3");
}
bool has_v4_vnni() {
    return __builtin_cpu_supports("x86-64-v4") && __builtin_cpu_supports("avx512vnni");
}
#if defined(SE_CPU_KERNEL_AVX512FP16)
bool has_v4_fp16() {
    return has_v4_vnni() && __builtin_cpu_supports("avx512bf16") &&
           __builtin_cpu_supports("avx512fp16");
}
#endif
#endif

// Best first.
std::vector<Build> builds() {
    std::vector<Build> all;
#if defined(SE_NATIVE_KERNELS)
    // Built for the building machine: the fastest there, and where it was meant to run.
    all.push_back(
        {"native", "the building machine's (-march=native)", always, se_cpu_kernels_builtin});
#endif
#if defined(SE_CPU_KERNEL_LEVELS)
#if defined(SE_CPU_KERNEL_AVX512FP16)
    all.push_back({"avx512fp16", "x86-64-v4 with AVX512-VNNI, AVX512-BF16 and AVX512-FP16",
                   has_v4_fp16, se_cpu_kernels_avx512fp16});
#endif
    all.push_back({"avx512", "x86-64-v4 (AVX-512 F, BW, CD, DQ, VL) with AVX512-VNNI", has_v4_vnni,
                   se_cpu_kernels_avx512});
    all.push_back({"avx2", "x86-64-v3: AVX2, FMA, F16C", has_v3, se_cpu_kernels_avx2});
    all.push_back({"sse4.2", "x86-64-v2: SSE4.2, POPCNT", has_v2, se_cpu_kernels_sse42});
#endif
#if !defined(SE_NATIVE_KERNELS)
    all.push_back(
        {"portable", "the compiler's baseline (x86-64: SSE2)", always, se_cpu_kernels_builtin});
#endif
    return all;
}

std::string names(const std::vector<Build>& all, bool only_runnable) {
    std::string text;
    for (const Build& build : all)
        if (!only_runnable || build.runs_here())
            text += (text.empty() ? "" : ", ") + std::string(build.name);
    return text;
}

const Build& choose(const std::vector<Build>& all) {
    const char* forced = std::getenv("SE_CPU_KERNELS");
    if (forced && *forced) {
        for (const Build& build : all) {
            if (build.name != std::string(forced)) continue;
            if (!build.runs_here())
                throw Error("SE_CPU_KERNELS=" + std::string(forced) +
                            ": this CPU lacks what those "
                            "kernels need (" +
                            build.instructions + "); it runs " + names(all, true));
            return build;
        }
        throw Error("SE_CPU_KERNELS=" + std::string(forced) +
                    " is not a build of the CPU kernels "
                    "in this program; it holds " +
                    names(all, false));
    }
    for (const Build& build : all)
        if (build.runs_here()) return build;
    return all.back();  // the built-in one runs everywhere it was built for
}

const Build& chosen() {
    static const std::vector<Build> all = builds();
    static const Build& build = choose(all);
    return build;
}

}  // namespace

const Kernels& kernels() {
    return *chosen().table();
}

std::string kernels_in_use() {
    return chosen().name;
}

}  // namespace selfextend::cpu

namespace selfextend {

std::vector<CpuKernelBuild> cpu_kernel_builds() {
    const std::vector<cpu::Build> all = cpu::builds();
    std::string in_use;
    try {
        in_use = cpu::chosen().name;
    } catch (const Error&) {
        // SE_CPU_KERNELS names nothing that runs here: none is in use (loading a model says why).
    }
    std::vector<CpuKernelBuild> list;
    for (const cpu::Build& build : all)
        list.push_back({build.name, build.instructions, build.runs_here(), build.name == in_use});
    return list;
}

}  // namespace selfextend
