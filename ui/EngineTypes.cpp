#include "EngineTypes.h"

namespace studio {

void registerEngineTypes() {
    qRegisterMetaType<studio::AnswerSide>();
    qRegisterMetaType<studio::ModelSummary>();
    qRegisterMetaType<studio::DocumentInfo>();
    qRegisterMetaType<studio::AskRequest>();
    qRegisterMetaType<studio::ContinueRequest>();
    qRegisterMetaType<studio::RunStats>();
    qRegisterMetaType<studio::AnswerSources>();
    qRegisterMetaType<studio::PasskeyRequest>();
    qRegisterMetaType<studio::PerplexityRequest>();
    qRegisterMetaType<studio::PasskeyResults>();
    qRegisterMetaType<studio::ProbeRequest>();
    qRegisterMetaType<studio::ProbeResults>();
}

}  // namespace studio
