// What a compute backend (CPU, CUDA) provides to the engine: a forward pass over a chunk of
// tokens that appends to the session's KV cache and writes logits. Chunking, progress,
// cancellation, sampling and tokenization are done once, above this interface.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "selfextend/attention_mode.h"

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
};

class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::string device_name() const = 0;
    virtual std::unique_ptr<BackendSession> new_session(int64_t context_length,
                                                        const AttentionMode& mode) = 0;
};

}  // namespace selfextend::detail
