// The studio's window: document, model and Self-Extend panels, the Ask and Evaluate tabs. It owns
// the worker thread; every engine call goes to the one EngineWorker on it through queued signals.
#pragma once

#include <QMainWindow>
#include <QPointer>
#include <QThread>

#include "EngineTypes.h"
#include "StartupOptions.h"

class QAction;
class QMenu;
class QMessageBox;
class QSplitter;
class QTabWidget;

namespace studio {

class ComparePane;
class DocumentPane;
class EngineWorker;
class ErrorBanner;
class EvaluateTab;
class ModelPanel;
class SelfExtendPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT

  public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Loads the model and document the options (or the saved settings) name.
    void start(const StartupOptions& options);

    QString lastError() const { return lastError_; }
    bool hasModel() const { return hasModel_; }
    bool isAsking() const { return asking_; }
    bool isEvaluating() const { return evaluating_; }

    DocumentPane* documentPane() const { return documentPane_; }
    ModelPanel* modelPanel() const { return modelPanel_; }
    SelfExtendPanel* selfExtendPanel() const { return selfExtendPanel_; }
    ComparePane* comparePane() const { return comparePane_; }
    EvaluateTab* evaluateTab() const { return evaluateTab_; }

  public slots:
    void openDocument(const QString& path);
    void openModel(const QString& path);
    void ask();
    void stopAll();
    void runPasskey();
    void runPerplexity();

  signals:
    // To the worker (queued).
    void modelRequested(const QString& path, int device);
    void documentRequested(const QString& path);
    void askRequested(const studio::AskRequest& request);
    void passkeyRequested(const studio::PasskeyRequest& request);
    void perplexityRequested(const studio::PerplexityRequest& request);
    // For observers (tests, the screenshot mode).
    void modelReady();
    void documentReady();
    void askDone();
    void evaluationDone();
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
    void showError(const QString& message);
    void showWarning(const QString& message);
    void updateDerivedState();
    void updateBusy();
    void maybeStartPendingAsk();
    void finishScreenshot();
    void openDocumentDialog();
    void openModelDialog();

    QThread workerThread_;
    EngineWorker* worker_;  // lives on workerThread_, deleted when it finishes

    ErrorBanner* banner_;
    ModelPanel* modelPanel_;
    SelfExtendPanel* selfExtendPanel_;
    DocumentPane* documentPane_;
    ComparePane* comparePane_;
    EvaluateTab* evaluateTab_;
    QTabWidget* tabs_;
    QSplitter* mainSplit_;
    QSplitter* rightSplit_;
    QPointer<QMessageBox> errorBox_;
    QAction* askAction_ = nullptr;
    QAction* stopAction_ = nullptr;

    // Copies of the running requests' cancel tokens: Stop cancels them directly from here.
    selfextend::CancelToken vanillaCancel_;
    selfextend::CancelToken selfExtendCancel_;
    selfextend::CancelToken evaluationCancel_;

    bool hasModel_ = false;
    qint64 trainingWindow_ = 512;
    qint64 documentTokens_ = -1;
    bool hasDocument_ = false;
    int pendingDocumentLoads_ = 0;
    bool asking_ = false;
    bool evaluating_ = false;
    QString lastError_;
    QString pendingQuestion_;
    QString screenshotPath_;
    bool autoPickPending_ = false;
};

}  // namespace studio
