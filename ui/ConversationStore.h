// Conversations kept with their document: both sides' questions and answers, with the settings
// each ran with, saved as JSON under the app's data folder and read back when the same document
// is opened again with the same model.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <array>
#include <optional>

namespace studio {

struct SavedTurn {
    QString question;
    QString answer;
    QString settings;  // what it was answered with ("Self-Extend G=3 W=1024, capacity …")
};

// One side (vanilla or Self-Extend) of a conversation.
struct SavedSide {
    QList<SavedTurn> turns;
    QString settings;  // the latest run's settings line ("Self-Extend G=4 W=256, capacity …")
};

struct SavedConversation {
    QString documentName;  // for a person reading the file; the key identifies the document
    QString modelName;
    std::array<SavedSide, 2> sides;  // indexed by AnswerSide
    bool isEmpty() const { return sides[0].turns.isEmpty() && sides[1].turns.isEmpty(); }
};

class ConversationStore {
  public:
    // folder: empty for "conversations" under QStandardPaths::AppDataLocation.
    explicit ConversationStore(const QString& folder = {});

    // A document's identity: the SHA-256 of its bytes.
    static QByteArray digest(const QByteArray& documentBytes);
    // The key of a conversation: the document's digest and the model's file name. The bytes,
    // not the path: a moved or renamed copy is the same document, and an edited file is another
    // one (its answers were about other text). The model's file name, not its path: another
    // model's answers are not this model's, while a models folder may move.
    static QString key(const QByteArray& documentDigest, const QString& modelPath);

    // The file a key's conversation is kept in.
    QString pathFor(const QString& key) const;
    // Written atomically (QSaveFile): a crash leaves the previous file whole. False and *error
    // on failure.
    bool save(const QString& key, const SavedConversation& conversation, QString* error) const;
    // Nothing saved: nullopt with *error empty. Unreadable or malformed: nullopt and *error says
    // why (the file is left for the next save to replace).
    std::optional<SavedConversation> load(const QString& key, QString* error) const;
    void remove(const QString& key) const;

  private:
    QString folder_;
};

}  // namespace studio
