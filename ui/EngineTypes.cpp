#include "EngineTypes.h"

namespace studio {

void registerEngineTypes() {
    qRegisterMetaType<studio::AnswerSide>();
    qRegisterMetaType<studio::ModelSummary>();
    qRegisterMetaType<studio::DocumentInfo>();
    qRegisterMetaType<studio::AskRequest>();
    qRegisterMetaType<studio::RunStats>();
    qRegisterMetaType<studio::PasskeyRequest>();
    qRegisterMetaType<studio::PerplexityRequest>();
    qRegisterMetaType<studio::PasskeyResults>();
}

}  // namespace studio
