#include "backend/host_memory.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "selfextend/error.h"

namespace selfextend {

uint64_t available_host_memory() {
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    uint64_t kib = 0;
    std::string unit;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024;
    return 0;
}

void require_host_memory(uint64_t bytes, const std::string& what) {
    const uint64_t available = available_host_memory();
    if (available != 0 && bytes > available)
        throw OutOfMemory("out of host memory: " + what + " needs " + format_bytes(bytes) + ", " +
                          format_bytes(available) + " is available");
}

std::string format_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = double(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return text;
}

}  // namespace selfextend
