#include "MainWindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeySequence>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <algorithm>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "ConversationExport.h"
#include "DeviceChoice.h"
#include "DocumentFilter.h"
#include "DocumentPane.h"
#include "EngineWorker.h"
#include "ErrorBanner.h"
#include "EvaluateTab.h"
#include "Format.h"
#include "ModelPanel.h"
#include "ModelPicker.h"
#include "NonModalBox.h"
#include "OpenedFiles.h"
#include "ProbePanel.h"
#include "ResourcePaths.h"
#include "SelfExtendPanel.h"
#include "SettingsDialog.h"
#include "SourcesBar.h"
#include "selfextend/attention_mode.h"
#include "selfextend/evaluation.h"

namespace studio {
namespace {

constexpr int kMaxRecent = 8;
// The smallest window in which nothing is cut off, and the largest first size: both fit a
// 1366×768 laptop screen with its panels.
constexpr QSize kMinimumWindow(800, 500);
constexpr QSize kLargestFirstWindow(1280, 700);
using Topic = ErrorBanner::Topic;

}  // namespace

MainWindow::MainWindow(QWidget* parent) : MainWindow(selfextend::gpu_availability(), parent) {}

MainWindow::MainWindow(const selfextend::GpuAvailability& gpu, QWidget* parent)
    : QMainWindow(parent),
      worker_(new EngineWorker),
      banner_(new ErrorBanner),
      modelPanel_(new ModelPanel),
      selfExtendPanel_(new SelfExtendPanel),
      documentPane_(new DocumentPane),
      comparePane_(new ComparePane),
      evaluateTab_(new EvaluateTab),
      probePanel_(new ProbePanel),
      tabs_(new QTabWidget),
      mainSplit_(new QSplitter(Qt::Horizontal)),
      rightSplit_(new QSplitter(Qt::Vertical)),
      gpu_(gpu) {
    registerEngineTypes();
    modelPanel_->setGpuAvailability(gpu_);
    setWindowTitle(tr("SelfExtend Studio"));
    setAcceptDrops(true);

    // The sidebar scrolls rather than squeezing its gauges on small or 200%-scaled screens.
    auto* sidebar = new QWidget;
    auto* sidebarLayout = new QVBoxLayout(sidebar);
    sidebarLayout->addWidget(modelPanel_);
    sidebarLayout->addWidget(selfExtendPanel_, 1);
    auto* sidebarScroll = new QScrollArea;
    sidebarScroll->setWidget(sidebar);
    sidebarScroll->setWidgetResizable(true);
    sidebarScroll->setFrameShape(QFrame::NoFrame);
    sidebarScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    sidebarScroll->setMinimumWidth(sidebar->sizeHint().width() +
                                   style()->pixelMetric(QStyle::PM_ScrollBarExtent));

    tabs_->addTab(comparePane_, tr("Ask"));
    tabs_->addTab(evaluateTab_, tr("Evaluate"));
    tabs_->addTab(probePanel_, tr("Tune on document"));
    tabs_->setDocumentMode(true);

    auto* documentBox = new QWidget;
    auto* documentLayout = new QVBoxLayout(documentBox);
    documentLayout->addWidget(documentPane_);
    rightSplit_->addWidget(documentBox);
    rightSplit_->addWidget(tabs_);
    rightSplit_->setStretchFactor(0, 1);
    rightSplit_->setStretchFactor(1, 1);
    rightSplit_->setChildrenCollapsible(false);

    mainSplit_->addWidget(sidebarScroll);
    mainSplit_->addWidget(rightSplit_);
    mainSplit_->setStretchFactor(1, 1);
    mainSplit_->setChildrenCollapsible(false);

    auto* central = new QWidget;
    auto* centralLayout = new QVBoxLayout(central);
    centralLayout->addWidget(banner_);
    centralLayout->addWidget(mainSplit_, 1);
    setCentralWidget(central);

    createActions();
    connectWorker();

    connect(documentPane_, &DocumentPane::openRequested, this, &MainWindow::openDocumentDialog);
    documentPane_->setSampleAvailable(!findSampleDocument().isEmpty());
    connect(documentPane_, &DocumentPane::sampleRequested, this, [this] {
        openDocument(findSampleDocument());
        // The question the link names, ready to ask (unless one is typed already).
        if (comparePane_->question().isEmpty())
            comparePane_->setQuestion(tr("What is the door code?"));
    });
    connect(modelPanel_, &ModelPanel::openRequested, this, [this] { showModelPicker(); });
    connect(comparePane_, &ComparePane::askRequested, this, [this] { ask(); });
    connect(comparePane_, &ComparePane::stopRequested, this, &MainWindow::stopAll);
    connect(comparePane_, &ComparePane::maxNewTokensChanged, this, [this](int tokens) {
        selfExtendPanel_->setAnswerReserve(tokens);
        // A longer answer may no longer fit: then G and W follow (unless pinned).
        if (!selfExtendPanel_->fits()) selfExtendPanel_->fitDocument();
        updateDerivedState();
    });
    connect(comparePane_->vanillaPane(), &AnswerPane::stopRequested, this,
            [this] { vanillaCancel_.cancel(); });
    connect(comparePane_->selfExtendPane(), &AnswerPane::stopRequested, this,
            [this] { selfExtendCancel_.cancel(); });
    for (AnswerPane* answer : {comparePane_->vanillaPane(), comparePane_->selfExtendPane()})
        connect(answer, &AnswerPane::continueRequested, this,
                [this, answer] { continueAnswer(answer->side()); });
    connect(comparePane_->vanillaPane(), &AnswerPane::truncatedChanged, this,
            &MainWindow::updateDerivedState);
    connect(selfExtendPanel_, &SelfExtendPanel::settingsChanged, this, [this] {
        if (selfExtendPanel_->window() < trainingWindow_) banner_->clear(Topic::Settings);
        updateDerivedState();
    });
    connect(selfExtendPanel_, &SelfExtendPanel::windowClamped, this,
            [this](int requested, qint64 window) {
                showWarning(tr("W = %1 is larger than this model's training window L = %2: it was "
                               "lowered to W = %2, which extends nothing (the capacity is then "
                               "L). Choose a smaller W or press Auto.")
                                .arg(formatCount(requested), formatCount(window)),
                            Topic::Settings);
            });
    connect(evaluateTab_, &EvaluateTab::passkeyRequested, this, &MainWindow::runPasskey);
    connect(evaluateTab_, &EvaluateTab::perplexityRequested, this, &MainWindow::runPerplexity);
    connect(evaluateTab_, &EvaluateTab::stopRequested, this,
            [this] { evaluationCancel_.cancel(); });
    connect(evaluateTab_, &EvaluateTab::exportFailed, this,
            [this](const QString& message) { showError(message, Topic::Evaluate); });
    connect(probePanel_, &ProbePanel::probeRequested, this, &MainWindow::runProbe);
    connect(probePanel_, &ProbePanel::stopRequested, this, [this] { probeCancel_.cancel(); });
    connect(probePanel_, &ProbePanel::applyRequested, this, [this](int group, int window) {
        // The user chose them: a new document or answer length leaves them alone.
        selfExtendPanel_->setWindow(window);
        selfExtendPanel_->setGroup(group);
        selfExtendPanel_->pin(true, true);
        statusBar()->showMessage(tr("G = %1, W = %2 from the probe").arg(group).arg(window), 5000);
    });

    worker_->moveToThread(&workerThread_);
    connect(&workerThread_, &QThread::finished, worker_, &QObject::deleteLater);
    workerThread_.start();

    setMinimumSize(kMinimumWindow);
    restoreSettings();
    updateDerivedState();
    statusBar()->showMessage(tr("Ready"), 3000);
}

MainWindow::~MainWindow() {
    // Stop whatever runs so the thread can finish promptly, then wait for it: the worker (and
    // with it the model and any session) is destroyed on its own thread.
    stopAll();
    workerThread_.quit();
    workerThread_.wait();
}

void MainWindow::connectWorker() {
    connect(this, &MainWindow::modelRequested, worker_, &EngineWorker::loadModel);
    connect(this, &MainWindow::documentRequested, worker_, &EngineWorker::loadDocument);
    connect(this, &MainWindow::askRequested, worker_, &EngineWorker::ask);
    connect(this, &MainWindow::continueRequested, worker_, &EngineWorker::continueAnswer);
    connect(comparePane_, &ComparePane::newConversationRequested, worker_,
            &EngineWorker::newConversation);
    connect(this, &MainWindow::passkeyRequested, worker_, &EngineWorker::runPasskey);
    connect(this, &MainWindow::perplexityRequested, worker_, &EngineWorker::runPerplexity);
    connect(this, &MainWindow::probeRequested, worker_, &EngineWorker::runProbe);
    connect(this, &MainWindow::conversationRestoreRequested, worker_,
            &EngineWorker::restoreConversation);
    connect(comparePane_, &ComparePane::newConversationRequested, this,
            &MainWindow::forgetSavedConversation);
    connect(comparePane_, &ComparePane::continueConversationRequested, this,
            &MainWindow::continueRestoredConversation);
    connect(worker_, &EngineWorker::probeProgress, probePanel_, &ProbePanel::setProgress);
    connect(worker_, &EngineWorker::probeFinished, this,
            [this](const ProbeResults& results, bool cancelled) {
                probing_ = false;
                probePanel_->showResults(results, cancelled);
                updateBusy();
                statusBar()->showMessage(cancelled ? tr("Probe stopped") : tr("Probe finished"),
                                         5000);
                emit probeDone();
            });

    connect(worker_, &EngineWorker::modelLoadStarted, this, [this](const QString& path) {
        modelPanel_->setLoading(path);
        statusBar()->showMessage(tr("Loading %1…").arg(QFileInfo(path).fileName()));
    });
    connect(worker_, &EngineWorker::modelLoadProgress, modelPanel_, &ModelPanel::setProgress);
    connect(worker_, &EngineWorker::modelLoaded, this, [this](const ModelSummary& model) {
        hasModel_ = true;
        trainingWindow_ = model.trainingWindow;
        banner_->clear(Topic::Model);
        modelPanel_->setModel(model);
        selfExtendPanel_->setPromptFraming(model.promptFramingTokens);
        comparePane_->setPlainPromptFormat(model.chatFormat == QLatin1String("plain"));
        selfExtendPanel_->modelChanging();  // hand-set G and W re-fit unless locked
        selfExtendPanel_->setTrainingWindow(model.trainingWindow);
        documentPane_->setTrainingWindow(model.trainingWindow);
        addRecent(QStringLiteral("recentModels"), model.path);
        QSettings().setValue(QStringLiteral("model"), model.path);
        // The device it loaded on is the one to start with next time (a device that failed
        // never gets here, so it is never saved).
        QSettings().setValue(QStringLiteral("device"), loadingDevice_);
        statusBar()->showMessage(tr("Model %1 loaded").arg(model.name), 5000);
        updateDerivedState();
        restoreSavedConversation();
        emit modelReady();
        maybeStartPendingAsk();
    });
    connect(modelPanel_, &ModelPanel::promptFormatChosen, worker_, &EngineWorker::setPromptFormat);
    connect(worker_, &EngineWorker::promptFormatChanged, this,
            [this](const QString& name, int framingTokens) {
                modelPanel_->setPromptFormat(name);
                selfExtendPanel_->setPromptFraming(framingTokens);
                // Other markup around the document: the worker starts new conversations.
                comparePane_->vanillaPane()->endConversation();
                comparePane_->selfExtendPane()->endConversation();
                comparePane_->setPlainPromptFormat(promptFormatInUse() == QLatin1String("plain"));
                updateDerivedState();
            });
    connect(worker_, &EngineWorker::modelLoadFailed, this,
            [this](const QString& path, const QString& message) {
                // A GPU that fails (no device, out of memory, a graph it cannot run): the same
                // model on the CPU, saying why, rather than no model at all.
                if (loadingDevice_ == kDeviceGpu && path == loadingModel_) {
                    modelPanel_->setDevice(kDeviceAuto);
                    showWarning(tr("The GPU could not load %1 (%2): it runs on the CPU instead.")
                                    .arg(QFileInfo(path).fileName(), message),
                                Topic::Device);
                    openModel(path);
                    return;
                }
                modelPanel_->setLoadFailed(message);
                hasModel_ = modelPanel_->hasModel();  // the previous model, when there was one
                const QString kept =
                    hasModel_ ? tr(" Still using %1.").arg(modelPanel_->model().name) : QString();
                statusBar()->clearMessage();  // "Loading …" is over; the banner says why
                showError(tr("Could not load the model %1: %2.%3")
                              .arg(QFileInfo(path).fileName(), message, kept),
                          Topic::Model);
                updateDerivedState();
            });
    connect(worker_, &EngineWorker::documentLoaded, this, [this](const DocumentInfo& document) {
        --pendingDocumentLoads_;
        hasDocument_ = true;
        documentTokens_ = -1;
        banner_->clear(Topic::Document);
        statusBar()->showMessage(
            document.encoding.isEmpty()
                ? tr("Opened %1").arg(QFileInfo(document.path).fileName())
                : tr("Opened %1, read as %2 (detected: it is not UTF-8)")
                      .arg(QFileInfo(document.path).fileName(), document.encoding),
            4000);
        documentPane_->setDocument(document);
        evaluateTab_->setDocument(QFileInfo(document.path).fileName());
        QFile bytes(document.path);
        documentDigest_ = bytes.open(QIODevice::ReadOnly)
                              ? ConversationStore::digest(bytes.readAll())
                              : ConversationStore::digest(document.text.toUtf8());
        restoreSavedConversation();
        setWindowTitle(tr("%1 — SelfExtend Studio").arg(QFileInfo(document.path).fileName()));
        addRecent(QStringLiteral("recentDocuments"), document.path);
        QSettings().setValue(QStringLiteral("document"), document.path);
        if (document.hadInvalidUtf8)
            showWarning(tr("%1 is not valid UTF-8: it was decoded with replacement characters (�).")
                            .arg(QFileInfo(document.path).fileName()),
                        Topic::Document);
        updateDerivedState();
        emit documentReady();
        maybeStartPendingAsk();
    });
    connect(worker_, &EngineWorker::documentTokensCounted, this, [this](qint64 tokens) {
        documentTokens_ = tokens;
        documentPane_->setTokenCount(tokens);
        updateDerivedState();
        // G and W that fit this document (and model), unless the user pinned them.
        selfExtendPanel_->fitDocument();
        maybeStartPendingAsk();
    });
    connect(worker_, &EngineWorker::documentLoadFailed, this,
            [this](const QString& path, const QString& message) {
                --pendingDocumentLoads_;
                documentPane_->setTokenCount(documentTokens_);
                statusBar()->clearMessage();  // "Opening …" is over; the banner says why
                showError(tr("Could not open %1: %2").arg(QFileInfo(path).fileName(), message),
                          Topic::Document);
                maybeStartPendingAsk();
            });

    const auto pane = [this](AnswerSide side) {
        return side == AnswerSide::Vanilla ? comparePane_->vanillaPane()
                                           : comparePane_->selfExtendPane();
    };
    connect(worker_, &EngineWorker::continueStarted, this,
            [pane](AnswerSide side, const QString& settings) { pane(side)->resume(settings); });
    connect(worker_, &EngineWorker::runStarted, this,
            [this, pane](AnswerSide side, const QString& settings, qint64 tokens, bool followUp) {
                answered_[int(side)] = asked_;
                pane(side)->begin(settings, tokens, followUp);
            });
    connect(worker_, &EngineWorker::prefillProgress, this,
            [pane](AnswerSide side, qint64 done, qint64 total, double rate, double eta,
                   double etaHigh) {
                pane(side)->setPrefillProgress(done, total, rate, eta, etaHigh);
            });
    connect(worker_, &EngineWorker::tokenGenerated, this,
            [pane](AnswerSide side, const QString& text, qint64 generated, double rate) {
                pane(side)->appendToken(text, generated, rate);
            });
    connect(worker_, &EngineWorker::runFinished, this,
            [this, pane](AnswerSide side, const RunStats& stats) {
                pane(side)->finish(stats);
                if (!stats.error.isEmpty())
                    showError(
                        tr("%1 run failed: %2")
                            .arg(side == AnswerSide::Vanilla ? tr("Vanilla") : tr("Self-Extend"),
                                 stats.error),
                        Topic::Ask);
            });
    // Where each answer came from: its passages highlighted in the document, buttons to them.
    connect(worker_, &EngineWorker::sourcesFound, this,
            [this, pane](AnswerSide side, const AnswerSources& sources) {
                documentPane_->setSources(side, sources.passages);
                pane(side)->sourcesBar()->setSources(sources, documentPane_->text());
            });
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend})
        connect(pane(side)->sourcesBar(), &SourcesBar::sourceRequested, this,
                [this, side](int index) { documentPane_->showSource(side, index); });
    connect(worker_, &EngineWorker::askFinished, this, [this] {
        asking_ = false;
        for (auto* answer : {comparePane_->vanillaPane(), comparePane_->selfExtendPane()})
            if (answer->isRunning()) answer->markNotRun();
        updateBusy();
        updateStaleness();
        saveConversation();
        statusBar()->showMessage(askStopped_ ? tr("Stopped") : tr("Answers finished"), 5000);
        emit askDone();
        if (!screenshotPath_.isEmpty()) finishScreenshot();
    });

    connect(worker_, &EngineWorker::evaluationProgress, evaluateTab_, &EvaluateTab::setProgress);
    connect(worker_, &EngineWorker::passkeyFinished, evaluateTab_,
            &EvaluateTab::showPasskeyResults);
    connect(worker_, &EngineWorker::perplexityPoint, evaluateTab_,
            &EvaluateTab::addPerplexityPoint);
    connect(worker_, &EngineWorker::evaluationFinished, this, [this](bool cancelled) {
        evaluating_ = false;
        evaluateTab_->finishRun(!cancelled && !evaluationFailed_);
        updateBusy();
        statusBar()->showMessage(cancelled ? tr("Evaluation stopped") : tr("Evaluation finished"),
                                 5000);
        emit evaluationDone();
    });
    connect(worker_, &EngineWorker::failed, this,
            [this](const QString& context, const QString& message) {
                if (evaluating_) evaluationFailed_ = true;
                showError(tr("%1: %2").arg(context, message), evaluating_ ? Topic::Evaluate
                                                              : asking_   ? Topic::Ask
                                                                          : Topic::Document);
            });
}

