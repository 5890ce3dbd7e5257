// Plain values the GUI and the EngineWorker pass to each other through queued signals. They copy
// cheaply (QString is implicitly shared) and hold no engine objects, so either thread may keep one.
#pragma once

#include <QList>
#include <QMetaType>
#include <QString>
#include <array>
#include <vector>

#include "selfextend/attention_mode.h"
#include "selfextend/cancel.h"
#include "selfextend/engine.h"
#include "selfextend/evaluation.h"
#include "selfextend/probe.h"
#include "selfextend/sampling.h"

namespace studio {

enum class AnswerSide { Vanilla, SelfExtend };

// What the model panel shows; copied out of selfextend::ModelInfo on the worker thread.
struct ModelSummary {
    QString path;
    QString name;
    QString architecture;
    QString device;
    QString deviceNote;  // why Auto runs on the CPU although the build has CUDA
    QString dtypeMix;
    QString chatFormat;  // "ChatML", "plain", …
    QString chatNote;    // why the file's own template is not used, when it is not
    qint64 parameterCount = 0;
    // What Auto chooses from: L, its family's trusted share and window divisor.
    selfextend::AutoProfile autoProfile;
    qint64 trainingWindow() const { return autoProfile.training_window; }
    quint64 fileBytes = 0;
    quint64 weightBytes = 0;
    // KV-cache bytes per token of a vanilla and of a Self-Extend session, by selfextend::KvType.
    std::array<quint64, 3> kvBytesPerToken{};
    std::array<quint64, 3> kvBytesPerTokenSelfExtend{};
    int promptFramingTokens = 0;  // the chat template's tokens around document and question
    int layers = 0;
    int heads = 0;
    int headsKv = 0;
    int embedding = 0;
    int vocabSize = 0;
};

struct DocumentInfo {
    QString path;
    QString text;
    qint64 tokenCount = -1;  // -1 until a model has tokenized it
    bool hadInvalidUtf8 = false;
    QString encoding;  // not UTF-8: the encoding it was detected in and read as
};

struct AskRequest {
    QString question;
    int maxNewTokens = 64;
    selfextend::SamplingParams sampling;  // greedy by default
    bool stopAtLineBreak = true;
    bool runVanilla = true;
    bool vanillaTruncated = false;  // false: the whole prompt runs past L ("overflowing")
    bool runSelfExtend = true;
    // The user chose to cut a document that does not fit the capacity: Self-Extend runs on the
    // prompt's last (capacity - answer) tokens, question kept, as the truncated vanilla run does.
    bool selfExtendTruncated = false;
    selfextend::AttentionMode selfExtend = selfextend::AttentionMode::self_extend(4, 256);
    // Keep the document's KV on disk and read it back (KvDiskCache): a document read before
    // answers without a prefill.
    bool useDiskCache = true;
    selfextend::KvType kvType = selfextend::KvType::F16;
    QString systemPrompt;  // empty: the chat template's own default
    // Fresh tokens per request: the GUI keeps copies and cancels them directly, so a Stop can
    // never be lost to a reset on the worker side.
    selfextend::CancelToken vanillaCancel;
    selfextend::CancelToken selfExtendCancel;
};

// More of a side's last answer, which the token limit cut (DocumentConversation::continue_answer).
struct ContinueRequest {
    AnswerSide side = AnswerSide::SelfExtend;
    int maxNewTokens = 64;
    selfextend::SamplingParams sampling;
    bool stopAtLineBreak = true;
    selfextend::CancelToken cancel;
};

struct RunStats {
    qint64 promptTokens = 0;
    qint64 reusedTokens = 0;     // held by the session already (document, earlier turns)
    bool fromDiskCache = false;  // the document's KV was read from the disk cache
    qint64 prefilledTokens = 0;  // fewer than promptTokens when stopped during the prefill
    qint64 generatedTokens = 0;
    double prefillSeconds = 0;  // until the prefill ended or was stopped
    double decodeTokensPerSecond = 0;
    bool cancelled = false;
    bool cutByTokenLimit = false;  // the answer reached "Max new tokens" before it ended
    QString error;
};

// Where an answer came from (AnswerSources.h): the document passages its tokens attended to
// most, best first, as offsets in the document's text.
struct SourcePassage {
    qsizetype start = 0;
    qsizetype length = 0;
    double share = 0;  // of the attention the answer gave the document
};
struct AnswerSources {
    bool available = true;  // false: this device does not report attention (the CUDA backend)
    QList<SourcePassage> passages;
};

struct PasskeyRequest {
    QList<qint64> lengths;
    QList<double> depths;
    int trials = 1;
    selfextend::AttentionMode selfExtend = selfextend::AttentionMode::self_extend(4, 256);
    selfextend::CancelToken cancel;
};

struct PerplexityRequest {
    QList<qint64> lengths;
    int maxWindows = 2;
    selfextend::AttentionMode selfExtend = selfextend::AttentionMode::self_extend(4, 256);
    selfextend::CancelToken cancel;
};

using PasskeyResults = std::vector<selfextend::PasskeyResult>;

// Invented facts planted in the open document and asked about (selfextend::run_probe), under
// each candidate.
struct ProbeRequest {
    std::vector<selfextend::AttentionMode> candidates;
    QList<double> depths;
    selfextend::CancelToken cancel;
};
using ProbeResults = std::vector<selfextend::ProbeResult>;

// Queued connections copy arguments through the meta-type system; call once before connecting.
void registerEngineTypes();

}  // namespace studio

Q_DECLARE_METATYPE(studio::AnswerSide)
Q_DECLARE_METATYPE(studio::ModelSummary)
Q_DECLARE_METATYPE(studio::DocumentInfo)
Q_DECLARE_METATYPE(studio::AskRequest)
Q_DECLARE_METATYPE(studio::ContinueRequest)
Q_DECLARE_METATYPE(studio::RunStats)
Q_DECLARE_METATYPE(studio::AnswerSources)
Q_DECLARE_METATYPE(studio::PasskeyRequest)
Q_DECLARE_METATYPE(studio::PerplexityRequest)
Q_DECLARE_METATYPE(studio::PasskeyResults)
Q_DECLARE_METATYPE(studio::ProbeRequest)
Q_DECLARE_METATYPE(studio::ProbeResults)
