// What a compute backend (CPU, CUDA) provides to the engine: a forward pass over a chunk of
// tokens that appends to the session's KV cache and writes logits. Chunking, progress,
// cancellation, sampling and tokenization are done once, above this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "selfextend/attention_mode.h"
#include "selfextend/engine.h"

namespace selfextend::detail {

class BackendSession {
  public:
    virtual ~BackendSession() = default;

    // Runs tokens at positions [length(), length() + n) and appends them to the cache. Writes the
    // logits of the last `logit_rows` tokens of the chunk, row-major, to `logits`.
    virtual void forward(std::span<const int32_t> tokens, int64_t logit_rows, float* logits) = 0;

    virtual int64_t length() const = 0;
    virtual int64_t capacity() const = 0;
    // Forgets every token from position n on (n <= length()).
    virtual void truncate(int64_t n) = 0;
    virtual uint64_t kv_cache_bytes() const = 0;
    // Largest chunk forward() accepts at once.
    virtual int64_t max_chunk() const = 0;
    // The type the cache is stored in (may differ from the one asked for: CUDA keeps F16).
    virtual KvType kv_type() const = 0;

    // Grows the cache to hold `capacity` tokens, keeping what it holds. False when this backend
    // cannot (the caller then makes a new session and prefills again).
    virtual bool reserve(int64_t /*capacity*/) { return false; }

    // The cached K and V for the disk cache, in a layout every backend shares: for each layer,
    // for K, V, then (in a layer where Self-Extend applies) K at its grouped position, for each
    // KV head, one block of length() rows of head_dim values stored as kv_type() (K rotated at
    // its own position, or at j / G). export_kv hands each of the kv_blocks() blocks to `sink`
    // in that order; import_kv sets the length to `length` (<= capacity) and lets `source` fill
    // each block in the same order. False when this backend cannot transfer its cache.
    virtual bool can_transfer_kv() const { return false; }
    virtual int64_t kv_blocks() const { return 0; }
    virtual void export_kv(
        const std::function<void(const void* block, size_t bytes)>& /*sink*/) const {}
    virtual void import_kv(int64_t /*length*/,
                           const std::function<void(void* block, size_t bytes)>& /*source*/) {}

    // Attention mass (Session::collect_attention_mass): while `mass` is set, each decode step adds
    // to (*mass)[j] the probability it gave key j, averaged over the heads and the layers that
    // see every key (the vector grows to the cache's length). Null stops it. False when this
    // backend cannot collect it (nothing is added then).
    virtual bool collect_attention_mass(std::vector<float>* /*mass*/) { return false; }

    // Layer-by-layer tests: after each layer of a forward pass the observer receives the layer,
    // the position of the chunk's first token, the chunk's n tokens and the residual stream,
    // row-major n x embedding_length. An empty observer stops the calls. False when this backend
    // cannot observe its layers.
    using LayerObserver =
        std::function<void(int layer, int64_t first_position, int64_t n, const float* residual)>;
    virtual bool observe_layers(LayerObserver observer) {
        (void)observer;
        return false;
    }
};

class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::string device_name() const = 0;
    virtual std::unique_ptr<BackendSession> new_session(int64_t context_length,
                                                        const AttentionMode& mode,
                                                        KvType kv_type) = 0;
    // What one token costs in a session's cache with this type and mode on this backend.
    virtual uint64_t kv_bytes_per_token(KvType kv_type, const AttentionMode& mode) const = 0;
};

}  // namespace selfextend::detail
