#include "MainWindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeySequence>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DocumentPane.h"
#include "EngineWorker.h"
#include "ErrorBanner.h"
#include "EvaluateTab.h"
#include "Format.h"
#include "ModelPanel.h"
#include "ResourcePaths.h"
#include "SelfExtendPanel.h"
#include "selfextend/attention_mode.h"

namespace studio {
namespace {

constexpr int kMaxRecent = 8;
const QString kDocumentFilter =
    QObject::tr("Documents (*.txt *.md *.markdown *.html *.htm *.pdf);;All files (*)");

bool isModelFile(const QString& path) {
    return QFileInfo(path).suffix().compare(QStringLiteral("gguf"), Qt::CaseInsensitive) == 0;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      worker_(new EngineWorker),
      banner_(new ErrorBanner),
      modelPanel_(new ModelPanel),
      selfExtendPanel_(new SelfExtendPanel),
      documentPane_(new DocumentPane),
      comparePane_(new ComparePane),
      evaluateTab_(new EvaluateTab),
      tabs_(new QTabWidget),
      mainSplit_(new QSplitter(Qt::Horizontal)),
      rightSplit_(new QSplitter(Qt::Vertical)) {
    registerEngineTypes();
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
    tabs_->setDocumentMode(true);

    auto* documentBox = new QWidget;
    auto* documentLayout = new QVBoxLayout(documentBox);
    documentLayout->addWidget(documentPane_);
    rightSplit_->addWidget(documentBox);
    rightSplit_->addWidget(tabs_);
    rightSplit_->setStretchFactor(0, 2);
    rightSplit_->setStretchFactor(1, 3);
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
    connect(modelPanel_, &ModelPanel::openRequested, this, &MainWindow::openModelDialog);
    connect(comparePane_, &ComparePane::askRequested, this, &MainWindow::ask);
    connect(comparePane_, &ComparePane::stopRequested, this, &MainWindow::stopAll);
    connect(comparePane_, &ComparePane::maxNewTokensChanged, this, [this](int tokens) {
        selfExtendPanel_->setAnswerReserve(tokens);
        updateDerivedState();
    });
    connect(comparePane_->vanillaPane(), &AnswerPane::stopRequested, this,
            [this] { vanillaCancel_.cancel(); });
    connect(comparePane_->selfExtendPane(), &AnswerPane::stopRequested, this,
            [this] { selfExtendCancel_.cancel(); });
    connect(comparePane_->vanillaPane(), &AnswerPane::truncatedChanged, this,
            &MainWindow::updateDerivedState);
    connect(selfExtendPanel_, &SelfExtendPanel::settingsChanged, this,
            &MainWindow::updateDerivedState);
    connect(evaluateTab_, &EvaluateTab::passkeyRequested, this, &MainWindow::runPasskey);
    connect(evaluateTab_, &EvaluateTab::perplexityRequested, this, &MainWindow::runPerplexity);
    connect(evaluateTab_, &EvaluateTab::stopRequested, this,
            [this] { evaluationCancel_.cancel(); });
    connect(evaluateTab_, &EvaluateTab::exportFailed, this, &MainWindow::showError);

    worker_->moveToThread(&workerThread_);
    connect(&workerThread_, &QThread::finished, worker_, &QObject::deleteLater);
    workerThread_.start();

    restoreSettings();
    updateDerivedState();
    statusBar()->showMessage(tr("Ready"));
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
    connect(this, &MainWindow::passkeyRequested, worker_, &EngineWorker::runPasskey);
    connect(this, &MainWindow::perplexityRequested, worker_, &EngineWorker::runPerplexity);

    connect(worker_, &EngineWorker::modelLoadStarted, this, [this](const QString& path) {
        modelPanel_->setLoading(path);
        statusBar()->showMessage(tr("Loading %1…").arg(QFileInfo(path).fileName()));
    });
    connect(worker_, &EngineWorker::modelLoadProgress, modelPanel_, &ModelPanel::setProgress);
    connect(worker_, &EngineWorker::modelLoaded, this, [this](const ModelSummary& model) {
        hasModel_ = true;
        trainingWindow_ = model.trainingWindow;
        modelPanel_->setModel(model);
        selfExtendPanel_->setTrainingWindow(model.trainingWindow);
        documentPane_->setTrainingWindow(model.trainingWindow);
        addRecent(QStringLiteral("recentModels"), model.path);
        QSettings().setValue(QStringLiteral("model"), model.path);
        statusBar()->showMessage(tr("Model %1 loaded").arg(model.name), 5000);
        updateDerivedState();
        emit modelReady();
        maybeStartPendingAsk();
    });
    connect(worker_, &EngineWorker::modelLoadFailed, this,
            [this](const QString& path, const QString& message) {
                hasModel_ = false;
                modelPanel_->setLoadFailed(message);
                showError(
                    tr("Could not load the model %1: %2").arg(QFileInfo(path).fileName(), message));
                updateDerivedState();
            });
    connect(worker_, &EngineWorker::documentLoaded, this, [this](const DocumentInfo& document) {
        --pendingDocumentLoads_;
        hasDocument_ = true;
        documentTokens_ = -1;
        documentPane_->setDocument(document);
        setWindowTitle(tr("%1 — SelfExtend Studio").arg(QFileInfo(document.path).fileName()));
        addRecent(QStringLiteral("recentDocuments"), document.path);
        QSettings().setValue(QStringLiteral("document"), document.path);
        if (document.hadInvalidUtf8)
            showWarning(tr("%1 is not valid UTF-8: it was decoded with replacement characters (�).")
                            .arg(QFileInfo(document.path).fileName()));
        updateDerivedState();
        emit documentReady();
        maybeStartPendingAsk();
    });
    connect(worker_, &EngineWorker::documentTokensCounted, this, [this](qint64 tokens) {
        documentTokens_ = tokens;
        documentPane_->setTokenCount(tokens);
        updateDerivedState();
        maybeStartPendingAsk();
    });
    connect(worker_, &EngineWorker::documentLoadFailed, this,
            [this](const QString& path, const QString& message) {
                --pendingDocumentLoads_;
                documentPane_->setTokenCount(documentTokens_);
                showError(tr("Could not open %1: %2").arg(QFileInfo(path).fileName(), message));
                maybeStartPendingAsk();
            });

    const auto pane = [this](AnswerSide side) {
        return side == AnswerSide::Vanilla ? comparePane_->vanillaPane()
                                           : comparePane_->selfExtendPane();
    };
    connect(worker_, &EngineWorker::runStarted, this,
            [pane](AnswerSide side, const QString& settings, qint64 tokens) {
                pane(side)->begin(settings, tokens);
            });
    connect(worker_, &EngineWorker::prefillProgress, this,
            [pane](AnswerSide side, qint64 done, qint64 total, double rate, double eta) {
                pane(side)->setPrefillProgress(done, total, rate, eta);
            });
    connect(worker_, &EngineWorker::tokenGenerated, this,
            [pane](AnswerSide side, const QString& text, qint64 generated, double rate) {
                pane(side)->appendToken(text, generated, rate);
            });
    connect(
        worker_, &EngineWorker::runFinished, this,
        [this, pane](AnswerSide side, const RunStats& stats) {
            pane(side)->finish(stats);
            if (!stats.error.isEmpty())
                showError(tr("%1 run failed: %2")
                              .arg(side == AnswerSide::Vanilla ? tr("Vanilla") : tr("Self-Extend"),
                                   stats.error));
        });
    connect(worker_, &EngineWorker::askFinished, this, [this] {
        asking_ = false;
        for (auto* answer : {comparePane_->vanillaPane(), comparePane_->selfExtendPane()})
            if (answer->isRunning()) answer->markNotRun();
        updateBusy();
        statusBar()->showMessage(tr("Answers finished"), 5000);
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
        updateBusy();
        statusBar()->showMessage(cancelled ? tr("Evaluation stopped") : tr("Evaluation finished"),
                                 5000);
        emit evaluationDone();
    });
    connect(worker_, &EngineWorker::failed, this,
            [this](const QString& context, const QString& message) {
                showError(tr("%1: %2").arg(context, message));
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
    QMenu* recentDocuments = file->addMenu(tr("Recent &Documents"));
    QMenu* recentModels = file->addMenu(tr("Recent M&odels"));
    connect(recentDocuments, &QMenu::aboutToShow, this,
            [this, recentDocuments] { fillRecentMenu(recentDocuments, "recentDocuments", false); });
    connect(recentModels, &QMenu::aboutToShow, this,
            [this, recentModels] { fillRecentMenu(recentModels, "recentModels", true); });
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    askAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Ask"), this,
                                &MainWindow::ask);
    askAction_->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    stopAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("&Stop"), this,
                                 &MainWindow::stopAll);
    stopAction_->setShortcut(QKeySequence(Qt::Key_Escape));
    stopAction_->setEnabled(false);
    run->addSeparator();
    run->addAction(tr("&Auto Self-Extend Settings"), selfExtendPanel_, &SelfExtendPanel::autoPick);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(
            this, tr("About SelfExtend Studio"),
            tr("<b>SelfExtend Studio</b><p>Ask long documents questions with a model "
               "whose training window is shorter than the document, using "
               "Self-Extend (Jin et al., ICML 2024): grouped positions past a "
               "neighbour window W keep every distance inside the trained range.</p>"));
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
    if (options.group) selfExtendPanel_->setGroup(*options.group);
    if (options.window) selfExtendPanel_->setWindow(*options.window);
    pendingQuestion_ = options.askQuestion;
    screenshotPath_ = options.screenshotPath;
    autoPickPending_ = !pendingQuestion_.isEmpty() && !options.group;
    if (!pendingQuestion_.isEmpty()) comparePane_->setQuestion(pendingQuestion_);

    QString model = options.modelPath;
    if (model.isEmpty()) {
        const QString last = settings.value(QStringLiteral("model")).toString();
        model = QFileInfo(last).isFile() ? last : findBundledModel();
    }
    if (model.isEmpty())
        showError(tr("The bundled demo model (%1) was not found. Open a GGUF model with "
                     "File ▸ Open Model.")
                      .arg(kDemoModelFile));
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
    ++pendingDocumentLoads_;
    documentPane_->setLoading(path);
    statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(path).fileName()));
    emit documentRequested(path);
}

void MainWindow::openModel(const QString& path) {
    hasModel_ = false;
    emit modelRequested(path, modelPanel_->device());
}

void MainWindow::openDocumentDialog() {
    const QString dir = QFileInfo(documentPane_->path()).absolutePath();
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open Document"), dir, kDocumentFilter);
    if (!path.isEmpty()) openDocument(path);
}

void MainWindow::openModelDialog() {
    const QString dir = QFileInfo(modelPanel_->model().path).absolutePath();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), dir,
                                                      tr("GGUF models (*.gguf);;All files (*)"));
    if (!path.isEmpty()) openModel(path);
}

