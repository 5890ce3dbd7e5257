#include "MainWindow.h"

#include <QApplication>
#include <QCloseEvent>
#include <QFileInfo>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QVBoxLayout>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DeviceChoice.h"
#include "DocumentPane.h"
#include "ErrorBanner.h"
#include "EvaluateTab.h"
#include "Format.h"
#include "ModelPanel.h"
#include "NonModalBox.h"
#include "OpenedFiles.h"
#include "ProbePanel.h"
#include "ResourcePaths.h"
#include "SelfExtendPanel.h"
#include "SourcesBar.h"
#include "StudioController.h"

namespace studio {
namespace {

using Topic = ErrorBanner::Topic;

}  // namespace

MainWindow::MainWindow(QWidget* parent) : MainWindow(selfextend::gpu_availability(), parent) {}

MainWindow::MainWindow(const selfextend::GpuAvailability& gpu, QWidget* parent)
    : QMainWindow(parent),
      controller_(new StudioController(this)),
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
    modelPanel_->setGpuAvailability(gpu_);
    setWindowTitle(tr("SelfExtend Studio"));
    setAcceptDrops(true);
    buildLayout();
    createActions();
    connectWidgets();
    connectModelAndDocument();
    connectRuns();
    connect(controller_, &StudioController::busyChanged, this, &MainWindow::updateBusy);
    restoreSettings();
    updateDerivedState();
    statusBar()->showMessage(tr("Ready"), 3000);
}

MainWindow::~MainWindow() {
    // First, before any widget goes: the controller stops what runs and waits for the worker.
    delete controller_;
}

bool MainWindow::hasModel() const {
    return controller_->hasModel();
}

bool MainWindow::isAsking() const {
    return controller_->isAsking();
}

bool MainWindow::isEvaluating() const {
    return controller_->isEvaluating();
}

AnswerPane* MainWindow::pane(AnswerSide side) const {
    return side == AnswerSide::Vanilla ? comparePane_->vanillaPane()
                                       : comparePane_->selfExtendPane();
}

void MainWindow::buildLayout() {
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
}

