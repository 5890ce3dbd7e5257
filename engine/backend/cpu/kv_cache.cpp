#include "backend/cpu/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "backend/cpu/kernels.h"
#include "backend/cpu/kv_row.h"
#include "backend/host_memory.h"
#include "selfextend/error.h"

namespace selfextend::cpu {

KvCache::KvCache(int layers, int kv_heads, int head_dim, int64_t capacity, KvType type,
                 std::vector<bool> grouped_layers)
    : layers_(layers),
      kv_heads_(kv_heads),
      head_dim_(head_dim),
      type_(type),
      row_bytes_(kv_row_bytes(type, head_dim)),
      capacity_(capacity),
      grouped_slot_(size_t(layers), -1) {
    if (!kv_type_fits(type, head_dim))
        throw Error("a KV cache of type " + std::string(kv_type_name(type)) +
                    " cannot hold rows of " + std::to_string(head_dim) + " values");
    for (size_t layer = 0; layer < grouped_layers.size() && layer < grouped_slot_.size(); ++layer)
        if (grouped_layers[layer]) grouped_slot_[layer] = grouped_count_++;
    data_ = allocate(bytes(), capacity);
}

std::unique_ptr<std::byte[]> KvCache::allocate(uint64_t bytes, int64_t capacity) {
    require_host_memory(bytes, "the KV cache of " + std::to_string(capacity) + " tokens");
    // Left uninitialised: only rows below the session's length are ever read, and untouched
    // pages of a large cache cost no memory until the document reaches them.
    std::byte* data = new (std::nothrow) std::byte[std::max<uint64_t>(bytes, 1)];
    if (!data)
        throw OutOfMemory("out of host memory for a KV cache of " + std::to_string(capacity) +
                          " tokens (" + format_bytes(bytes) + ")");
    return std::unique_ptr<std::byte[]>(data);
}

std::byte* KvCache::block(int layer, Part part, int kv_head) {
    if (part == kGroupedKeys && !groups(layer))
        throw Error("KvCache: layer " + std::to_string(layer) + " keeps no grouped keys");
    const int64_t index =
        part == kGroupedKeys
            ? (int64_t(layers_) * 2 + grouped_slot_[size_t(layer)]) * kv_heads_ + kv_head
            : (int64_t(layer) * 2 + part) * kv_heads_ + kv_head;
    return data_.get() + index * block_bytes(capacity_);
}

const std::byte* KvCache::block(int layer, Part part, int kv_head) const {
    return const_cast<KvCache*>(this)->block(layer, part, kv_head);
}

void KvCache::store(int layer, Part part, int kv_head, int64_t position, const float* row) {
    kernels().store_kv_row(type_, row, block(layer, part, kv_head) + size_t(position) * row_bytes_,
                           head_dim_);
}

KvLayerView KvCache::layer(int layer) const {
    return KvLayerView{block(layer, kKeys, 0), block(layer, kValues, 0),
                       groups(layer) ? block(layer, kGroupedKeys, 0) : nullptr, capacity_, type_};
}

void KvCache::grow(int64_t capacity, int64_t rows_in_use) {
    if (capacity <= capacity_) return;
    std::unique_ptr<std::byte[]> grown =
        allocate(uint64_t(block_count()) * block_bytes(capacity), capacity);
    for (int64_t b = 0; b < block_count(); ++b)
        std::memcpy(grown.get() + b * block_bytes(capacity),
                    data_.get() + b * block_bytes(capacity_), block_bytes(rows_in_use));
    data_ = std::move(grown);
    capacity_ = capacity;
}

}  // namespace selfextend::cpu
