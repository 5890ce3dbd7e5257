// The one object that touches the engine. It lives on a worker QThread (see MainWindow), owns
// the loaded Model and every Session, and reports to the widgets only through queued signals,
// so the GUI thread never computes. Requests arrive as queued slot calls and run in order;
// long ones are stopped through the CancelToken carried in the request, which the GUI thread
// cancels directly (CancelToken::cancel is thread-safe).
#pragma once

#include <QObject>
#include <QString>
#include <memory>
#include <span>
#include <string>

#include "EngineTypes.h"

namespace selfextend {
class ChatTemplate;
class Model;
struct AttentionMode;
}  // namespace selfextend

namespace studio {

class EngineWorker : public QObject {
    Q_OBJECT

  public:
    explicit EngineWorker(QObject* parent = nullptr);
    ~EngineWorker() override;

  public slots:
    // device: 0 auto, 1 CPU, 2 CUDA (the ModelPanel's combo order).
    void loadModel(const QString& path, int device);
    void loadDocument(const QString& path);
    void ask(const studio::AskRequest& request);
    void runPasskey(const studio::PasskeyRequest& request);
    void runPerplexity(const studio::PerplexityRequest& request);
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

    void runStarted(studio::AnswerSide side, const QString& settings, qint64 promptTokens);
    void prefillProgress(studio::AnswerSide side, qint64 done, qint64 total, double tokensPerSecond,
                         double etaSeconds);
    void tokenGenerated(studio::AnswerSide side, const QString& text, qint64 generated,
                        double tokensPerSecond);
    void runFinished(studio::AnswerSide side, const studio::RunStats& stats);
    void askFinished();

    void evaluationProgress(qint64 done, qint64 total);
    void passkeyFinished(const studio::PasskeyResults& results);
    void perplexityPoint(qint64 length, bool selfExtend, double perplexity);
    void evaluationFinished(bool cancelled);
    void failed(const QString& context, const QString& message);

  private:
    void runOne(AnswerSide side, std::span<const int32_t> promptTokens,
                const selfextend::AttentionMode& mode, const QString& settings,
                const AskRequest& request, const selfextend::CancelToken& cancel);
    void countDocumentTokens();
    // The prompt format questions are asked in: the user's choice, else the file's.
    selfextend::ChatTemplate chatTemplate() const;

    std::shared_ptr<selfextend::Model> model_;
    std::string documentText_;  // UTF-8, the text every prompt is built from
    QString promptFormat_;      // the user's override of the file's format; empty: none
};

}  // namespace studio
