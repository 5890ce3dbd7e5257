// Host memory checks made before large allocations, so that a request the machine cannot hold
// ends in OutOfMemory instead of the kernel's OOM killer.
#pragma once

#include <cstdint>
#include <string>

namespace selfextend {

// Bytes the kernel reports as available (MemAvailable), or 0 when unknown.
uint64_t available_host_memory();

// Throws OutOfMemory naming `what` when bytes exceed the available memory.
void require_host_memory(uint64_t bytes, const std::string& what);

std::string format_bytes(uint64_t bytes);  // "1.5 GiB"

}  // namespace selfextend
