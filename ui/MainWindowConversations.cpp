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

namespace studio {
namespace {

// Off in tests that must start each window afresh; on for users.
bool keepingConversations() {
    return QSettings().value(QStringLiteral("saveConversations"), true).toBool();
}

}  // namespace

QString MainWindow::conversationKey() const {
    if (documentDigest_.isEmpty() || !modelPanel_->hasModel()) return {};
    return ConversationStore::key(documentDigest_, modelPanel_->model().path);
}

QString MainWindow::savedConversationPath() const {
    const QString key = conversationKey();
    return key.isEmpty() ? QString() : conversationStore_.pathFor(key);
}

void MainWindow::saveConversation() {
    const QString key = conversationKey();
    if (key.isEmpty() || !keepingConversations()) return;
    SavedConversation conversation;
    conversation.documentName = QFileInfo(documentPane_->path()).fileName();
    conversation.modelName = QFileInfo(modelPanel_->model().path).fileName();
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        const AnswerPane* pane = side == AnswerSide::Vanilla ? comparePane_->vanillaPane()
                                                             : comparePane_->selfExtendPane();
        SavedSide& saved = conversation.sides[size_t(side)];
        saved.settings = pane->settingsText();
        for (const AnswerPane::Turn& turn : pane->turns())
            saved.turns.append({turn.question, turn.answer, turn.settings});
    }
    if (conversation.isEmpty()) return;
    QString error;
    if (!conversationStore_.save(key, conversation, &error))
        statusBar()->showMessage(tr("The conversation was not saved: %1").arg(error), 8000);
}

void MainWindow::restoreSavedConversation() {
    // Another document or model: the worker's conversations are over, and the panes' too (the
    // next question must not show the old turns above it), and an old offer is not for it.
    withdrawRestoredConversation();
    if (!asking_) {
        comparePane_->vanillaPane()->endConversation();
        comparePane_->selfExtendPane()->endConversation();
    }
    const QString key = conversationKey();
    if (key.isEmpty() || !keepingConversations() || asking_) return;
    QString error;
    const std::optional<SavedConversation> saved = conversationStore_.load(key, &error);
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
        restoredTurns_[size_t(side)] = savedSide.turns;
        if (savedSide.turns.isEmpty()) continue;
        AnswerPane* pane = side == AnswerSide::Vanilla ? comparePane_->vanillaPane()
                                                       : comparePane_->selfExtendPane();
        QList<AnswerPane::Turn> turns;
        for (const SavedTurn& turn : savedSide.turns) {
            turns.append({turn.question, turn.answer, turn.settings, true});
            if (AnswerPane::runMode(turn.settings) != AnswerPane::runMode(pane->settingsText()) &&
                !answeredWith.contains(turn.settings))
                answeredWith << turn.settings;
        }
        turnCount = std::max(turnCount, int(turns.size()));
        pane->restoreConversation(turns);
        answered_[int(side)].reset();  // asked in another session: nothing to mark stale
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
    QStringList changed;
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        const QList<SavedTurn>& turns = restoredTurns_[size_t(side)];
        if (turns.isEmpty()) continue;
        const AnswerPane* pane = side == AnswerSide::Vanilla ? comparePane_->vanillaPane()
                                                             : comparePane_->selfExtendPane();
        QStringList questions, answers;
        for (const SavedTurn& turn : turns) {
            questions << turn.question;
            answers << turn.answer;
            if (AnswerPane::runMode(turn.settings) != AnswerPane::runMode(pane->settingsText()) &&
                !changed.contains(AnswerPane::runMode(turn.settings)))
                changed << AnswerPane::runMode(turn.settings);
        }
        emit conversationRestoreRequested(side, questions, answers);
    }
    restoredTurns_ = {};
    statusBar()->showMessage(
        changed.isEmpty()
            ? tr("The next question follows up on the last session's conversation")
            : tr("The next question follows up on the last session's conversation, whose answers "
                 "were made with %1 (sent as they are)")
                  .arg(changed.join(tr("; "))),
        10000);
}

void MainWindow::withdrawRestoredConversation() {
    restoredTurns_ = {};
    comparePane_->withdrawRestoredOffer();
}

void MainWindow::forgetSavedConversation() {
    const QString key = conversationKey();
    if (!key.isEmpty()) conversationStore_.remove(key);
}

}  // namespace studio
