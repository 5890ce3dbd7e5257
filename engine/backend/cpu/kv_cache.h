// A CPU session's keys and values, every layer in one allocation, rows stored as F32, F16 or
// Q8_0 (kv_row.h). Layout: [layer][keys | values][kv head][position][row], then, for each layer
// that groups (Self-Extend), [grouped keys][kv head][position][row]. One layer's keys of one
// head are a contiguous block of `capacity` rows: the attention kernel streams them, and the
// disk cache's export format (backend.h) is a prefix of each block.
//
// Grouped keys: Self-Extend scores a key j that is W or more behind the query at its grouped
// position j / G. Turning the cached key (rotated at j) back on every decode step cost as much
// as the rest of the attention; each key is rotated to j / G once instead, when it is stored,
// and kept beside the other (K memory x 2 for those layers, counted in bytes()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/cpu/attention.h"
#include "selfextend/engine.h"

namespace selfextend::cpu {

class KvCache {
  public:
    enum Part { kKeys = 0, kValues = 1, kGroupedKeys = 2 };

    // Throws OutOfMemory when the host cannot hold it. `type` must fit head_dim (kv_type_fits).
    // grouped_layers[l]: layer l also keeps grouped keys (empty: no layer does).
    KvCache(int layers, int kv_heads, int head_dim, int64_t capacity, KvType type,
            std::vector<bool> grouped_layers = {});

    KvType type() const { return type_; }
    int64_t capacity() const { return capacity_; }
    size_t row_bytes() const { return row_bytes_; }
    uint64_t bytes() const { return uint64_t(block_count()) * block_bytes(capacity_); }
    // Whether a layer keeps grouped keys (the third part).
    bool groups(int layer) const { return grouped_slot_[size_t(layer)] >= 0; }

    // Rounds the head_dim floats at `row` into the cache at (layer, part, kv head, position).
    void store(int layer, Part part, int kv_head, int64_t position, const float* row);

    // The first rows of one (layer, part, kv head) block, for export and import. kGroupedKeys
    // only for a layer that groups.
    std::byte* block(int layer, Part part, int kv_head);
    const std::byte* block(int layer, Part part, int kv_head) const;

    KvLayerView layer(int layer) const;

    // Grows to `capacity` rows per block, keeping the first `rows_in_use` rows of each.
    void grow(int64_t capacity, int64_t rows_in_use);

  private:
    int64_t block_count() const { return (int64_t(layers_) * 2 + grouped_count_) * kv_heads_; }
    uint64_t block_bytes(int64_t rows) const { return uint64_t(rows) * row_bytes_; }
    static std::unique_ptr<std::byte[]> allocate(uint64_t bytes, int64_t capacity);

    int layers_;
    int kv_heads_;
    int head_dim_;
    KvType type_;
    size_t row_bytes_;
    int64_t capacity_;
    std::vector<int> grouped_slot_;  // per layer: its index among the grouping layers, or -1
    int grouped_count_ = 0;
    std::unique_ptr<std::byte[]> data_;
};

}  // namespace selfextend::cpu
