# Read by cpack before it packages (CPACK_PROJECT_CONFIG_FILE): refuse a .deb that a fresh
# Debian machine could not install or run. tools/package.sh configures a tree that passes.
if(CPACK_GENERATOR STREQUAL "DEB")
    if(CPACK_SE_CUDA)
        message(FATAL_ERROR
            "this build links the CUDA runtime (cuBLAS from /usr/local/cuda), which no Debian "
            "package provides, so apt could not install the .deb: configure with -DSE_CUDA=OFF "
            "(tools/package.sh does)")
    endif()
    if(CPACK_SE_NATIVE)
        message(FATAL_ERROR
            "this build tunes the CPU kernels for this machine (-march=native) and may crash on "
            "another CPU: configure with -DSE_NATIVE=OFF (tools/package.sh does)")
    endif()
endif()