void MainWindow::createActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    auto* openDocument =
        file->addAction(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("&Open Document…"),
                        this, &MainWindow::openDocumentDialog);
    openDocument->setShortcut(QKeySequence::Open);
    auto* openModelAction = file->addAction(style()->standardIcon(QStyle::SP_DriveHDIcon),
                                            tr("Open &Model…"), this, &MainWindow::openModelDialog);
    openModelAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    auto* chooseModel = file->addAction(tr("&Choose Model…"), this, [this] { showModelPicker(); });
    chooseModel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    // The bundled demo model and every model fetched into a models folder, one click away.
    QMenu* models = file->addMenu(tr("&Models"));
    connect(models, &QMenu::aboutToShow, this, [this, models] {
        models->clear();
        for (const QString& path : findModelFiles())
            models->addAction(QFileInfo(path).fileName(), this, [this, path] { openModel(path); })
                ->setToolTip(path);
        models->addSeparator();
        // Where models are looked for (tools/fetch-models.sh fills the checkout's models/).
        for (const QString& folder : modelFolders())
            models->addAction(tr("Looked for in %1").arg(folder))->setEnabled(false);
    });
    QMenu* recentDocuments = file->addMenu(tr("Recent &Documents"));
    QMenu* recentModels = file->addMenu(tr("Recent M&odels"));
    connect(recentDocuments, &QMenu::aboutToShow, this,
            [this, recentDocuments] { fillRecentMenu(recentDocuments, "recentDocuments", false); });
    connect(recentModels, &QMenu::aboutToShow, this,
            [this, recentModels] { fillRecentMenu(recentModels, "recentModels", true); });
    file->addSeparator();
    auto* settingsAction = file->addAction(tr("&Settings…"), this, [this] { showSettings(); });
    settingsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    auto* exportAction = file->addAction(tr("&Export Conversation…"), this, [this] {
        const QString suggested =
            QFileInfo(documentPane_->path()).completeBaseName() + tr("-conversation.md");
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Export Conversation"),
            QFileInfo(documentPane_->path()).absoluteDir().filePath(suggested),
            tr("Markdown (*.md);;All files (*)"));
        if (!path.isEmpty()) exportConversation(path);
    });
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    askAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Ask"), this,
                                [this] { ask(); });
    askAction_->setObjectName("askAction");
    askAction_->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    stopAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("&Stop"), this,
                                 &MainWindow::stopAll);
    stopAction_->setShortcut(QKeySequence(Qt::Key_Escape));
    stopAction_->setEnabled(false);
    run->addSeparator();
    run->addAction(tr("&Auto Self-Extend Settings"), selfExtendPanel_, &SelfExtendPanel::autoPick);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&User Guide"), this, [this] { showUserGuide(); });
    help->addAction(tr("&Keyboard Shortcuts"), this, [this] { showShortcuts(); })
        ->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(this, tr("About SelfExtend Studio"), aboutText());
    });

    QToolBar* toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName("mainToolbar");
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->setMovable(false);
    toolbar->addAction(openDocument);
    toolbar->addAction(openModelAction);
    toolbar->addSeparator();
    toolbar->addAction(askAction_);
    toolbar->addAction(stopAction_);
}