void MainWindow::connectWidgets() {
    connect(documentPane_, &DocumentPane::openRequested, this, &MainWindow::openDocumentDialog);
    documentPane_->setSampleAvailable(!findSampleDocument().isEmpty());
    connect(documentPane_, &DocumentPane::sampleRequested, this, [this] {
        openDocument(findSampleDocument());
        // The question the link names, ready to ask (unless one is typed already).
        if (comparePane_->question().isEmpty())
            comparePane_->setQuestion(tr("What is the door code?"));
    });
    connect(modelPanel_, &ModelPanel::openRequested, this, [this] { showModelPicker(); });
    connect(modelPanel_, &ModelPanel::promptFormatChosen, controller_,
            &StudioController::setPromptFormat);
    connect(comparePane_, &ComparePane::askRequested, this, [this] { ask(); });
    connect(comparePane_, &ComparePane::stopRequested, this, &MainWindow::stopAll);
    connect(comparePane_, &ComparePane::newConversationRequested, controller_,
            &StudioController::newConversation);
    connect(comparePane_, &ComparePane::continueConversationRequested, this,
            &MainWindow::continueRestoredConversation);
    connect(comparePane_, &ComparePane::maxNewTokensChanged, this, [this](int tokens) {
        selfExtendPanel_->setAnswerReserve(tokens);
        // A longer answer may no longer fit: then G and W follow (unless pinned).
        if (!selfExtendPanel_->fits()) selfExtendPanel_->fitDocument();
        updateDerivedState();
    });
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        connect(pane(side), &AnswerPane::stopRequested, controller_,
                [this, side] { controller_->stopAnswer(side); });
        connect(pane(side), &AnswerPane::continueRequested, this,
                [this, side] { continueAnswer(side); });
        connect(pane(side)->sourcesBar(), &SourcesBar::sourceRequested, this,
                [this, side](int index) { documentPane_->showSource(side, index); });
    }
    connect(comparePane_->vanillaPane(), &AnswerPane::truncatedChanged, this,
            &MainWindow::updateDerivedState);
    connect(selfExtendPanel_, &SelfExtendPanel::settingsChanged, this, [this] {
        if (selfExtendPanel_->window() < controller_->trainingWindow())
            banner_->clear(Topic::Settings);
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
    connect(evaluateTab_, &EvaluateTab::stopRequested, controller_,
            &StudioController::stopEvaluation);
    connect(evaluateTab_, &EvaluateTab::exportFailed, this,
            [this](const QString& message) { showError(message, Topic::Evaluate); });
    connect(probePanel_, &ProbePanel::probeRequested, this, &MainWindow::runProbe);
    connect(probePanel_, &ProbePanel::stopRequested, controller_, &StudioController::stopProbe);
    connect(probePanel_, &ProbePanel::applyRequested, this, [this](int group, int window) {
        // The user chose them: a new document or answer length leaves them alone.
        selfExtendPanel_->setWindow(window);
        selfExtendPanel_->setGroup(group);
        selfExtendPanel_->pin(true, true);
        statusBar()->showMessage(tr("G = %1, W = %2 from the probe").arg(group).arg(window), 5000);
    });
}

void MainWindow::connectModelAndDocument() {
    const StudioController* c = controller_;
    connect(c, &StudioController::modelLoadStarted, this, [this](const QString& path) {
        modelPanel_->setLoading(path);
        statusBar()->showMessage(tr("Loading %1…").arg(QFileInfo(path).fileName()));
    });
    connect(c, &StudioController::modelLoadProgress, modelPanel_, &ModelPanel::setProgress);
    connect(c, &StudioController::modelLoaded, this, [this](const ModelSummary& model) {
        banner_->clear(Topic::Model);
        modelPanel_->setModel(model);
        selfExtendPanel_->setPromptFraming(model.promptFramingTokens);
        comparePane_->setPlainPromptFormat(model.chatFormat == QLatin1String("plain"));
        selfExtendPanel_->modelChanging();  // hand-set G and W re-fit unless locked
        selfExtendPanel_->setAutoProfile(model.autoProfile);
        documentPane_->setTrainingWindow(model.trainingWindow());
        addRecent(QStringLiteral("recentModels"), model.path);
        QSettings().setValue(QStringLiteral("model"), model.path);
        statusBar()->showMessage(tr("Model %1 loaded").arg(model.name), 5000);
        updateDerivedState();
        restoreSavedConversation();
        emit modelReady();
        maybeStartPendingAsk();
    });
    connect(c, &StudioController::promptFormatChanged, this,
            [this](const QString& name, int framingTokens) {
                modelPanel_->setPromptFormat(name);
                selfExtendPanel_->setPromptFraming(framingTokens);
                // Other markup around the document: the worker starts new conversations.
                pane(AnswerSide::Vanilla)->endConversation();
                pane(AnswerSide::SelfExtend)->endConversation();
                comparePane_->setPlainPromptFormat(promptFormatInUse() == QLatin1String("plain"));
                updateDerivedState();
            });
    connect(c, &StudioController::gpuFailed, this,
            [this](const QString& path, const QString& message) {
                modelPanel_->setDevice(kDeviceAuto);
                showWarning(tr("The GPU could not load %1 (%2): it runs on the CPU instead.")
                                .arg(QFileInfo(path).fileName(), message),
                            Topic::Device);
            });
    connect(c, &StudioController::modelLoadFailed, this,
            [this](const QString& path, const QString& message) {
                modelPanel_->setLoadFailed(message);
                const QString kept = controller_->hasModel()
                                         ? tr(" Still using %1.").arg(modelPanel_->model().name)
                                         : QString();
                statusBar()->clearMessage();  // "Loading …" is over; the banner says why
                showError(tr("Could not load the model %1: %2.%3")
                              .arg(QFileInfo(path).fileName(), message, kept),
                          Topic::Model);
                updateDerivedState();
            });
    connect(c, &StudioController::documentLoaded, this, [this](const DocumentInfo& document) {
        const QString name = QFileInfo(document.path).fileName();
        banner_->clear(Topic::Document);
        statusBar()->showMessage(document.encoding.isEmpty()
                                     ? tr("Opened %1").arg(name)
                                     : tr("Opened %1, read as %2 (detected: it is not UTF-8)")
                                           .arg(name, document.encoding),
                                 4000);
        documentPane_->setDocument(document);
        evaluateTab_->setDocument(name);
        restoreSavedConversation();
        setWindowTitle(tr("%1 — SelfExtend Studio").arg(name));
        addRecent(QStringLiteral("recentDocuments"), document.path);
        QSettings().setValue(QStringLiteral("document"), document.path);
        if (document.hadInvalidUtf8)
            showWarning(tr("%1 is not valid UTF-8: it was decoded with replacement characters (�).")
                            .arg(name),
                        Topic::Document);
        updateDerivedState();
        emit documentReady();
        maybeStartPendingAsk();
    });
    connect(c, &StudioController::documentTokensCounted, this, [this](qint64 tokens) {
        documentPane_->setTokenCount(tokens);
        updateDerivedState();
        // G and W that fit this document (and model), unless the user pinned them.
        selfExtendPanel_->fitDocument();
        maybeStartPendingAsk();
    });
    connect(c, &StudioController::documentLoadFailed, this,
            [this](const QString& path, const QString& message) {
                documentPane_->setTokenCount(controller_->documentTokens());
                statusBar()->clearMessage();  // "Opening …" is over; the banner says why
                showError(tr("Could not open %1: %2").arg(QFileInfo(path).fileName(), message),
                          Topic::Document);
                maybeStartPendingAsk();
            });
}

void MainWindow::connectRuns() {
    const StudioController* c = controller_;
    connect(c, &StudioController::continueStarted, this,
            [this](AnswerSide side, const QString& settings) { pane(side)->resume(settings); });
    connect(c, &StudioController::runStarted, this,
            [this](AnswerSide side, const QString& settings, qint64 tokens, bool followUp) {
                pane(side)->begin(settings, tokens, followUp);
            });
    connect(c, &StudioController::prefillProgress, this,
            [this](AnswerSide side, qint64 done, qint64 total, double rate, double eta,
                   double etaHigh) {
                pane(side)->setPrefillProgress(done, total, rate, eta, etaHigh);
            });
    connect(c, &StudioController::tokenGenerated, this,
            [this](AnswerSide side, const QString& text, qint64 generated, double rate) {
                pane(side)->appendToken(text, generated, rate);
            });
    connect(
        c, &StudioController::runFinished, this, [this](AnswerSide side, const RunStats& stats) {
            pane(side)->finish(stats);
            if (!stats.error.isEmpty())
                showError(tr("%1 run failed: %2")
                              .arg(side == AnswerSide::Vanilla ? tr("Vanilla") : tr("Self-Extend"),
                                   stats.error),
                          Topic::Ask);
        });
    // Where each answer came from: its passages highlighted in the document, buttons to them.
    connect(c, &StudioController::sourcesFound, this,
            [this](AnswerSide side, const AnswerSources& sources) {
                documentPane_->setSources(side, sources.passages);
                pane(side)->sourcesBar()->setSources(sources, documentPane_->text());
            });
    connect(c, &StudioController::askFinished, this, [this] {
        for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend})
            if (pane(side)->isRunning()) pane(side)->markNotRun();
        updateStaleness();
        saveConversation();
        statusBar()->showMessage(controller_->askStopped() ? tr("Stopped") : tr("Answers finished"),
                                 5000);
        emit askDone();
    });

    connect(c, &StudioController::evaluationProgress, evaluateTab_, &EvaluateTab::setProgress);
    connect(c, &StudioController::passkeyFinished, evaluateTab_, &EvaluateTab::showPasskeyResults);
    connect(c, &StudioController::perplexityPoint, evaluateTab_, &EvaluateTab::addPerplexityPoint);
    connect(c, &StudioController::evaluationFinished, this, [this](bool cancelled, bool ok) {
        evaluateTab_->finishRun(ok);
        statusBar()->showMessage(cancelled ? tr("Evaluation stopped") : tr("Evaluation finished"),
                                 5000);
        emit evaluationDone();
    });
    connect(c, &StudioController::probeProgress, probePanel_, &ProbePanel::setProgress);
    connect(c, &StudioController::probeFinished, this,
            [this](const ProbeResults& results, bool cancelled) {
                probePanel_->showResults(results, cancelled);
                statusBar()->showMessage(cancelled ? tr("Probe stopped") : tr("Probe finished"),
                                         5000);
                emit probeDone();
            });
    connect(c, &StudioController::failed, this,
            [this](const QString& context, const QString& message) {
                showError(tr("%1: %2").arg(context, message),
                          controller_->isEvaluating() ? Topic::Evaluate
                          : controller_->isAsking()   ? Topic::Ask
                                                      : Topic::Document);
            });
}

