// MainWindow's half of keeping conversations with their document: saved after each question,
// shown again (and followed up on) when the same document is opened with the same model, and
// forgotten on "New conversation". The file format is ConversationStore's.
#include <QFileInfo>
#include <QSettings>
#include <QStatusBar>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DocumentPane.h"
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
            saved.turns.append({turn.question, turn.answer});
    }
    if (conversation.isEmpty()) return;
    QString error;
    if (!conversationStore_.save(key, conversation, &error))
        statusBar()->showMessage(tr("The conversation was not saved: %1").arg(error), 8000);
}

void MainWindow::restoreSavedConversation() {
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
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        const SavedSide& savedSide = saved->sides[size_t(side)];
        if (savedSide.turns.isEmpty()) continue;
        AnswerPane* pane = side == AnswerSide::Vanilla ? comparePane_->vanillaPane()
                                                       : comparePane_->selfExtendPane();
        QList<AnswerPane::Turn> turns;
        QStringList questions, answers;
        for (const SavedTurn& turn : savedSide.turns) {
            turns.append({turn.question, turn.answer});
            questions << turn.question;
            answers << turn.answer;
        }
        pane->restoreConversation(turns, savedSide.settings);
        answered_[int(side)].reset();  // asked in another session: nothing to mark stale
        emit conversationRestoreRequested(side, questions, answers);
    }
    statusBar()->showMessage(tr("Restored the conversation on %1 from the last session")
                                 .arg(QFileInfo(documentPane_->path()).fileName()),
                             8000);
    emit conversationRestored();
}

void MainWindow::forgetSavedConversation() {
    const QString key = conversationKey();
    if (!key.isEmpty()) conversationStore_.remove(key);
}

}  // namespace studio
