#include "ConversationStore.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>

namespace studio {
namespace {

constexpr int kFormatVersion = 1;
const char* const kSideNames[] = {"vanilla", "selfExtend"};  // in AnswerSide order

QJsonObject toJson(const SavedSide& side) {
    QJsonArray turns;
    for (const SavedTurn& turn : side.turns)
        turns.append(QJsonObject{
            {"question", turn.question}, {"answer", turn.answer}, {"settings", turn.settings}});
    return QJsonObject{{"settings", side.settings}, {"turns", turns}};
}

// False when the object is not a side as save() writes it.
bool fromJson(const QJsonValue& value, SavedSide* side) {
    if (value.isUndefined()) return true;  // a side that never ran
    if (!value.isObject()) return false;
    const QJsonObject object = value.toObject();
    if (!object.value("turns").isArray()) return false;
    side->settings = object.value("settings").toString();
    for (const QJsonValue& turn : object.value("turns").toArray()) {
        const QJsonObject t = turn.toObject();
        if (!t.value("question").isString() || !t.value("answer").isString()) return false;
        // Files from before turns kept their settings: the side's latest run's.
        side->turns.append({t.value("question").toString(), t.value("answer").toString(),
                            t.value("settings").toString(side->settings)});
    }
    return true;
}

}  // namespace

ConversationStore::ConversationStore(const QString& folder)
    : folder_(folder.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                                     QStringLiteral("/conversations")
                               : folder) {}

QByteArray ConversationStore::digest(const QByteArray& documentBytes) {
    return QCryptographicHash::hash(documentBytes, QCryptographicHash::Sha256);
}

QString ConversationStore::key(const QByteArray& documentDigest, const QString& modelPath) {
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(documentDigest);  // fixed length: no two (document, model) pairs run together
    hash.addData(QFileInfo(modelPath).fileName().toUtf8());
    return QString::fromLatin1(hash.result().toHex());
}

QString ConversationStore::pathFor(const QString& key) const {
    return folder_ + QLatin1Char('/') + key + QStringLiteral(".json");
}

bool ConversationStore::save(const QString& key, const SavedConversation& conversation,
                             QString* error) const {
    if (!QDir().mkpath(folder_)) {
        *error = QObject::tr("cannot create %1").arg(folder_);
        return false;
    }
    QJsonObject sides;
    for (size_t s = 0; s < conversation.sides.size(); ++s)
        if (!conversation.sides[s].turns.isEmpty())
            sides.insert(kSideNames[s], toJson(conversation.sides[s]));
    const QJsonObject root{{"version", kFormatVersion},
                           {"document", conversation.documentName},
                           {"model", conversation.modelName},
                           {"sides", sides}};
    QSaveFile file(pathFor(key));
    if (!file.open(QIODevice::WriteOnly) ||
        file.write(QJsonDocument(root).toJson(QJsonDocument::Indented)) < 0 || !file.commit()) {
        *error = file.errorString();
        return false;
    }
    return true;
}

std::optional<SavedConversation> ConversationStore::load(const QString& key, QString* error) const {
    error->clear();
    QFile file(pathFor(key));
    if (!file.exists()) return std::nullopt;
    if (!file.open(QIODevice::ReadOnly)) {
        *error = file.errorString();
        return std::nullopt;
    }
    QJsonParseError parse;
    const QJsonDocument json = QJsonDocument::fromJson(file.readAll(), &parse);
    if (parse.error != QJsonParseError::NoError) {
        *error = parse.errorString();
        return std::nullopt;
    }
    const QJsonObject root = json.object();
    if (root.value("version").toInt() != kFormatVersion || !root.value("sides").isObject()) {
        *error = QObject::tr("not a saved conversation of this version");
        return std::nullopt;
    }
    SavedConversation conversation;
    conversation.documentName = root.value("document").toString();
    conversation.modelName = root.value("model").toString();
    const QJsonObject sides = root.value("sides").toObject();
    for (size_t s = 0; s < conversation.sides.size(); ++s) {
        if (!fromJson(sides.value(kSideNames[s]), &conversation.sides[s])) {
            *error = QObject::tr("malformed turns");
            return std::nullopt;
        }
    }
    return conversation;
}

void ConversationStore::remove(const QString& key) const {
    QFile::remove(pathFor(key));
}

}  // namespace studio