void MainWindow::start(const StartupOptions& options) {
    const QSettings settings;
    // The command line pins what it sets: documents and models then leave it alone.
    if (options.group) selfExtendPanel_->setGroup(*options.group);
    if (options.window) selfExtendPanel_->setWindow(*options.window);
    selfExtendPanel_->pin(options.group.has_value(), options.window.has_value());
    pendingQuestion_ = options.askQuestion;
    screenshotPath_ = options.screenshotPath;
    if (!pendingQuestion_.isEmpty()) comparePane_->setQuestion(pendingQuestion_);
    if (!options.ignoredFiles.isEmpty())
        showWarning(tr("Not opened: %1 (the studio opens one model and one document at a time).")
                        .arg(options.ignoredFiles.join(QStringLiteral(", "))),
                    Topic::Startup);

    QString model = options.modelPath;
    if (model.isEmpty()) {
        const QString last = settings.value(QStringLiteral("model")).toString();
        model = QFileInfo(last).isFile() ? last : findBundledModel();
    }
    if (model.isEmpty())
        showError(tr("The bundled demo model (%1) was not found. Open a GGUF model with "
                     "File ▸ Open Model.")
                      .arg(kDemoModelFile),
                  Topic::Model);
    else
        openModel(model);

    QString document = options.documentPath;
    if (document.isEmpty()) {
        const QString last = settings.value(QStringLiteral("document")).toString();
        if (QFileInfo(last).isFile()) document = last;
    }
    if (!document.isEmpty()) openDocument(document);
}