void MainWindow::ask() {
    if (asking_) return;
    if (!comparePane_->vanillaPane()->isEnabledForRuns() &&
        !comparePane_->selfExtendPane()->isEnabledForRuns()) {
        showError(tr("Both answers are switched off: tick Vanilla or Self-Extend."));
        return;
    }
    AskRequest request;
    request.question = comparePane_->question();
    if (request.question.isEmpty()) {
        showError(tr("Type a question first."));
        return;
    }
    request.maxNewTokens = comparePane_->maxNewTokens();
    request.sampling = comparePane_->sampling();
    request.stopAtLineBreak = comparePane_->stopAtLineBreak();
    request.runVanilla = comparePane_->vanillaPane()->isEnabledForRuns();
    request.vanillaTruncated = comparePane_->vanillaPane()->truncated();
    request.runSelfExtend = comparePane_->selfExtendPane()->isEnabledForRuns();
    request.group = selfExtendPanel_->group();
    request.window = selfExtendPanel_->window();
    vanillaCancel_ = request.vanillaCancel;
    selfExtendCancel_ = request.selfExtendCancel;
    for (auto* answer : {comparePane_->vanillaPane(), comparePane_->selfExtendPane()}) {
        if (answer->isEnabledForRuns())
            answer->markQueued();
        else
            answer->markSkipped();
    }
    asking_ = true;
    updateBusy();
    statusBar()->showMessage(tr("Asking…"));
    emit askRequested(request);
}

