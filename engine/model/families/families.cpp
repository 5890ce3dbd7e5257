// The table of supported families and what is derived from it.
#include <algorithm>
#include <array>

#include "gguf/gguf_file.h"
#include "model/families/families.h"

namespace selfextend {

namespace families {

int stated_window(const GgufFile& gguf, const std::string& prefix) {
    const std::string key = prefix + "attention.sliding_window";
    return gguf.find(key) ? int(std::clamp<int64_t>(gguf.get_int(key), 0, int64_t(1) << 30)) : 0;
}

}  // namespace families

const Family* llama_family() {
    return &families::kLlama;
}

std::span<const Family* const> all_families() {
    static const std::array<const Family*, 6> kTable = {
        &families::kLlama,  &families::kQwen2, &families::kGemma,
        &families::kGemma3, &families::kPhi2,  &families::kPhi3,
    };
    return kTable;
}

const Family* family_of_architecture(std::string_view architecture) {
    for (const Family* family : all_families())
        if (family->architecture == architecture) return family;
    return nullptr;
}

std::string supported_architectures() {
    std::string names;
    for (const Family* family : all_families())
        names.append(names.empty() ? "" : ", ").append(family->architecture);
    return names;
}

}  // namespace selfextend