void MainWindow::openDocument(const QString& path) {
    // A model opened as a document (Open Document, Recent Documents): offer what it is for.
    if (isModelFile(path)) {
        QMessageBox* box = nonModalBox(
            this, QMessageBox::Question, "modelAsDocumentBox", tr("A model, not a document"),
            tr("%1 is a GGUF model, not a document. Load it as the model?")
                .arg(QFileInfo(path).fileName()),
            QMessageBox::Cancel);
        QPushButton* load = box->addButton(tr("Load as model"), QMessageBox::AcceptRole);
        load->setObjectName("loadAsModelButton");
        box->setDefaultButton(load);
        connect(load, &QPushButton::clicked, this, [this, path] { openModel(path); });
        box->open();
        return;
    }
    ++pendingDocumentLoads_;
    documentPane_->setLoading(path);
    statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(path).fileName()));
    emit documentRequested(path);
}

void MainWindow::openModel(const QString& path) {
    hasModel_ = false;
    loadingModel_ = path;
    loadingDevice_ = modelPanel_->device();
    emit modelRequested(path, loadingDevice_,
                        QSettings().value(QStringLiteral("threads"), 0).toInt());
}

void MainWindow::openDocumentDialog() {
    const QString dir = QFileInfo(documentPane_->path()).absolutePath();
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open Document"), dir, documentFileFilter());
    if (!path.isEmpty()) openDocument(path);
}

