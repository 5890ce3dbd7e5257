// MainWindow's runs: a question (and what to do when the document does not fit), Continue and
// Stop, the pass-key and perplexity evaluations, the probe. Each builds its request from the
// widgets and hands it to the controller.
#include <QMessageBox>
#include <QPushButton>
#include <QStatusBar>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "EvaluateTab.h"
#include "Format.h"
#include "MainWindow.h"
#include "NonModalBox.h"
#include "ProbePanel.h"
#include "SelfExtendPanel.h"
#include "StudioController.h"
#include "selfextend/attention_mode.h"

namespace studio {
namespace {

using Topic = ErrorBanner::Topic;

}  // namespace

void MainWindow::ask(FitChoice choice) {
    if (controller_->isAsking()) return;
    if (const QString blocked = controller_->askBlockedReason(); !blocked.isEmpty()) {
        showError(blocked, Topic::Ask);
        askBlockedShown_ = true;  // cleared when a model and document are there
        return;
    }
    AnswerPane* vanilla = comparePane_->vanillaPane();
    AnswerPane* selfExtend = comparePane_->selfExtendPane();
    if (!vanilla->isEnabledForRuns() && !selfExtend->isEnabledForRuns()) {
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
    if (selfExtend->isEnabledForRuns() && !selfExtendPanel_->fits()) {
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
    const EngineSettings settings = engineSettings();
    request.maxNewTokens = comparePane_->maxNewTokens();
    request.sampling = settings.sampling;  // with the temperature from the question bar
    request.stopAtLineBreak = comparePane_->stopAtLineBreak();
    request.runVanilla = vanilla->isEnabledForRuns();
    request.vanillaTruncated = vanilla->truncated();
    request.selfExtend = selfExtendPanel_->attention();
    request.useDiskCache = settings.documentCache;
    request.kvType = settings.kvType;
    request.systemPrompt = settings.systemPrompt;
    // G = 1 is vanilla attention exactly: with vanilla on, one run answers for both.
    const bool selfExtendNeeded = !(request.selfExtend.is_vanilla() && request.runVanilla &&
                                    (selfExtendPanel_->fits() || !request.vanillaTruncated));
    request.runSelfExtend = selfExtend->isEnabledForRuns() && selfExtendNeeded;
    if (comparePane_->restoredOfferShown()) {
        // Asked without continuing the last session's conversation: a new one starts, and the
        // old turns leave the panes (the worker never had them).
        withdrawRestoredConversation();
        vanilla->clearConversation();
        selfExtend->clearConversation();
    }
    for (AnswerPane* answer : {vanilla, selfExtend}) {
        if (answer == selfExtend && answer->isEnabledForRuns() && !selfExtendNeeded)
            answer->markNotNeeded(
                tr("Self-Extend is not needed for this document: the prompt and the answer fit "
                   "in the training window L = %1 (G = 1 is vanilla attention), so the vanilla "
                   "answer is its answer.")
                    .arg(formatCount(controller_->trainingWindow())));
        else if (answer->isEnabledForRuns())
            answer->markQueued(request.question);
        else
            answer->markSkipped();
    }
    statusBar()->showMessage(tr("Asking…"));
    controller_->ask(request);
}

void MainWindow::continueAnswer(AnswerSide side) {
    ContinueRequest request;
    request.side = side;
    request.maxNewTokens = comparePane_->maxNewTokens();
    request.sampling = engineSettings().sampling;
    request.stopAtLineBreak = comparePane_->stopAtLineBreak();
    if (controller_->continueAnswer(request))
        statusBar()->showMessage(tr("Continuing the answer…"));
}

void MainWindow::stopAll() {
    controller_->stopAll();
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

void MainWindow::runProbe() {
    if (controller_->isProbing() || !controller_->askBlockedReason().isEmpty()) return;
    banner_->clear(Topic::Evaluate);
    const StudioController::ProbePlan plan = controller_->probePlan(
        selfExtendPanel_->requiredTokens(), int(probePanel_->depths().size()));
    ProbeRequest request;
    request.candidates = plan.candidates;
    request.depths = probePanel_->depths();
    probePanel_->begin(request.candidates, plan.automatic);
    controller_->runProbe(request);
}

void MainWindow::runPasskey() {
    if (controller_->isEvaluating()) return;
    PasskeyRequest request;
    request.lengths = evaluateTab_->passkeyLengths();
    request.depths = evaluateTab_->passkeyDepths();
    request.trials = evaluateTab_->trials();
    request.selfExtend = selfExtendPanel_->attention();
    if (!lengthsUsable(evaluateTab_->invalidPasskeyLengths(), request.lengths, tr("prompt"),
                       tr("the pass-key test")))
        return;
    confirmLengths(request.lengths, [this, request] {
        banner_->clear(Topic::Evaluate);
        controller_->runPasskey(request);
    });
}

void MainWindow::runPerplexity() {
    if (controller_->isEvaluating()) return;
    PerplexityRequest request;
    request.lengths = evaluateTab_->perplexityLengths();
    request.maxWindows = evaluateTab_->maxWindows();
    request.selfExtend = selfExtendPanel_->attention();
    if (!lengthsUsable(evaluateTab_->invalidPerplexityLengths(), request.lengths, tr("window"),
                       tr("the perplexity run")))
        return;
    confirmLengths(request.lengths, [this, request] {
        banner_->clear(Topic::Evaluate);
        evaluateTab_->beginPerplexityRun();
        controller_->runPerplexity(request);
    });
}

bool MainWindow::lengthsUsable(const QStringList& invalid, const QList<qint64>& lengths,
                               const QString& kind, const QString& run) {
    if (!invalid.isEmpty()) {
        showError(tr("Not %1 lengths: %2. Give whole numbers of tokens above 1, separated by "
                     "commas.")
                      .arg(kind, invalid.join(QStringLiteral(", "))),
                  Topic::Evaluate);
        return false;
    }
    if (lengths.isEmpty()) {
        showError(tr("Enter at least one %1 length for %2.").arg(kind, run), Topic::Evaluate);
        return false;
    }
    banner_->clear(Topic::Evaluate);
    return true;
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
        if (!controller_->isEvaluating()) start();
    });
    capacityBox_->show();
}

}  // namespace studio
