// A model's hyper-parameters, read from GGUF metadata once and used by every backend.
#pragma once

#include <cstdint>
#include <string>

namespace selfextend {

class GgufFile;

struct HyperParams {
    std::string architecture;
    int64_t context_length = 0;  // L, the training window
    int embedding_length = 0;
    int layer_count = 0;
    int head_count = 0;
    int head_count_kv = 0;
    int head_dim = 0;
    int rope_dimensions = 0;  // leading dimensions of each head that RoPE rotates
    int feed_forward_length = 0;
    int vocab_size = 0;
    float rope_freq_base = 10000.0f;
    float rope_scale = 1.0f;  // linear scaling: positions are divided by this
    float norm_eps = 1e-5f;

    int q_dim() const { return head_count * head_dim; }
    int kv_dim() const { return head_count_kv * head_dim; }

    // Reads <arch>.* keys; throws Error for unknown architectures and inconsistent values.
    static HyperParams from_gguf(const GgufFile& gguf);
};

}  // namespace selfextend