void MainWindow::openModelDialog() {
    const QString dir = QFileInfo(modelPanel_->model().path).absolutePath();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), dir,
                                                      tr("GGUF models (*.gguf);;All files (*)"));
    if (!path.isEmpty()) openModel(path);
}

void MainWindow::ask(FitChoice choice) {
    if (asking_) return;
    if (const QString blocked = askBlockedReason(); !blocked.isEmpty()) {
        showError(blocked, Topic::Ask);
        askBlockedShown_ = true;  // cleared when a model and document are there
        return;
    }
    if (!comparePane_->vanillaPane()->isEnabledForRuns() &&
        !comparePane_->selfExtendPane()->isEnabledForRuns()) {
        showError(tr("Both answers are switched off: tick Vanilla or Self-Extend."), Topic::Ask);
        return;
    }
    AskRequest request;
    request.question = comparePane_->question();
    if (request.question.isEmpty()) {
        showError(tr("Type a question first."), Topic::Ask);
        return;
    }
    // Past the capacity Self-Extend reads positions it was never trained on: ask first.
    if (comparePane_->selfExtendPane()->isEnabledForRuns() && !selfExtendPanel_->fits()) {
        if (choice == FitChoice::FitNow) selfExtendPanel_->autoPick();
        if (choice == FitChoice::AskFirst ||
            (choice == FitChoice::FitNow && !selfExtendPanel_->fits())) {
            askFit();
            return;
        }
        request.selfExtendTruncated = choice == FitChoice::Truncate;
    }
    if (fitBox_) fitBox_->close();
    banner_->clear(Topic::Ask);
    request.maxNewTokens = comparePane_->maxNewTokens();
    request.sampling = comparePane_->sampling();
    request.stopAtLineBreak = comparePane_->stopAtLineBreak();
    request.runVanilla = comparePane_->vanillaPane()->isEnabledForRuns();
    request.vanillaTruncated = comparePane_->vanillaPane()->truncated();
    request.runSelfExtend = comparePane_->selfExtendPane()->isEnabledForRuns();
    request.group = selfExtendPanel_->group();
    request.window = selfExtendPanel_->window();
    const EngineSettings settings = engineSettings();
    request.useDiskCache = settings.documentCache;
    request.sampling = settings.sampling;  // the temperature from the question bar
    request.kvType = settings.kvType;
    request.systemPrompt = settings.systemPrompt;
    // G = 1 is vanilla attention exactly: with vanilla on, one run answers for both.
    const bool selfExtendNeeded = !(request.group == 1 && request.runVanilla &&
                                    (selfExtendPanel_->fits() || !request.vanillaTruncated));
    request.runSelfExtend = request.runSelfExtend && selfExtendNeeded;
    asked_ = {documentPane_->path(), modelPanel_->model().path, request.group, request.window};
    vanillaCancel_ = request.vanillaCancel;
    selfExtendCancel_ = request.selfExtendCancel;
    if (comparePane_->restoredOfferShown()) {
        // Asked without continuing the last session's conversation: a new one starts, and the
        // old turns leave the panes (the worker never had them).
        withdrawRestoredConversation();
        comparePane_->vanillaPane()->clearConversation();
        comparePane_->selfExtendPane()->clearConversation();
    }
    for (auto* answer : {comparePane_->vanillaPane(), comparePane_->selfExtendPane()}) {
        if (answer == comparePane_->selfExtendPane() && answer->isEnabledForRuns() &&
            !selfExtendNeeded)
            answer->markNotNeeded(
                tr("Self-Extend is not needed for this document: the prompt and the answer fit "
                   "in the training window L = %1 (G = 1 is vanilla attention), so the vanilla "
                   "answer is its answer.")
                    .arg(formatCount(trainingWindow_)));
        else if (answer->isEnabledForRuns())
            answer->markQueued(request.question);
        else
            answer->markSkipped();
    }
    asking_ = true;
    askStopped_ = false;
    updateBusy();
    statusBar()->showMessage(tr("Asking…"));
    emit askRequested(request);
}

void MainWindow::continueAnswer(AnswerSide side) {
    if (asking_ || evaluating_ || probing_) return;
    ContinueRequest request;
    request.side = side;
    request.maxNewTokens = comparePane_->maxNewTokens();
    request.sampling = engineSettings().sampling;
    request.stopAtLineBreak = comparePane_->stopAtLineBreak();
    (side == AnswerSide::Vanilla ? vanillaCancel_ : selfExtendCancel_) = request.cancel;
    asking_ = true;
    askStopped_ = false;
    updateBusy();
    statusBar()->showMessage(tr("Continuing the answer…"));
    emit continueRequested(request);
}

ModelPicker* MainWindow::showModelPicker() {
    QStringList paths = findModelFiles();
    paths += QSettings().value(QStringLiteral("recentModels")).toStringList();
    auto* picker = new ModelPicker(paths, modelPanel_->model().path, this);
    picker->setAttribute(Qt::WA_DeleteOnClose);
    connect(picker, &ModelPicker::modelChosen, this, &MainWindow::openModel);
    picker->show();
    return picker;
}

bool MainWindow::exportConversation(const QString& path) {
    QList<ConversationSide> sides;
    for (AnswerPane* pane : {comparePane_->vanillaPane(), comparePane_->selfExtendPane()})
        sides.append({pane->side() == AnswerSide::Vanilla ? tr("Vanilla") : tr("Self-Extend"),
                      pane->settingsText(), pane->turns()});
    if (sides[0].turns.isEmpty() && sides[1].turns.isEmpty()) {
        showError(tr("Nothing to export yet: ask a question first."), Topic::Ask);
        return false;
    }
    QFile file(path);
    const QByteArray markdown = conversationMarkdown(QFileInfo(documentPane_->path()).fileName(),
                                                     modelPanel_->model().name, sides)
                                    .toUtf8();
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        file.write(markdown) != markdown.size() || !file.flush()) {
        showError(tr("Could not write %1: %2.").arg(path, file.errorString()), Topic::Ask);
        return false;
    }
    statusBar()->showMessage(tr("Conversation exported to %1").arg(path), 5000);
    return true;
}

