// The studio without its widgets: what is loaded, what runs, and what each shown answer was asked
// with. It owns the worker thread and the one EngineWorker on it; every request goes there
// through queued signals, and every report comes back through this object's signals, after the
// state here has followed it. MainWindow builds requests from its widgets and shows what this
// object says; tests drive it without a window.
//
// Stop never waits in the worker's queue: the running requests' cancel tokens are kept here and
// cancelled directly (CancelToken::cancel is thread-safe).
#pragma once

#include <QByteArray>
#include <QObject>
#include <QThread>
#include <array>
#include <optional>

#include "ConversationStore.h"
#include "EngineTypes.h"
#include "selfextend/attention_mode.h"

namespace studio {

class EngineWorker;

class StudioController : public QObject {
    Q_OBJECT

  public:
    explicit StudioController(QObject* parent = nullptr);
    ~StudioController() override;

    // The model: loaded (the last one that loaded, kept when another fails), or loading.
    bool hasModel() const { return hasModel_; }
    QString modelPath() const { return modelPath_; }
    qint64 trainingWindow() const { return autoProfile_.training_window; }
    // What Auto chooses from: L, the share of it and the W of the loaded model's family.
    selfextend::AutoProfile autoProfile() const { return autoProfile_; }
    QString loadingModel() const { return loadingModel_; }
    int loadingDevice() const { return loadingDevice_; }

    // The document: open, its bytes' digest, its tokens (-1 until a model has counted them).
    bool hasDocument() const { return hasDocument_; }
    QString documentPath() const { return documentPath_; }
    QByteArray documentDigest() const { return documentDigest_; }
    qint64 documentTokens() const { return hasDocument_ ? documentTokens_ : -1; }
    bool isOpeningDocument() const { return pendingDocumentLoads_ > 0; }

    bool isAsking() const { return asking_; }
    bool askStopped() const { return askStopped_; }  // the user stopped the current (or last) Ask
    bool isEvaluating() const { return evaluating_; }
    bool isProbing() const { return probing_; }
    bool isBusy() const { return asking_ || evaluating_ || probing_; }
    // Why a question cannot be asked now, in words for the user; empty when it can.
    QString askBlockedReason() const;
    // A model, and the open document's tokens counted (or no document being opened): an Ask
    // queued at start can go.
    bool readyToAsk() const;

    // Why the side's shown answer no longer matches what a question would be asked with now
    // (the document, the model, or, for Self-Extend, G and W); empty when it still does.
    QString staleness(AnswerSide side, const selfextend::AttentionMode& now) const;
    // The side's answer was not asked here (restored from another session): never stale.
    void forgetAnswerContext(AnswerSide side) { answered_[size_t(side)].reset(); }

    // What a probe of the open document tries, Auto's choice among them, and what it costs: one
    // reading of the document per candidate, about as long as the last time an Ask read this
    // document whole with this model (estimatedSeconds < 0: no such Ask yet). askTokens: what an
    // Ask on the document needs (the Self-Extend panel's count: document, framing, question,
    // answer), so that the probe's Auto is the panel's; its facts are added to it.
    struct ProbePlan {
        std::vector<selfextend::AttentionMode> candidates;
        selfextend::AttentionMode automatic;
        qint64 tokensPerReading = 0;
        double estimatedSeconds = -1;
    };
    ProbePlan probePlan(qint64 askTokens, int depths) const;

    // The open document's conversation with this model, kept between sessions (ConversationStore):
    // its key (empty without both), where it is saved, and saving, loading, forgetting it.
    QString conversationKey() const;
    QString savedConversationPath() const;
    bool saveConversation(const SavedConversation& conversation, QString* error) const;
    std::optional<SavedConversation> loadConversation(QString* error) const;
    // The last session's turns while they are offered to be continued (per AnswerSide).
    void offerRestoredTurns(AnswerSide side, const QList<SavedTurn>& turns);
    const QList<SavedTurn>& restoredTurns(AnswerSide side) const {
        return restoredTurns_[size_t(side)];
    }
    // The offered turns go to the worker: each side's next question follows up on them.
    void continueRestoredTurns();
    void withdrawRestoredTurns() { restoredTurns_ = {}; }

  public slots:
    // device: DeviceIndex; threads: 0 for one per core. A GPU that fails loads the same model on
    // the CPU (gpuFailed says why).
    void openModel(const QString& path, int device, int threads);
    void openDocument(const QString& path);
    // False when something runs already. The request's tokens become the ones Stop cancels.
    bool ask(const studio::AskRequest& request);
    bool continueAnswer(const studio::ContinueRequest& request);
    bool runPasskey(const studio::PasskeyRequest& request);
    bool runPerplexity(const studio::PerplexityRequest& request);
    bool runProbe(const studio::ProbeRequest& request);
    void setPromptFormat(const QString& name);
    // The next question starts a new conversation; the saved one is forgotten.
    void newConversation();
    void stopAll();
    void stopAnswer(AnswerSide side);
    void stopEvaluation() { evaluationCancel_.cancel(); }
    void stopProbe() { probeCancel_.cancel(); }

