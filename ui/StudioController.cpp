#include "StudioController.h"

#include <QFile>
#include <QFileInfo>
#include <QSettings>

#include "DeviceChoice.h"
#include "EngineWorker.h"
#include "selfextend/evaluation.h"

namespace studio {

StudioController::StudioController(QObject* parent) : QObject(parent), worker_(new EngineWorker) {
    registerEngineTypes();
    connectWorker();
    worker_->moveToThread(&workerThread_);
    connect(&workerThread_, &QThread::finished, worker_, &QObject::deleteLater);
    workerThread_.start();
}

StudioController::~StudioController() {
    // Stop whatever runs so the thread can finish promptly, then wait for it: the worker (and
    // with it the model and any session) is destroyed on its own thread.
    stopAll();
    workerThread_.quit();
    workerThread_.wait();
}

void StudioController::connectWorker() {
    // Requests, queued to the worker's thread.
    connect(this, &StudioController::modelRequested, worker_, &EngineWorker::loadModel);
    connect(this, &StudioController::documentRequested, worker_, &EngineWorker::loadDocument);
    connect(this, &StudioController::askRequested, worker_, &EngineWorker::ask);
    connect(this, &StudioController::continueRequested, worker_, &EngineWorker::continueAnswer);
    connect(this, &StudioController::passkeyRequested, worker_, &EngineWorker::runPasskey);
    connect(this, &StudioController::perplexityRequested, worker_, &EngineWorker::runPerplexity);
    connect(this, &StudioController::probeRequested, worker_, &EngineWorker::runProbe);
    connect(this, &StudioController::promptFormatRequested, worker_,
            &EngineWorker::setPromptFormat);
    connect(this, &StudioController::newConversationRequested, worker_,
            &EngineWorker::newConversation);
    connect(this, &StudioController::conversationRestoreRequested, worker_,
            &EngineWorker::restoreConversation);

    // Reports that change no state here pass straight through.
    connect(worker_, &EngineWorker::modelLoadStarted, this, &StudioController::modelLoadStarted);
    connect(worker_, &EngineWorker::modelLoadProgress, this, &StudioController::modelLoadProgress);
    connect(worker_, &EngineWorker::promptFormatChanged, this,
            &StudioController::promptFormatChanged);
    connect(worker_, &EngineWorker::continueStarted, this, &StudioController::continueStarted);
    connect(worker_, &EngineWorker::prefillProgress, this, &StudioController::prefillProgress);
    connect(worker_, &EngineWorker::tokenGenerated, this, &StudioController::tokenGenerated);
    connect(worker_, &EngineWorker::runFinished, this,
            [this](AnswerSide side, const RunStats& stats) {
                // A reading of the whole document from nothing: what a probe's reading costs.
                if (!stats.cancelled && stats.error.isEmpty() && stats.reusedTokens == 0 &&
                    !stats.fromDiskCache && stats.prefilledTokens == stats.promptTokens &&
                    documentTokens_ > 0 && stats.promptTokens >= documentTokens_) {
                    readingTokens_ = stats.promptTokens;
                    readingSeconds_ = stats.prefillSeconds;
                }
                emit runFinished(side, stats);
            });
    connect(worker_, &EngineWorker::sourcesFound, this, &StudioController::sourcesFound);
    connect(worker_, &EngineWorker::evaluationProgress, this,
            &StudioController::evaluationProgress);
    connect(worker_, &EngineWorker::passkeyFinished, this, &StudioController::passkeyFinished);
    connect(worker_, &EngineWorker::perplexityPoint, this, &StudioController::perplexityPoint);
    connect(worker_, &EngineWorker::probeProgress, this, &StudioController::probeProgress);

    connect(worker_, &EngineWorker::modelLoaded, this, [this](const ModelSummary& model) {
        hasModel_ = true;
        modelPath_ = model.path;
        autoProfile_ = model.autoProfile;
        readingSeconds_ = -1;
        // The device it loaded on is the one to start with next time (a device that failed
        // never gets here, so it is never saved).
        QSettings().setValue(QStringLiteral("device"), loadingDevice_);
        emit modelLoaded(model);
        emit busyChanged();
    });
    connect(worker_, &EngineWorker::modelLoadFailed, this,
            [this](const QString& path, const QString& message) {
                // A GPU that fails (no device, out of memory, a graph it cannot run): the same
                // model on the CPU rather than no model at all.
                if (loadingDevice_ == kDeviceGpu && path == loadingModel_) {
                    emit gpuFailed(path, message);
                    openModel(path, kDeviceAuto, loadingThreads_);
                    return;
                }
                hasModel_ = !modelPath_.isEmpty();  // the previous model, when there was one
                emit modelLoadFailed(path, message);
                emit busyChanged();
            });
    connect(worker_, &EngineWorker::documentLoaded, this, [this](const DocumentInfo& document) {
        --pendingDocumentLoads_;
        hasDocument_ = true;
        documentPath_ = document.path;
        documentTokens_ = -1;
        readingSeconds_ = -1;
        QFile bytes(document.path);
        documentDigest_ = bytes.open(QIODevice::ReadOnly)
                              ? ConversationStore::digest(bytes.readAll())
                              : ConversationStore::digest(document.text.toUtf8());
        emit documentLoaded(document);
        emit busyChanged();
    });
    connect(worker_, &EngineWorker::documentTokensCounted, this, [this](qint64 tokens) {
        documentTokens_ = tokens;
        emit documentTokensCounted(tokens);
        emit busyChanged();
    });
    connect(worker_, &EngineWorker::documentLoadFailed, this,
            [this](const QString& path, const QString& message) {
                --pendingDocumentLoads_;
                emit documentLoadFailed(path, message);
                emit busyChanged();
            });
    connect(worker_, &EngineWorker::runStarted, this,
            [this](AnswerSide side, const QString& settings, qint64 tokens, bool followUp) {
                answered_[size_t(side)] = asked_;
                emit runStarted(side, settings, tokens, followUp);
            });
    connect(worker_, &EngineWorker::askFinished, this, [this] {
        asking_ = false;
        emit askFinished();
        emit busyChanged();
    });
    connect(worker_, &EngineWorker::evaluationFinished, this, [this](bool cancelled) {
        evaluating_ = false;
        emit evaluationFinished(cancelled, !cancelled && !evaluationFailed_);
        emit busyChanged();
    });
    connect(worker_, &EngineWorker::probeFinished, this,
            [this](const ProbeResults& results, bool cancelled) {
                probing_ = false;
                emit probeFinished(results, cancelled);
                emit busyChanged();
            });
    connect(worker_, &EngineWorker::failed, this,
            [this](const QString& context, const QString& message) {
                if (evaluating_) evaluationFailed_ = true;
                emit failed(context, message);
            });
}

QString StudioController::askBlockedReason() const {
    if (!hasModel_) return tr("Load a model first (File ▸ Open Model).");
    if (!hasDocument_)
        return tr(
            "Open a document first: the answers are about a document (File ▸ Open "
            "Document, Ctrl+O).");
    if (documentTokens_ < 0) return tr("Counting the document's tokens…");
    return {};
}

bool StudioController::readyToAsk() const {
    if (!hasModel_ || pendingDocumentLoads_ > 0) return false;
    return !hasDocument_ || documentTokens_ >= 0;
}

QString StudioController::staleness(AnswerSide side, const selfextend::AttentionMode& now) const {
    const std::optional<AnswerContext>& asked = answered_[size_t(side)];
    if (!asked) return {};
    // Vanilla ignores G and W: only the document and the model make its answer stale.
    const bool selfExtend = side == AnswerSide::SelfExtend;
    QStringList changed;
    if (asked->document != documentPath_) changed << tr("document");
    if (asked->model != (hasModel_ ? modelPath_ : QString())) changed << tr("model");
    if (selfExtend && asked->attention != now) changed << tr("G and W");
    if (changed.isEmpty()) return {};
    return tr("Stale: answered for %1 with %2%3; the %4 changed since. Ask again.")
        .arg(QFileInfo(asked->document).fileName(), QFileInfo(asked->model).completeBaseName(),
             selfExtend ? tr(", G=%1 W=%2").arg(asked->attention.group).arg(asked->attention.window)
                        : QString(),
             changed.join(tr(" and ")));
}

StudioController::ProbePlan StudioController::probePlan(qint64 askTokens, int depths) const {
    const qint64 needed = std::max<qint64>(askTokens, 1) + depths * selfextend::kProbeFactTokens;
    const selfextend::AutoChoice automatic = selfextend::choose_attention(autoProfile(), needed);
    ProbePlan plan{selfextend::probe_candidates(autoProfile(), needed),
                   automatic.group > 1
                       ? selfextend::AttentionMode::self_extend(automatic.group, automatic.window)
                       : selfextend::AttentionMode::vanilla(),
                   askTokens < 0 || documentTokens_ < 0 ? 0 : needed};
    if (readingSeconds_ >= 0 && readingTokens_ > 0 && plan.tokensPerReading > 0)
        plan.estimatedSeconds = double(plan.candidates.size()) * readingSeconds_ *
                                double(plan.tokensPerReading) / double(readingTokens_);
    return plan;
}

void StudioController::openModel(const QString& path, int device, int threads) {
    hasModel_ = false;
    loadingModel_ = path;
    loadingDevice_ = device;
    loadingThreads_ = threads;
    emit busyChanged();
    emit modelRequested(path, device, threads);
}

void StudioController::openDocument(const QString& path) {
    ++pendingDocumentLoads_;
    emit documentRequested(path);
}

bool StudioController::ask(const AskRequest& request) {
    if (asking_) return false;
    asked_ = {documentPath_, modelPath_, request.selfExtend};
    vanillaCancel_ = request.vanillaCancel;
    selfExtendCancel_ = request.selfExtendCancel;
    // Asked without continuing the last session's conversation: a new one starts.
    restoredTurns_ = {};
    asking_ = true;
    askStopped_ = false;
    emit busyChanged();
    emit askRequested(request);
    return true;
}

bool StudioController::continueAnswer(const ContinueRequest& request) {
    if (isBusy()) return false;
    (request.side == AnswerSide::Vanilla ? vanillaCancel_ : selfExtendCancel_) = request.cancel;
    asking_ = true;
    askStopped_ = false;
    emit busyChanged();
    emit continueRequested(request);
    return true;
}

bool StudioController::beginEvaluation(const selfextend::CancelToken& cancel) {
    if (evaluating_) return false;
    evaluationCancel_ = cancel;
    evaluating_ = true;
    evaluationFailed_ = false;
    emit busyChanged();
    return true;
}

bool StudioController::runPasskey(const PasskeyRequest& request) {
    if (!beginEvaluation(request.cancel)) return false;
    emit passkeyRequested(request);
    return true;
}

bool StudioController::runPerplexity(const PerplexityRequest& request) {
    if (!beginEvaluation(request.cancel)) return false;
    emit perplexityRequested(request);
    return true;
}

bool StudioController::runProbe(const ProbeRequest& request) {
    if (probing_ || !askBlockedReason().isEmpty()) return false;
    probeCancel_ = request.cancel;
    probing_ = true;
    emit busyChanged();
    emit probeRequested(request);
    return true;
}

void StudioController::setPromptFormat(const QString& name) {
    emit promptFormatRequested(name);
}

void StudioController::newConversation() {
    emit newConversationRequested();
    if (const QString key = conversationKey(); !key.isEmpty()) conversationStore_.remove(key);
}

void StudioController::stopAll() {
    // Direct calls, not queued: the worker is busy inside the very loop that must see them.
    askStopped_ = asking_;
    vanillaCancel_.cancel();
    selfExtendCancel_.cancel();
    evaluationCancel_.cancel();
    probeCancel_.cancel();
}

void StudioController::stopAnswer(AnswerSide side) {
    (side == AnswerSide::Vanilla ? vanillaCancel_ : selfExtendCancel_).cancel();
}

QString StudioController::conversationKey() const {
    if (documentDigest_.isEmpty() || !hasModel_) return {};
    return ConversationStore::key(documentDigest_, modelPath_);
}

QString StudioController::savedConversationPath() const {
    const QString key = conversationKey();
    return key.isEmpty() ? QString() : conversationStore_.pathFor(key);
}

bool StudioController::saveConversation(const SavedConversation& conversation,
                                        QString* error) const {
    const QString key = conversationKey();
    return key.isEmpty() || conversationStore_.save(key, conversation, error);
}

std::optional<SavedConversation> StudioController::loadConversation(QString* error) const {
    const QString key = conversationKey();
    if (key.isEmpty()) return std::nullopt;
    return conversationStore_.load(key, error);
}

void StudioController::offerRestoredTurns(AnswerSide side, const QList<SavedTurn>& turns) {
    restoredTurns_[size_t(side)] = turns;
}

void StudioController::continueRestoredTurns() {
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        const QList<SavedTurn>& turns = restoredTurns_[size_t(side)];
        if (turns.isEmpty()) continue;
        QStringList questions, answers;
        for (const SavedTurn& turn : turns) {
            questions << turn.question;
            answers << turn.answer;
        }
        emit conversationRestoreRequested(side, questions, answers);
    }
    restoredTurns_ = {};
}

}  // namespace studio
