// run_if_kernels_run TEST [ARGS…]: runs TEST under the build of the CPU kernels SE_CPU_KERNELS
// names (tests/engine/CMakeLists.txt runs the kernel and reference suites once per build), or
// skips (exit status 77, CTest's SKIP_RETURN_CODE) where this CPU cannot run that build.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "selfextend/engine.h"

int main(int argc, char** argv) {
    const char* wanted = std::getenv("SE_CPU_KERNELS");
    if (argc < 2 || !wanted) {
        std::fprintf(stderr, "usage: SE_CPU_KERNELS=NAME run_if_kernels_run TEST [ARGS…]\n");
        return 2;
    }
    for (const selfextend::CpuKernelBuild& build : selfextend::cpu_kernel_builds()) {
        if (build.name != wanted) continue;
        if (!build.runs_here) {
            std::printf("SKIP: this CPU cannot run the %s kernels (%s)\n", wanted,
                        build.instructions.c_str());
            return 77;
        }
        execv(argv[1], argv + 1);
        std::perror(argv[1]);
        return 1;
    }
    std::fprintf(stderr, "this build holds no CPU kernels named %s\n", wanted);
    return 1;
}