void MainWindow::start(const StartupOptions& options) {
    const QSettings settings;
    // The command line pins what it sets: documents and models then leave it alone.
    if (options.group) selfExtendPanel_->setGroup(*options.group);
    if (options.window) selfExtendPanel_->setWindow(*options.window);
    selfExtendPanel_->pin(options.group.has_value(), options.window.has_value());
    pendingQuestion_ = options.askQuestion;
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
    documentPane_->setLoading(path);
    statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(path).fileName()));
    controller_->openDocument(path);
}

void MainWindow::openModel(const QString& path) {
    controller_->openModel(path, modelPanel_->device(),
                           QSettings().value(QStringLiteral("threads"), 0).toInt());
}

void MainWindow::updateBusy() {
    const QString blocked = controller_->askBlockedReason();
    if (blocked.isEmpty() && askBlockedShown_) {
        banner_->clear(Topic::Ask);
        askBlockedShown_ = false;
    }
    const bool asking = controller_->isAsking();
    comparePane_->setBusy(asking);
    comparePane_->setAskBlocked(blocked);
    evaluateTab_->setBusy(controller_->isEvaluating());
    probePanel_->setBlocked(blocked);
    const StudioController::ProbePlan probePlan = controller_->probePlan(
        selfExtendPanel_->requiredTokens(), int(probePanel_->depths().size()));
    probePanel_->setCost(int(probePlan.candidates.size()), probePlan.tokensPerReading,
                         probePlan.estimatedSeconds);
    probePanel_->setBusy(controller_->isProbing());
    askAction_->setEnabled(!asking && blocked.isEmpty());
    askAction_->setToolTip(blocked.isEmpty() ? tr("Ask (Ctrl+Return)") : blocked);
    stopAction_->setEnabled(controller_->isBusy());
}