void MainWindow::askFit() {
    const selfextend::AutoChoice choice = selfExtendPanel_->autoChoice();
    const QString needed = formatCount(selfExtendPanel_->requiredTokens());
    const QString settings = tr("G = %1, W = %2")
                                 .arg(selfExtendPanel_->group())
                                 .arg(formatCount(selfExtendPanel_->window()));
    QString text;
    if (choice.fits)
        text = tr("The document does not fit: %1 tokens are needed and the capacity at %2 is %3. "
                  "Self-Extend would read positions it was never trained on.")
                   .arg(needed, settings, formatCount(selfExtendPanel_->capacity()));
    else
        text = tr("The document cannot fit at any G up to %1. %2")
                   .arg(selfextend::kLargestAutoGroup)
                   .arg(withLocaleCounts(QString::fromStdString(choice.explanation)));
    if (!fitBox_) {
        fitBox_ = nonModalBox(this, QMessageBox::Question, "fitBox", tr("Document too long"),
                              QString(), QMessageBox::NoButton);
    }
    for (QAbstractButton* button : fitBox_->buttons()) {  // the choices of this ask only
        fitBox_->removeButton(button);
        delete button;
    }
    fitBox_->setText(text);
    fitBox_->setInformativeText(
        tr("Truncate drops the start of the document and keeps the question, as the truncated "
           "vanilla run does."));
    const auto addChoice = [this](const QString& label, const char* name, FitChoice fit,
                                  QMessageBox::ButtonRole role) {
        QPushButton* button = fitBox_->addButton(label, role);
        button->setObjectName(name);
        connect(button, &QPushButton::clicked, this, [this, fit] { ask(fit); });
        return button;
    };
    if (choice.fits)
        fitBox_->setDefaultButton(addChoice(
            tr("Fit now (G = %1, W = %2)").arg(choice.group).arg(formatCount(choice.window)),
            "fitNowButton", FitChoice::FitNow, QMessageBox::AcceptRole));
    addChoice(tr("Truncate"), "truncateButton", FitChoice::Truncate, QMessageBox::ActionRole);
    addChoice(tr("Run anyway"), "runAnywayButton", FitChoice::RunAnyway, QMessageBox::ActionRole);
    fitBox_->addButton(QMessageBox::Cancel);
    fitBox_->show();
}

void MainWindow::stopAll() {
    // Direct calls, not queued: the worker is busy inside the very loop that must see them.
    askStopped_ = asking_;
    vanillaCancel_.cancel();
    selfExtendCancel_.cancel();
    evaluationCancel_.cancel();
    probeCancel_.cancel();
}

void MainWindow::runProbe() {
    if (probing_ || !askBlockedReason().isEmpty()) return;
    banner_->clear(Topic::Evaluate);
    const qint64 needed = documentTokens_ + selfextend::kProbeFramingTokens;
    const selfextend::AutoChoice automatic = selfextend::choose_attention(trainingWindow_, needed);
    ProbeRequest request;
    request.candidates = selfextend::probe_candidates(trainingWindow_, needed);
    request.depths = probePanel_->depths();
    probeCancel_ = request.cancel;
    probing_ = true;
    probePanel_->begin(request.candidates, automatic.group > 1
                                               ? selfextend::AttentionMode::self_extend(
                                                     automatic.group, automatic.window)
                                               : selfextend::AttentionMode::vanilla());
    updateBusy();
    emit probeRequested(request);
}

void MainWindow::runPasskey() {
    if (evaluating_) return;
    if (const QStringList bad = evaluateTab_->invalidPasskeyLengths(); !bad.isEmpty()) {
        showError(tr("Not prompt lengths: %1. Give whole numbers of tokens above 1, separated by "
                     "commas.")
                      .arg(bad.join(QStringLiteral(", "))),
                  Topic::Evaluate);
        return;
    }
    banner_->clear(Topic::Evaluate);
    PasskeyRequest request;
    request.lengths = evaluateTab_->passkeyLengths();
    request.depths = evaluateTab_->passkeyDepths();
    request.trials = evaluateTab_->trials();
    request.group = selfExtendPanel_->group();
    request.window = selfExtendPanel_->window();
    if (request.lengths.isEmpty()) {
        showError(tr("Enter at least one prompt length for the pass-key test."), Topic::Evaluate);
        return;
    }
    confirmLengths(request.lengths, [this, request] {
        banner_->clear(Topic::Evaluate);
        evaluationCancel_ = request.cancel;
        evaluating_ = true;
        evaluationFailed_ = false;
        updateBusy();
        emit passkeyRequested(request);
    });
}

void MainWindow::runPerplexity() {
    if (evaluating_) return;
    if (const QStringList bad = evaluateTab_->invalidPerplexityLengths(); !bad.isEmpty()) {
        showError(tr("Not window lengths: %1. Give whole numbers of tokens above 1, separated by "
                     "commas.")
                      .arg(bad.join(QStringLiteral(", "))),
                  Topic::Evaluate);
        return;
    }
    banner_->clear(Topic::Evaluate);
    PerplexityRequest request;
    request.lengths = evaluateTab_->perplexityLengths();
    request.maxWindows = evaluateTab_->maxWindows();
    request.group = selfExtendPanel_->group();
    request.window = selfExtendPanel_->window();
    if (request.lengths.isEmpty()) {
        showError(tr("Enter at least one window length for the perplexity run."), Topic::Evaluate);
        return;
    }
    confirmLengths(request.lengths, [this, request] {
        banner_->clear(Topic::Evaluate);
        evaluationCancel_ = request.cancel;
        evaluating_ = true;
        evaluationFailed_ = false;
        evaluateTab_->beginPerplexityRun();
        updateBusy();
        emit perplexityRequested(request);
    });
}

