// What a front end shows about a loaded model.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "selfextend/attention_mode.h"

namespace selfextend {

struct ModelInfo {
    std::string path;
    // The name shown everywhere (CLI, studio, exports): the file's name without ".gguf", which
    // is what the user chose and sees on disk ("SmolLM2-135M-Instruct.Q4_1"). What the file
    // calls itself (general.name, often a training run's label: "Smollm2 135M 8k Lc100K Mix1
    // Ep2") is stated_name, empty when absent.
    std::string name;
    std::string stated_name;
    std::string architecture;  // general.architecture, e.g. "llama"
    // The family whose graph runs it: "Llama", "Qwen2", "Gemma", "Gemma 3", "Phi-2" or "Phi-3".
    std::string family;
    std::string device;  // "CPU (2 threads)" or the GPU's name
    // Why --device auto runs on the CPU although this build has the CUDA backend (no device, a
    // failed upload or self-test); empty when nothing was given up.
    std::string device_note;
    int64_t parameter_count = 0;
    int64_t training_window = 0;  // L: <arch>.context_length
    // The share of L its family retrieves well from past the window: what Auto keeps the largest
    // grouped position within (AutoProfile, from the family table).
    double trusted_position_share = 1.0;
    int auto_window_divisor = 8;  // Auto's W = L / auto_window_divisor
    int embedding_length = 0;
    int layer_count = 0;
    int head_count = 0;
    int head_count_kv = 0;
    int head_dim = 0;
    int feed_forward_length = 0;
    int vocab_size = 0;
    float rope_freq_base = 10000.0f;
    float rope_scale = 1.0f;  // linear RoPE scaling factor (positions are divided by it)
    float norm_eps = 1e-5f;
    // Sliding-window (local) layers, Gemma 3: each sees the last sliding_window keys, rotates with
    // rope_freq_base_local and keeps its trained attention under Self-Extend (which applies to
    // the other, global layers only). sliding_window = 0: every layer is global.
    int sliding_window = 0;
    float rope_freq_base_local = 0.0f;
    std::vector<int> self_extend_layers;  // the global layers, where Self-Extend regroups
    // A sliding window the file states (Mistral, Phi-3) but the engine does not apply: every
    // layer attends to all keys. 0 when none; attention_note then says so in plain words.
    int ignored_sliding_window = 0;
    std::string attention_note;
    uint64_t file_bytes = 0;
    uint64_t weight_bytes = 0;
    std::map<std::string, int64_t> dtype_parameters;  // dtype name -> parameters stored in it
    std::string chat_format;  // the prompt format recognised from the template, e.g. "ChatML"
    std::string chat_note;    // why the file's template could not be used, when it could not

    // "F16 97%, F32 3%"
    std::string dtype_mix() const;
    // What Auto (choose_attention) chooses from.
    AutoProfile auto_profile() const {
        return {training_window, trusted_position_share, auto_window_divisor};
    }
};

}  // namespace selfextend
