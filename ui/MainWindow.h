// The studio's window: document, model and Self-Extend panels, the Ask and Evaluate tabs. It owns
// the worker thread; every engine call goes to the one EngineWorker on it through queued signals.
#pragma once

#include <QMainWindow>
#include <QPointer>
#include <QThread>
#include <functional>
#include <optional>

#include "ConversationStore.h"
#include "EngineTypes.h"
#include "ErrorBanner.h"
#include "SettingsDialog.h"
#include "StartupOptions.h"

class QAction;
class QDialog;
class QMenu;
class QMessageBox;
class QSplitter;
class QTabWidget;

namespace studio {

class ComparePane;
class DocumentPane;
class EngineWorker;
class EvaluateTab;
class ModelPanel;
class ModelPicker;
class ProbePanel;
class SelfExtendPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT

  public:
    explicit MainWindow(QWidget* parent = nullptr);
    // With what the machine's GPU is said to be (tests: a GPU that is offered but fails to load).
    explicit MainWindow(const selfextend::GpuAvailability& gpu, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Loads the model and document the options (or the saved settings) name.
    void start(const StartupOptions& options);
    // The size of a first window (no saved geometry) on a screen with this much room.
    static QSize firstWindowSize(const QSize& available);

    QString lastError() const { return lastError_; }
    QString bannerText() const;  // every error and warning shown, one a line
    bool hasModel() const { return hasModel_; }
    bool isAsking() const { return asking_; }
    bool isEvaluating() const { return evaluating_; }

    DocumentPane* documentPane() const { return documentPane_; }
    ModelPanel* modelPanel() const { return modelPanel_; }
    SelfExtendPanel* selfExtendPanel() const { return selfExtendPanel_; }
    ComparePane* comparePane() const { return comparePane_; }
    EvaluateTab* evaluateTab() const { return evaluateTab_; }
    ProbePanel* probePanel() const { return probePanel_; }
    // Where the open document's conversation with this model is saved; empty without both.
    QString savedConversationPath() const;

    // What Ask does when the document does not fit the Self-Extend capacity. AskFirst shows a
    // non-modal question (objectName "fitBox") whose buttons call ask again with the choice.
    enum class FitChoice { AskFirst, FitNow, Truncate, RunAnyway };

  public slots:
    void openDocument(const QString& path);
    void openModel(const QString& path);
    void ask(FitChoice choice = FitChoice::AskFirst);
    void stopAll();
    void runPasskey();
    void runPerplexity();
    // The pass key in the open document under vanilla and G, W around Auto's (the Tune tab).
    void runProbe();
    // Writes both sides' conversations as Markdown; false (and the banner says why) on failure.
    bool exportConversation(const QString& path);
    // The model picker (File › Choose Model…): known models with a check of each.
    ModelPicker* showModelPicker();
    // Settings (File › Settings…): applied and saved when accepted.
    SettingsDialog* showSettings();
    QMessageBox* showShortcuts();  // Help › Keyboard Shortcuts, built from the menus' actions
    // Help › User Guide: docs/user-guide.md, built in, in a window of its own.
    QDialog* showUserGuide();
    QString aboutText() const;  // Help › About: version, commit, Qt
    EngineSettings engineSettings() const;
    // More of the side's last answer, which the token limit cut (its pane's Continue).
    void continueAnswer(AnswerSide side);
    // The prompt format questions are asked in: the user's choice, else the model file's.
    QString promptFormatInUse() const;
    // The repeat penalty when the user has chosen none: 1.1 for chat models, off for the plain
    // format's base models.
    float defaultRepeatPenalty() const;
    void applySettings(const EngineSettings& settings);

  signals:
    // To the worker (queued).
    void modelRequested(const QString& path, int device, int threads);
    void documentRequested(const QString& path);
    void askRequested(const studio::AskRequest& request);
    void continueRequested(const studio::ContinueRequest& request);
    void passkeyRequested(const studio::PasskeyRequest& request);
    void perplexityRequested(const studio::PerplexityRequest& request);
    void probeRequested(const studio::ProbeRequest& request);
    void conversationRestoreRequested(studio::AnswerSide side, const QStringList& questions,
                                      const QStringList& answers);
    // For observers (tests, the screenshot mode).
    void modelReady();
    void documentReady();
    void askDone();
    void evaluationDone();
    void probeDone();
    void conversationRestored();
    void errorShown(const QString& message);

  protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

  private:
    void connectWorker();
    void createActions();
    void restoreSettings();
    void saveSettings() const;
    void addRecent(const QString& key, const QString& path) const;
    void fillRecentMenu(QMenu* menu, const QString& key, bool models);
    void showError(const QString& message, ErrorBanner::Topic topic);
    void showWarning(const QString& message, ErrorBanner::Topic topic);
    void askFit();
    // Runs `start` at once, or after the user confirms lengths past the capacity (a non-modal
    // question, objectName "capacityBox").
    void confirmLengths(const QList<qint64>& lengths, const std::function<void()>& start);
    QString askBlockedReason() const;
    void updateDerivedState();
    void updateStaleness();
    void updateBusy();
    void maybeStartPendingAsk();
    void finishScreenshot();
    void openDocumentDialog();
    void openModelDialog();
    // Conversations kept with their document (MainWindowConversations.cpp).
    QString conversationKey() const;
    void saveConversation();
    void restoreSavedConversation();
    // The offered conversation goes to the worker: the next question follows up on it.
    void continueRestoredConversation();
    // The offer goes (a question asked without continuing it, another document or model).
    void withdrawRestoredConversation();
    void forgetSavedConversation();

    QThread workerThread_;
    EngineWorker* worker_;  // lives on workerThread_, deleted when it finishes

    ErrorBanner* banner_;
    ModelPanel* modelPanel_;
    SelfExtendPanel* selfExtendPanel_;
    DocumentPane* documentPane_;
    ComparePane* comparePane_;
    EvaluateTab* evaluateTab_;
    ProbePanel* probePanel_;
    QTabWidget* tabs_;
    QSplitter* mainSplit_;
    QSplitter* rightSplit_;
    QPointer<QMessageBox> fitBox_;
    QPointer<QMessageBox> capacityBox_;
    QAction* askAction_ = nullptr;
    QAction* stopAction_ = nullptr;

    // Copies of the running requests' cancel tokens: Stop cancels them directly from here.
    selfextend::CancelToken vanillaCancel_;
    selfextend::CancelToken selfExtendCancel_;
    selfextend::CancelToken evaluationCancel_;
    selfextend::CancelToken probeCancel_;

    // Whether the GPU can be chosen here (asked once, at start), and the model load in flight:
    // its path and device, saved as the device to use only once a model has loaded with it.
    const selfextend::GpuAvailability gpu_;
    QString loadingModel_;
    int loadingDevice_ = 0;
    bool hasModel_ = false;
    qint64 trainingWindow_ = 512;
    qint64 documentTokens_ = -1;
    bool hasDocument_ = false;
    int pendingDocumentLoads_ = 0;
    bool asking_ = false;
    bool askStopped_ = false;  // the user stopped the current (or last) Ask
    bool evaluating_ = false;
    bool evaluationFailed_ = false;
    bool probing_ = false;
    ConversationStore conversationStore_;
    // The last session's turns while they are offered (per AnswerSide; empty when none).
    std::array<QList<SavedTurn>, 2> restoredTurns_;
    QByteArray documentDigest_;     // of the open document's bytes; empty before one is open
    bool askBlockedShown_ = false;  // the banner says why Ask cannot run
    // What each shown answer was asked with, to mark it stale when that changes.
    struct AnswerContext {
        QString document;
        QString model;
        int group = 0;
        int window = 0;
    };
    AnswerContext asked_;                       // the running (or last) request's
    std::optional<AnswerContext> answered_[2];  // per AnswerSide, once its run began
    QString lastError_;
    QString pendingQuestion_;
    QString screenshotPath_;
};

}  // namespace studio