void MainWindow::stopAll() {
    // Direct calls, not queued: the worker is busy inside the very loop that must see them.
    vanillaCancel_.cancel();
    selfExtendCancel_.cancel();
    evaluationCancel_.cancel();
}

void MainWindow::runPasskey() {
    if (evaluating_) return;
    PasskeyRequest request;
    request.lengths = evaluateTab_->passkeyLengths();
    request.depths = evaluateTab_->passkeyDepths();
    request.trials = evaluateTab_->trials();
    request.group = selfExtendPanel_->group();
    request.window = selfExtendPanel_->window();
    if (request.lengths.isEmpty()) {
        showError(tr("Enter at least one prompt length for the pass-key test."));
        return;
    }
    evaluationCancel_ = request.cancel;
    evaluating_ = true;
    updateBusy();
    emit passkeyRequested(request);
}

void MainWindow::runPerplexity() {
    if (evaluating_) return;
    PerplexityRequest request;
    request.lengths = evaluateTab_->perplexityLengths();
    request.maxWindows = evaluateTab_->maxWindows();
    request.group = selfExtendPanel_->group();
    request.window = selfExtendPanel_->window();
    if (request.lengths.isEmpty()) {
        showError(tr("Enter at least one window length for the perplexity run."));
        return;
    }
    evaluationCancel_ = request.cancel;
    evaluating_ = true;
    updateBusy();
    emit perplexityRequested(request);
}

