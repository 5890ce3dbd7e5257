// The CPU backend: the forward pass of each supported family (cpu_session.h) with weights read
// in place from the memory map.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "backend/cpu/thread_pool.h"
#include "model/hyper_params.h"
#include "model/model_weights.h"

namespace selfextend::cpu {

class CpuBackend final : public detail::Backend {
  public:
    CpuBackend(const HyperParams& hp, const ModelWeights& weights, int threads);

    std::string device_name() const override;
    std::unique_ptr<detail::BackendSession> new_session(int64_t context_length,
                                                        const AttentionMode& mode,
                                                        KvType kv_type) override;
    uint64_t kv_bytes_per_token(KvType kv_type, const AttentionMode& mode) const override;

  private:
    KvType stored_type(KvType asked) const;

    const HyperParams& hp_;
    const ModelWeights& weights_;
    ThreadPool pool_;
};

}  // namespace selfextend::cpu
