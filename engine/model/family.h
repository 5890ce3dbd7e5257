// A model family: what makes a GGUF architecture's forward pass its own, in one entry of one
// table (engine/model/families/). The hyper-parameter reader sets its switches, the weights bind
// its fused tensors, the CPU backend runs its layer graph, the CUDA backend says whether it runs
// it, and the supported list and `info` name it, all from the entry. Adding a family is a file in
// families/ and a line in families.cpp (and a graph in backend/cpu/ when no existing one fits).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace selfextend {

class GgufFile;
struct HyperParams;

// The CPU layer functions (backend/cpu/*_graph.cpp): Llama's serves every family whose
// differences are switches of HyperParams.
enum class LayerGraph { Llama, Gemma3, Phi2 };

struct Family {
    std::string_view architecture;  // general.architecture: "llama", "gemma3", …
    std::string_view name;          // for people: "Llama", "Gemma 3", …
    LayerGraph graph = LayerGraph::Llama;
    bool may_fuse_qkv = false;      // q, k and v may come as one attn_qkv tensor (Phi)
    bool may_fuse_gate_up = false;  // ffn_up may hold the gate's rows and the up's (Phi-3)
    bool runs_on_cuda = false;      // the CUDA backend runs its graph (the plain Llama layer)
    // The share of L whose positions the family retrieves well from once Self-Extend groups them
    // (selfextend::AutoProfile): 1 unless the map measured less (docs/long-context.md).
    double trusted_position_share = 1.0;
    // Auto's neighbour window W = L / auto_window_divisor (selfextend::AutoProfile).
    int auto_window_divisor = 8;
    // Sets what differs from the Llama defaults (HyperParams' switches); `prefix` is
    // "<architecture>." for its keys.
    void (*configure)(HyperParams& hp, const GgufFile& gguf, const std::string& prefix) = nullptr;
};

// Llama's entry: the family whose graph has every switch at its default.
const Family* llama_family();
// Every supported family, in the order messages list them.
std::span<const Family* const> all_families();
// The family of a general.architecture, or null.
const Family* family_of_architecture(std::string_view architecture);
// "llama, qwen2, gemma, gemma3, phi2, phi3": for messages.
std::string supported_architectures();

}  // namespace selfextend