void MainWindow::updateBusy() {
    comparePane_->setBusy(asking_);
    evaluateTab_->setBusy(evaluating_);
    askAction_->setEnabled(!asking_);
    stopAction_->setEnabled(asking_ || evaluating_);
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
}

void MainWindow::maybeStartPendingAsk() {
    if (pendingQuestion_.isEmpty() || !hasModel_ || pendingDocumentLoads_ > 0) return;
    if (hasDocument_ && documentTokens_ < 0) return;  // wait for the token count
    if (autoPickPending_) selfExtendPanel_->autoPick();
    pendingQuestion_.clear();
    ask();
}

void MainWindow::finishScreenshot() {
    const QString path = screenshotPath_;
    screenshotPath_.clear();
    qInfo("vanilla: %s", qPrintable(comparePane_->vanillaPane()->answer().simplified()));
    qInfo("self-extend: %s", qPrintable(comparePane_->selfExtendPane()->answer().simplified()));
    // One more turn of the event loop so the last tokens and labels are painted.
    QTimer::singleShot(200, this, [this, path] {
        const bool saved = grab().save(path, "PNG");
        if (!saved) qWarning("could not write the screenshot to %s", qPrintable(path));
        QApplication::exit(saved ? 0 : 1);
    });
}

void MainWindow::showError(const QString& message) {
    lastError_ = message;
    banner_->showMessage(message, ErrorBanner::Kind::Error);
    statusBar()->showMessage(message, 10000);
    // Non-modal, so long runs and tests carry on; one box is reused for a burst of errors.
    if (!errorBox_) {
        errorBox_ = new QMessageBox(QMessageBox::Warning, tr("SelfExtend Studio"), message,
                                    QMessageBox::Ok, this);
        errorBox_->setObjectName("errorBox");
        errorBox_->setAttribute(Qt::WA_DeleteOnClose);
        errorBox_->setWindowModality(Qt::NonModal);
    }
    errorBox_->setText(message);
    errorBox_->show();
    emit errorShown(message);
    if (!screenshotPath_.isEmpty() && !hasModel_) {
        screenshotPath_.clear();
        QApplication::exit(1);
    }
}

void MainWindow::showWarning(const QString& message) {
    banner_->showMessage(message, ErrorBanner::Kind::Warning);
    statusBar()->showMessage(message, 10000);
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
        resize(line * 100, line * 62);  // font-relative, so 200% scaling gets a 200% window
    if (!mainSplit_->restoreState(settings.value(QStringLiteral("mainSplit")).toByteArray()))
        mainSplit_->setSizes({line * 28, line * 72});
    rightSplit_->restoreState(settings.value(QStringLiteral("rightSplit")).toByteArray());
    selfExtendPanel_->setWindow(settings.value(QStringLiteral("window"), 256).toInt());
    selfExtendPanel_->setGroup(settings.value(QStringLiteral("group"), 4).toInt());
    comparePane_->setMaxNewTokens(settings.value(QStringLiteral("maxNewTokens"), 48).toInt());
    comparePane_->setTemperature(settings.value(QStringLiteral("temperature"), 0.0).toDouble());
    comparePane_->setStopAtLineBreak(
        settings.value(QStringLiteral("stopAtLineBreak"), true).toBool());
    comparePane_->vanillaPane()->setTruncated(
        settings.value(QStringLiteral("vanillaTruncated"), false).toBool());
    comparePane_->vanillaPane()->setEnabledForRuns(
        settings.value(QStringLiteral("vanillaEnabled"), true).toBool());
    comparePane_->selfExtendPane()->setEnabledForRuns(
        settings.value(QStringLiteral("selfExtendEnabled"), true).toBool());
    modelPanel_->setDevice(settings.value(QStringLiteral("device"), 0).toInt());
    selfExtendPanel_->setAnswerReserve(comparePane_->maxNewTokens());
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
    settings.setValue(QStringLiteral("device"), modelPanel_->device());
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
