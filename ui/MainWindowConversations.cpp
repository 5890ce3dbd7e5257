// MainWindow's half of keeping conversations with their document: saved after each question,
// shown again when the same document is opened with the same model (each turn with what it was
// answered with) and offered, followed up on only when the user continues it, and forgotten on
// "New conversation". The file format is ConversationStore's.
#include <QFileInfo>
#include <QSettings>
#include <QStatusBar>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DocumentPane.h"
#include "Format.h"
#include "MainWindow.h"
#include "ModelPanel.h"
#include "StudioController.h"

namespace studio {
namespace {

// Off in tests that must start each window afresh; on for users.
bool keepingConversations() {
    return QSettings().value(QStringLiteral("saveConversations"), true).toBool();
}

// A saved turn answered in another mode (vanilla, or other G and W) than the pane's today.
bool differsInMode(const SavedTurn& turn, const AnswerPane& pane) {
    return AnswerPane::runMode(turn.settings) != AnswerPane::runMode(pane.settingsText());
}

}  // namespace

QString MainWindow::savedConversationPath() const {
    return controller_->savedConversationPath();
}

void MainWindow::saveConversation() {
    if (controller_->conversationKey().isEmpty() || !keepingConversations()) return;
    SavedConversation conversation;
    conversation.documentName = QFileInfo(documentPane_->path()).fileName();
    conversation.modelName = QFileInfo(controller_->modelPath()).fileName();
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        SavedSide& saved = conversation.sides[size_t(side)];
        saved.settings = pane(side)->settingsText();
        for (const AnswerPane::Turn& turn : pane(side)->turns())
            saved.turns.append({turn.question, turn.answer, turn.settings});
    }
    if (conversation.isEmpty()) return;
    QString error;
    if (!controller_->saveConversation(conversation, &error))
        statusBar()->showMessage(tr("The conversation was not saved: %1").arg(error), 8000);
}

void MainWindow::restoreSavedConversation() {
    // Another document or model: the worker's conversations are over, and the panes' too (the
    // next question must not show the old turns above it), and an old offer is not for it.
    withdrawRestoredConversation();
    if (controller_->isAsking()) return;
    pane(AnswerSide::Vanilla)->endConversation();
    pane(AnswerSide::SelfExtend)->endConversation();
    if (!keepingConversations()) return;
    QString error;
    const std::optional<SavedConversation> saved = controller_->loadConversation(&error);
    if (!error.isEmpty()) {
        // A damaged file costs the old answers, nothing else: the next question replaces it.
        statusBar()->showMessage(
            tr("The saved conversation on %1 could not be read (%2); it was ignored.")
                .arg(QFileInfo(documentPane_->path()).fileName(), error),
            10000);
        return;
    }
    if (!saved || saved->isEmpty()) return;
    const QString document = QFileInfo(documentPane_->path()).fileName();
    QStringList answeredWith;  // each side's settings, where they differ from today's
    int turnCount = 0;
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        const SavedSide& savedSide = saved->sides[size_t(side)];
        controller_->offerRestoredTurns(side, savedSide.turns);
        if (savedSide.turns.isEmpty()) continue;
        QList<AnswerPane::Turn> turns;
        for (const SavedTurn& turn : savedSide.turns) {
            turns.append({turn.question, turn.answer, turn.settings, true});
            if (differsInMode(turn, *pane(side)) && !answeredWith.contains(turn.settings))
                answeredWith << turn.settings;
        }
        turnCount = std::max(turnCount, int(turns.size()));
        pane(side)->restoreConversation(turns);
        controller_->forgetAnswerContext(side);  // asked in another session: never stale
    }
    QString summary = tr("The last session's conversation on %1 (%2). Continue it, or ask to "
                         "start a new one.")
                          .arg(document, formatTurns(turnCount));
    if (!answeredWith.isEmpty())
        summary += QLatin1Char(' ') + tr("It was answered with %1, not today's settings: "
                                         "continuing sends those answers to the model as they are.")
                                          .arg(answeredWith.join(tr("; ")));
    comparePane_->offerRestoredConversation(summary);
    statusBar()->showMessage(tr("The conversation on %1 from the last session is shown: continue "
                                "it, or ask to start a new one")
                                 .arg(document),
                             8000);
    emit conversationRestored();
}

void MainWindow::continueRestoredConversation() {
    QStringList changed;  // the modes the offered answers were made with, where not today's
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend})
        for (const SavedTurn& turn : controller_->restoredTurns(side))
            if (const QString mode = AnswerPane::runMode(turn.settings);
                differsInMode(turn, *pane(side)) && !changed.contains(mode))
                changed << mode;
    controller_->continueRestoredTurns();
    statusBar()->showMessage(
        changed.isEmpty()
            ? tr("The next question follows up on the last session's conversation")
            : tr("The next question follows up on the last session's conversation, whose answers "
                 "were made with %1 (sent as they are)")
                  .arg(changed.join(tr("; "))),
        10000);
}

void MainWindow::withdrawRestoredConversation() {
    controller_->withdrawRestoredTurns();
    comparePane_->withdrawRestoredOffer();
}

}  // namespace studio