void MainWindow::confirmLengths(const QList<qint64>& lengths, const std::function<void()>& start) {
    const qint64 capacity = selfExtendPanel_->capacity();
    QStringList past;
    for (const qint64 length : lengths)
        if (length > capacity) past << formatCount(length);
    if (past.isEmpty()) {
        start();
        return;
    }
    if (capacityBox_) capacityBox_->close();
    capacityBox_ = nonModalBox(
        this, QMessageBox::Warning, "capacityBox", tr("Past the capacity"),
        tr("Self-Extend at G = %1, W = %2 holds %3 tokens; %4 %5 past it, where it reads "
           "positions it was never trained on and will fail. Raise G or press Auto to measure "
           "inside the capacity.")
            .arg(selfExtendPanel_->group())
            .arg(formatCount(selfExtendPanel_->window()), formatCount(capacity),
                 past.join(QStringLiteral(", ")), past.size() == 1 ? tr("is") : tr("are")),
        QMessageBox::Cancel);
    QPushButton* run = capacityBox_->addButton(tr("Run anyway"), QMessageBox::AcceptRole);
    run->setObjectName("runAnywayButton");
    connect(run, &QPushButton::clicked, this, [this, start] {
        if (!evaluating_) start();
    });
    capacityBox_->show();
}

QString MainWindow::askBlockedReason() const {
    if (!hasModel_) return tr("Load a model first (File ▸ Open Model).");
    if (!hasDocument_)
        return tr(
            "Open a document first: the answers are about a document (File ▸ Open "
            "Document, Ctrl+O).");
    if (documentTokens_ < 0) return tr("Counting the document's tokens…");
    return {};
}

void MainWindow::updateBusy() {
    const QString blocked = askBlockedReason();
    if (blocked.isEmpty() && askBlockedShown_) {
        banner_->clear(Topic::Ask);
        askBlockedShown_ = false;
    }
    comparePane_->setBusy(asking_);
    comparePane_->setAskBlocked(blocked);
    evaluateTab_->setBusy(evaluating_);
    probePanel_->setBlocked(blocked);
    probePanel_->setBusy(probing_);
    askAction_->setEnabled(!asking_ && blocked.isEmpty());
    askAction_->setToolTip(blocked.isEmpty() ? tr("Ask (Ctrl+Return)") : blocked);
    stopAction_->setEnabled(asking_ || evaluating_ || probing_);
}

void MainWindow::updateStaleness() {
    const QString document = documentPane_->path();
    const QString model = modelPanel_->hasModel() ? modelPanel_->model().path : QString();
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        AnswerPane* pane = side == AnswerSide::Vanilla ? comparePane_->vanillaPane()
                                                       : comparePane_->selfExtendPane();
        const std::optional<AnswerContext>& asked = answered_[int(side)];
        if (!asked || pane->isRunning() || !pane->hasResult()) {
            pane->setStale({});
            continue;
        }
        // Vanilla ignores G and W: only the document and the model make its answer stale.
        const bool selfExtend = side == AnswerSide::SelfExtend;
        QStringList changed;
        if (asked->document != document) changed << tr("document");
        if (asked->model != model) changed << tr("model");
        if (selfExtend && (asked->group != selfExtendPanel_->group() ||
                           asked->window != selfExtendPanel_->window()))
            changed << tr("G and W");
        pane->setStale(
            changed.isEmpty()
                ? QString()
                : tr("Stale: answered for %1 with %2%3; the %4 changed since. Ask again.")
                      .arg(QFileInfo(asked->document).fileName(),
                           QFileInfo(asked->model).completeBaseName(),
                           selfExtend ? tr(", G=%1 W=%2").arg(asked->group).arg(asked->window)
                                      : QString(),
                           changed.join(tr(" and "))));
    }
}

void MainWindow::updateDerivedState() {
    const int g = selfExtendPanel_->group();
    const int w = selfExtendPanel_->window();
    const qint64 cap = selfextend::capacity(trainingWindow_, g, w);
    const qint64 tokens = hasDocument_ ? documentTokens_ : -1;
    selfExtendPanel_->setDocumentTokens(tokens);
    documentPane_->setCapacity(cap);
    modelPanel_->setRequiredTokens(selfExtendPanel_->requiredTokens());
    evaluateTab_->setSelfExtend(g, w);
    evaluateTab_->setLimits(trainingWindow_, cap);

    const qint64 needed = selfExtendPanel_->requiredTokens();
    QString vanilla;
    if (comparePane_->vanillaPane()->truncated())
        vanilla = tr("vanilla, truncated to the window L = %1 (the question is kept)")
                      .arg(formatCount(trainingWindow_));
    else if (needed > trainingWindow_)
        vanilla = tr("vanilla, overflowing: about %1 tokens past L = %2")
                      .arg(formatCount(needed - trainingWindow_), formatCount(trainingWindow_));
    else
        vanilla = tr("vanilla, inside L = %1").arg(formatCount(trainingWindow_));
    comparePane_->vanillaPane()->setPlannedSettings(vanilla);
    comparePane_->selfExtendPane()->setPlannedSettings(tr("Self-Extend G=%1 W=%2, capacity %3%4")
                                                           .arg(g)
                                                           .arg(w)
                                                           .arg(formatCount(cap))
                                                           .arg(needed < 0 ? QString()
                                                                : selfExtendPanel_->fits()
                                                                    ? tr(" (fits)")
                                                                    : tr(" (does not fit)")));
    updateStaleness();
    updateBusy();
}

void MainWindow::maybeStartPendingAsk() {
    if (pendingQuestion_.isEmpty() || !hasModel_ || pendingDocumentLoads_ > 0) return;
    if (hasDocument_ && documentTokens_ < 0) return;  // wait for the token count
    pendingQuestion_.clear();
    // G and W were fitted to the document unless the command line pinned them; the screenshot
    // mode runs what it was given.
    ask(screenshotPath_.isEmpty() ? FitChoice::AskFirst : FitChoice::RunAnyway);
}

void MainWindow::finishScreenshot() {
    const QString path = screenshotPath_;
    screenshotPath_.clear();
    qInfo("vanilla: %s", qPrintable(comparePane_->vanillaPane()->answer().simplified()));
    qInfo("self-extend: %s", qPrintable(comparePane_->selfExtendPane()->answer().simplified()));
    qInfo("vanilla run: %s", qPrintable(comparePane_->vanillaPane()->statusText()));
    qInfo("self-extend run: %s", qPrintable(comparePane_->selfExtendPane()->statusText()));
    // One more turn of the event loop so the last tokens and labels are painted.
    QTimer::singleShot(200, this, [this, path] {
        const bool saved = grab().save(path, "PNG");
        if (!saved) qWarning("could not write the screenshot to %s", qPrintable(path));
        QApplication::exit(saved ? 0 : 1);
    });
}