  signals:
    // To the worker (queued).
    void modelRequested(const QString& path, int device, int threads);
    void documentRequested(const QString& path);
    void askRequested(const studio::AskRequest& request);
    void continueRequested(const studio::ContinueRequest& request);
    void passkeyRequested(const studio::PasskeyRequest& request);
    void perplexityRequested(const studio::PerplexityRequest& request);
    void probeRequested(const studio::ProbeRequest& request);
    void promptFormatRequested(const QString& name);
    void newConversationRequested();
    void conversationRestoreRequested(studio::AnswerSide side, const QStringList& questions,
                                      const QStringList& answers);

    // From the worker, once the state above follows them (EngineWorker says what each means).
    void modelLoadStarted(const QString& path);
    void modelLoadProgress(double fraction);
    void modelLoaded(const studio::ModelSummary& summary);
    void modelLoadFailed(const QString& path, const QString& message);
    // The GPU could not load the model: it loads on the CPU now (modelLoaded or modelLoadFailed
    // follow).
    void gpuFailed(const QString& path, const QString& message);
    void promptFormatChanged(const QString& name, int framingTokens);
    void documentLoaded(const studio::DocumentInfo& document);
    void documentTokensCounted(qint64 tokens);
    void documentLoadFailed(const QString& path, const QString& message);
    void runStarted(studio::AnswerSide side, const QString& settings, qint64 promptTokens,
                    bool followUp);
    void continueStarted(studio::AnswerSide side, const QString& settings);
    void prefillProgress(studio::AnswerSide side, qint64 done, qint64 total, double tokensPerSecond,
                         double etaSeconds, double etaHighSeconds);
    void tokenGenerated(studio::AnswerSide side, const QString& text, qint64 generated,
                        double tokensPerSecond);
    void runFinished(studio::AnswerSide side, const studio::RunStats& stats);
    void sourcesFound(studio::AnswerSide side, const studio::AnswerSources& sources);
    void askFinished();
    void evaluationProgress(qint64 done, qint64 total);
    void passkeyFinished(const studio::PasskeyResults& results);
    void perplexityPoint(qint64 length, bool selfExtend, double perplexity);
    // ok: it ran to its end without an error.
    void evaluationFinished(bool cancelled, bool ok);
    void probeProgress(qint64 done, qint64 total, double tokensPerSecond, double etaSeconds);
    void probeFinished(const studio::ProbeResults& results, bool cancelled);
    void failed(const QString& context, const QString& message);
    // Asking, evaluating or probing began or ended, or what Ask needs arrived.
    void busyChanged();

  private:
    void connectWorker();
    // An evaluation starts, stopped by `cancel`; false while another runs.
    bool beginEvaluation(const selfextend::CancelToken& cancel);

    QThread workerThread_;
    EngineWorker* worker_;  // lives on workerThread_, deleted when it finishes

    selfextend::CancelToken vanillaCancel_;
    selfextend::CancelToken selfExtendCancel_;
    selfextend::CancelToken evaluationCancel_;
    selfextend::CancelToken probeCancel_;

    // The model load in flight: its path, device and threads. The device is saved as the one
    // to use only once a model has loaded with it.
    QString loadingModel_;
    int loadingDevice_ = 0;
    int loadingThreads_ = 0;
    bool hasModel_ = false;
    QString modelPath_;
    selfextend::AutoProfile autoProfile_{512};

    bool hasDocument_ = false;
    QString documentPath_;
    QByteArray documentDigest_;
    qint64 documentTokens_ = -1;
    int pendingDocumentLoads_ = 0;
    // The last Ask that read the whole open document with this model: its prompt and how long.
    qint64 readingTokens_ = 0;
    double readingSeconds_ = -1;

    bool asking_ = false;
    bool askStopped_ = false;
    bool evaluating_ = false;
    bool evaluationFailed_ = false;
    bool probing_ = false;

    // What each shown answer was asked with, to say when it is stale.
    struct AnswerContext {
        QString document;
        QString model;
        selfextend::AttentionMode attention;
    };
    AnswerContext asked_;                                   // the running (or last) Ask's
    std::array<std::optional<AnswerContext>, 2> answered_;  // per AnswerSide, once its run began

    ConversationStore conversationStore_;
    std::array<QList<SavedTurn>, 2> restoredTurns_;
};

}  // namespace studio
