// The one object that touches the engine. It lives on the worker QThread StudioController owns,
// holds the loaded Model and every Session, and reports to the GUI thread only through queued
// signals, so the GUI thread never computes. Requests arrive as queued slot calls and run in order;
// long ones are stopped through the CancelToken carried in the request, which the GUI thread
// cancels directly (CancelToken::cancel is thread-safe).
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "EngineTypes.h"
#include "selfextend/attention_mode.h"
#include "selfextend/chat.h"
#include "selfextend/document_conversation.h"
#include "selfextend/kv_disk_cache.h"

namespace selfextend {
class Model;
class Session;
}  // namespace selfextend

namespace studio {

class EngineWorker : public QObject {
    Q_OBJECT

  public:
    explicit EngineWorker(QObject* parent = nullptr);
    ~EngineWorker() override;

  public slots:
    // device: 0 auto, 1 CPU, 2 CUDA (the ModelPanel's combo order).
    // threads: CPU threads, 0 for one per core.
    void loadModel(const QString& path, int device, int threads = 0);
    void loadDocument(const QString& path);
    void ask(const studio::AskRequest& request);
    // Goes on with the side's last answer where the token limit cut it: runStarted (a follow-up
    // of the same turn), the new text through tokenGenerated, runFinished, askFinished.
    void continueAnswer(const studio::ContinueRequest& request);
    void runPasskey(const studio::PasskeyRequest& request);
    void runPerplexity(const studio::PerplexityRequest& request);
    void runProbe(const studio::ProbeRequest& request);
    // The next question starts a new conversation on the document (whose KV stays).
    void newConversation();
    // Turns saved from an earlier session of the app: the side's next question follows up on
    // them, its prompt holding them as any follow-up's does (prefilled, the session being new).
    void restoreConversation(studio::AnswerSide side, const QStringList& questions,
                             const QStringList& answers);
    // Ask with another prompt format than the file's (empty: the file's own). Answered by
    // promptFormatChanged with the format in use, which stays the old one when the vocabulary
    // lacks the new one's special tokens (and failed says why).
    void setPromptFormat(const QString& name);

  signals:
    void modelLoadStarted(const QString& path);
    void modelLoadProgress(double fraction);
    void modelLoaded(const studio::ModelSummary& summary);
    void modelLoadFailed(const QString& path, const QString& message);
    // name: empty for the file's own format; framingTokens: the markup around document and
    // question in that format.
    void promptFormatChanged(const QString& name, int framingTokens);

    void documentLoaded(const studio::DocumentInfo& document);
    void documentTokensCounted(qint64 tokens);
    void documentLoadFailed(const QString& path, const QString& message);

    // followUp: the prompt continues the side's conversation (earlier turns in it).
    void runStarted(studio::AnswerSide side, const QString& settings, qint64 promptTokens,
                    bool followUp);
    // The side's last answer goes on (continueAnswer): its text grows, the turn stays one.
    void continueStarted(studio::AnswerSide side, const QString& settings);
    // etaSeconds: the estimate; etaHighSeconds: the longest it may take as the latest chunks
    // ran (a busy machine), at least etaSeconds.
    void prefillProgress(studio::AnswerSide side, qint64 done, qint64 total, double tokensPerSecond,
                         double etaSeconds, double etaHighSeconds);
    void tokenGenerated(studio::AnswerSide side, const QString& text, qint64 generated,
                        double tokensPerSecond);
    void runFinished(studio::AnswerSide side, const studio::RunStats& stats);
    // Where the side's answer came from (sent just before runFinished, once it has answered).
    void sourcesFound(studio::AnswerSide side, const studio::AnswerSources& sources);
    void askFinished();

    void evaluationProgress(qint64 done, qint64 total);
    void passkeyFinished(const studio::PasskeyResults& results);
    void perplexityPoint(qint64 length, bool selfExtend, double perplexity);
    void evaluationFinished(bool cancelled);
    void probeProgress(qint64 done, qint64 total, double tokensPerSecond, double etaSeconds);
    void probeFinished(const studio::ProbeResults& results, bool cancelled);
    void failed(const QString& context, const QString& message);

  private:
    // One side of the talk about the open document. Its engine conversation keeps the KV of the
    // document and the turns so far, so a follow-up question prefills only what is new.
    struct Side {
        std::optional<selfextend::DocumentConversation> conversation;
        bool truncating = false;  // its prompts are cut to a budget (the document's start dropped)
    };
    // Streams an answer (a new one, or the rest of a cut one) to the side's pane.
    // answerSoFar: what the side has answered already (a continued answer's first part).
    RunStats stream(
        AnswerSide side, const selfextend::CancelToken& cancel, std::string answerSoFar,
        const std::function<selfextend::AnswerOutcome(const selfextend::AnswerCallbacks&)>& run);
    void askIn(AnswerSide side, const selfextend::AttentionMode& mode,
               const selfextend::PromptLimits& limits, const AskRequest& request,
               const selfextend::CancelToken& cancel);
    // What the run's header says: the mode, its limit, a cut, a follow-up.
    QString runSettings(const selfextend::AttentionMode& mode,
                        const selfextend::PromptLimits& limits,
                        const selfextend::ConversationPrompt& prompt, int maxNewTokens) const;
    // The document framed in the prompt format with this system prompt, encoded once; a new
    // system prompt makes it again, the turns staying.
    void frameDocument(const std::string& systemPrompt);
    // Drops the conversations and their sessions (a new model, document or prompt format).
    void resetConversations();
    void countDocumentTokens();
    // The prompt format questions are asked in: the user's choice, else the file's.
    selfextend::ChatTemplate chatTemplate() const;

    std::shared_ptr<selfextend::Model> model_;
    std::string documentText_;  // UTF-8, the text every prompt is built from
    QString promptFormat_;      // the user's override of the file's format; empty: none
    std::string systemPrompt_;  // the last request's (empty: the template's default)
    std::shared_ptr<const selfextend::FramedDocument> framed_;  // null until a model and a document
    std::array<Side, 2> sides_;                                 // indexed by AnswerSide
    std::array<QString, 2> lastSettings_;  // each side's last run's settings line
    // Turns restored before the side's conversation exists: its first conversation takes them.
    std::array<std::vector<selfextend::QuestionAnswer>, 2> restoredTurns_;
    // Documents read before (this run of the app or another) answer without a prefill.
    std::optional<selfextend::KvDiskCache> diskCache_;
};

}  // namespace studio
