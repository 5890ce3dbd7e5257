// The family entries, one file each (engine/model/family.h says what an entry holds).
#pragma once

#include "model/family.h"

namespace selfextend::families {

extern const Family kLlama;
extern const Family kQwen2;
extern const Family kGemma;
extern const Family kGemma3;
extern const Family kPhi2;
extern const Family kPhi3;

// A window stated in <arch>.attention.sliding_window that the graph does not apply (Mistral,
// Phi-3): 0 when the key is absent.
int stated_window(const GgufFile& gguf, const std::string& prefix);

}  // namespace selfextend::families