void MainWindow::showError(const QString& message, Topic topic) {
    // One place: the banner (no dialog, no status-bar copy), until its topic is resolved.
    lastError_ = message;
    banner_->showMessage(message, ErrorBanner::Kind::Error, topic);
    emit errorShown(message);
    if (!screenshotPath_.isEmpty() && !hasModel_) {
        screenshotPath_.clear();
        QApplication::exit(1);
    }
}

void MainWindow::showWarning(const QString& message, Topic topic) {
    banner_->showMessage(message, ErrorBanner::Kind::Warning, topic);
}

QString MainWindow::bannerText() const {
    return banner_->message();
}

void MainWindow::addRecent(const QString& key, const QString& path) const {
    QSettings settings;
    QStringList recent = settings.value(key).toStringList();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kMaxRecent) recent.removeLast();
    settings.setValue(key, recent);
}

void MainWindow::fillRecentMenu(QMenu* menu, const QString& key, bool models) {
    menu->clear();
    const QStringList recent = QSettings().value(key).toStringList();
    for (const QString& path : recent) {
        QAction* action = menu->addAction(QFileInfo(path).fileName(), this, [this, path, models] {
            models ? openModel(path) : openDocument(path);
        });
        action->setToolTip(path);
        action->setEnabled(QFileInfo(path).isFile());
    }
    if (recent.isEmpty()) menu->addAction(tr("(none)"))->setEnabled(false);
}

void MainWindow::restoreSettings() {
    const QSettings settings;
    const int line = fontMetrics().height();
    if (!restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray()))
        resize(firstWindowSize(screen() ? screen()->availableGeometry().size() : kMinimumWindow));
    if (!mainSplit_->restoreState(settings.value(QStringLiteral("mainSplit")).toByteArray()))
        mainSplit_->setSizes({line * 28, line * 72});
    // Two parts for the document (about nine lines of its text at 1366×768), three for the
    // answers (with the question bar and the panes' headers: about as many lines).
    if (!rightSplit_->restoreState(settings.value(QStringLiteral("rightSplit")).toByteArray()))
        rightSplit_->setSizes({line * 16, line * 24});
    selfExtendPanel_->setWindow(settings.value(QStringLiteral("window"), 256).toInt());
    selfExtendPanel_->setGroup(settings.value(QStringLiteral("group"), 4).toInt());
    // Room for a full answer of a few sentences; answers end earlier at their end of turn.
    constexpr int kDefaultMaxNewTokens = 128;
    comparePane_->setMaxNewTokens(
        settings.value(QStringLiteral("maxNewTokens"), kDefaultMaxNewTokens).toInt());
    comparePane_->setTemperature(settings.value(QStringLiteral("temperature"), 0.0).toDouble());
    comparePane_->setStopAtLineBreak(
        settings.value(QStringLiteral("stopAtLineBreak"), true).toBool());
    comparePane_->vanillaPane()->setTruncated(
        settings.value(QStringLiteral("vanillaTruncated"), false).toBool());
    comparePane_->vanillaPane()->setEnabledForRuns(
        settings.value(QStringLiteral("vanillaEnabled"), true).toBool());
    comparePane_->selfExtendPane()->setEnabledForRuns(
        settings.value(QStringLiteral("selfExtendEnabled"), true).toBool());
    // A GPU saved on a machine that has none (any more): Auto, said once (the next model that
    // loads saves the device it used).
    const int savedDevice = settings.value(QStringLiteral("device"), kDeviceAuto).toInt();
    modelPanel_->setDevice(savedDevice);
    if (savedDevice == kDeviceGpu && modelPanel_->device() != kDeviceGpu)
        showWarning(tr("The GPU chosen in Settings is not available (%1): models run on the CPU.")
                        .arg(QString::fromStdString(gpu_.reason)),
                    Topic::Device);
    modelPanel_->setKvType(engineSettings().kvType);
    selfExtendPanel_->setAnswerReserve(comparePane_->maxNewTokens());
}

QSize MainWindow::firstWindowSize(const QSize& available) {
    // Inside the screen with a margin; sizes are device-independent pixels, so 200% scaling
    // doubles them on the screen as it should.
    return QSize(std::min(kLargestFirstWindow.width(), available.width() * 95 / 100),
                 std::min(kLargestFirstWindow.height(), available.height() * 90 / 100))
        .expandedTo(kMinimumWindow);
}

void MainWindow::saveSettings() const {
    QSettings settings;
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainSplit"), mainSplit_->saveState());
    settings.setValue(QStringLiteral("rightSplit"), rightSplit_->saveState());
    settings.setValue(QStringLiteral("group"), selfExtendPanel_->group());
    settings.setValue(QStringLiteral("window"), selfExtendPanel_->window());
    settings.setValue(QStringLiteral("maxNewTokens"), comparePane_->maxNewTokens());
    settings.setValue(QStringLiteral("temperature"), double(comparePane_->sampling().temperature));
    settings.setValue(QStringLiteral("stopAtLineBreak"), comparePane_->stopAtLineBreak());
    settings.setValue(QStringLiteral("vanillaTruncated"), comparePane_->vanillaPane()->truncated());
    settings.setValue(QStringLiteral("vanillaEnabled"),
                      comparePane_->vanillaPane()->isEnabledForRuns());
    settings.setValue(QStringLiteral("selfExtendEnabled"),
                      comparePane_->selfExtendPane()->isEnabledForRuns());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveSettings();
    stopAll();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) {
        for (const QUrl& url : event->mimeData()->urls()) {
            if (url.isLocalFile()) {
                event->acceptProposedAction();
                return;
            }
        }
    }
}

void MainWindow::dropEvent(QDropEvent* event) {
    for (const QUrl& url : event->mimeData()->urls()) {
        if (!url.isLocalFile()) continue;
        const QString path = url.toLocalFile();
        isModelFile(path) ? openModel(path) : openDocument(path);
    }
    event->acceptProposedAction();
}

}  // namespace studio
