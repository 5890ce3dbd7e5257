# cmake -DNM=… -DREADELF=… -DOBJECTS="a.o;b.o" -P check_kernel_objects.cmake
# Each x86-64 level's kernel object (engine/CMakeLists.txt) must define exactly one global symbol,
# its table, and hold no COMDAT group: else the final link could make one level call a function
# compiled for another, which another CPU cannot run.
foreach(object IN LISTS OBJECTS)
    get_filename_component(name "${object}" NAME_WE)
    string(REPLACE "se_kernels_" "se_cpu_kernels_" table "${name}")
    execute_process(COMMAND ${NM} --defined-only --extern-only --format=posix "${object}"
                    OUTPUT_VARIABLE globals RESULT_VARIABLE nm_failed)
    if(nm_failed)
        message(FATAL_ERROR "nm could not read ${object}")
    endif()
    string(STRIP "${globals}" globals)
    if(NOT globals MATCHES "^${table} T [0-9a-f]+( [0-9a-f]+)?$")
        message(FATAL_ERROR "${object}: global symbols other than ${table}:\n${globals}")
    endif()
    execute_process(COMMAND ${READELF} --section-groups "${object}" OUTPUT_VARIABLE groups)
    if(NOT groups MATCHES "There are no section groups")
        message(FATAL_ERROR "${object} holds COMDAT groups:\n${groups}")
    endif()
    message(STATUS "${name}: only ${table} is global, no COMDAT groups")
endforeach()