void MainWindow::updateStaleness() {
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        AnswerPane* answer = pane(side);
        answer->setStale(answer->isRunning() || !answer->hasResult()
                             ? QString()
                             : controller_->staleness(side, selfExtendPanel_->attention()));
    }
}

void MainWindow::updateDerivedState() {
    const qint64 L = controller_->trainingWindow();
    const qint64 capacity = selfExtendPanel_->capacity();
    selfExtendPanel_->setDocumentTokens(controller_->documentTokens());
    documentPane_->setCapacity(capacity);
    modelPanel_->setRequiredTokens(selfExtendPanel_->requiredTokens());
    evaluateTab_->setSelfExtend(selfExtendPanel_->group(), selfExtendPanel_->window());
    evaluateTab_->setLimits(L, capacity);

    const qint64 needed = selfExtendPanel_->requiredTokens();
    QString vanilla;
    if (comparePane_->vanillaPane()->truncated())
        vanilla = tr("vanilla, truncated to the window L = %1 (the question is kept)")
                      .arg(formatCount(L));
    else if (needed > L)
        vanilla = tr("vanilla, overflowing: about %1 tokens past L = %2")
                      .arg(formatCount(needed - L), formatCount(L));
    else
        vanilla = tr("vanilla, inside L = %1").arg(formatCount(L));
    comparePane_->vanillaPane()->setPlannedSettings(vanilla);
    comparePane_->selfExtendPane()->setPlannedSettings(tr("Self-Extend G=%1 W=%2, capacity %3%4")
                                                           .arg(selfExtendPanel_->group())
                                                           .arg(selfExtendPanel_->window())
                                                           .arg(formatCount(capacity))
                                                           .arg(needed < 0 ? QString()
                                                                : selfExtendPanel_->fits()
                                                                    ? tr(" (fits)")
                                                                    : tr(" (does not fit)")));
    updateStaleness();
    updateBusy();
}

void MainWindow::maybeStartPendingAsk() {
    if (pendingQuestion_.isEmpty() || !controller_->readyToAsk()) return;
    pendingQuestion_.clear();
    ask();  // G and W were fitted to the document unless the command line pinned them
}

void MainWindow::showError(const QString& message, Topic topic) {
    // One place: the banner (no dialog, no status-bar copy), until its topic is resolved.
    lastError_ = message;
    banner_->showMessage(message, ErrorBanner::Kind::Error, topic);
    emit errorShown(message);
}

void MainWindow::showWarning(const QString& message, Topic topic) {
    banner_->showMessage(message, ErrorBanner::Kind::Warning, topic);
}

QString MainWindow::bannerText() const {
    return banner_->message();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveSettings();
    stopAll();
    event->accept();
}

}  // namespace studio
