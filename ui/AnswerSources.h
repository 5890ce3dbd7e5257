// Where an answer came from, for the studio: the engine's ranked passages
// (selfextend/answer_sources.h) as offsets in the document's QString.
#pragma once

#include <span>
#include <string_view>

#include "EngineTypes.h"
#include "selfextend/answer_sources.h"

namespace studio {

// The engine's ranked passages (DocumentConversation::sources) as offsets in the document's
// QString, in the same order.
AnswerSources studioSources(std::string_view document,
                            std::span<const selfextend::RankedPassage> ranked);

}  // namespace studio
