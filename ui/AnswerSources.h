// Where an answer came from, for the studio: the engine's ranked passages
// (selfextend/answer_sources.h) as offsets in the document's QString.
#pragma once

#include <span>
#include <string_view>

#include "EngineTypes.h"
#include "selfextend/answer_sources.h"

namespace studio {

// The `count` passages the answer most likely came from, best first (selfextend::rank_passages:
// the answer's words, then attention), as offsets in the document's QString. mass: one value per
// prompt position (more are ignored: the answer's own tokens).
AnswerSources rankSources(std::string_view document,
                          std::span<const selfextend::ByteRange> tokenRanges,
                          std::span<const float> mass, int count, std::string_view answer);

}  // namespace studio
