// The studio's window: document, model and Self-Extend panels, the Ask, Evaluate and Tune tabs.
// A view: it builds requests from its widgets and hands them to its StudioController, which
// holds the state and talks to the engine's worker, and it shows what the controller reports.
//
// Its methods, by concern: MainWindow.cpp (the layout and the controller's reports),
// MainWindowRuns.cpp (Ask, Continue, Stop, the evaluations and the probe), MainWindowMenus.cpp
// (menus, toolbar, file dialogs, export), MainWindowSettings.cpp (engine settings and what is
// kept between sessions), MainWindowConversations.cpp (conversations kept with their document)
// and MainWindowHelp.cpp (the Help menu's windows).
#pragma once

#include <QMainWindow>
#include <QPointer>
#include <functional>

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

class AnswerPane;
class ComparePane;
class DocumentPane;
class EvaluateTab;
class ModelPanel;
class ModelPicker;
class ProbePanel;
class SelfExtendPanel;
class StudioController;

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
    StudioController* controller() const { return controller_; }
    bool hasModel() const;
    bool isAsking() const;
    bool isEvaluating() const;

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
    // For observers (tests, tools/studio-pictures).
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
    void buildLayout();
    void connectWidgets();
    void connectModelAndDocument();
    void connectRuns();
    void createActions();
    void restoreSettings();
    void saveSettings() const;
    void addRecent(const QString& key, const QString& path) const;
    void fillRecentMenu(QMenu* menu, const QString& key, bool models);
    void showError(const QString& message, ErrorBanner::Topic topic);
    void showWarning(const QString& message, ErrorBanner::Topic topic);
    void askFit();
    // The Evaluate tab's lengths are whole numbers above 1 and there is one at least; else the
    // banner says what is wrong. kind: "prompt" or "window"; run: what they are for.
    bool lengthsUsable(const QStringList& invalid, const QList<qint64>& lengths,
                       const QString& kind, const QString& run);
    // Runs `start` at once, or after the user confirms lengths past the capacity (a non-modal
    // question, objectName "capacityBox").
    void confirmLengths(const QList<qint64>& lengths, const std::function<void()>& start);
    void updateDerivedState();
    void updateStaleness();
    void updateBusy();
    void maybeStartPendingAsk();
    void openDocumentDialog();
    void openModelDialog();
    AnswerPane* pane(AnswerSide side) const;
    // Conversations kept with their document (MainWindowConversations.cpp).
    void saveConversation();
    void restoreSavedConversation();
    // The offered conversation goes to the worker: the next question follows up on it.
    void continueRestoredConversation();
    // The offer goes (a question asked without continuing it, another document or model).
    void withdrawRestoredConversation();

    StudioController* controller_;
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

    const selfextend::GpuAvailability gpu_;  // whether the GPU can be chosen (asked at start)
    bool askBlockedShown_ = false;           // the banner says why Ask cannot run
    QString lastError_;
    QString pendingQuestion_;  // --ask: asked once the model and the document are there
};

}  // namespace studio
