// A conversation on a document as Markdown: what "Export Conversation…" writes. Each side's
// turns under its own heading (a side's conversation can restart on its own, after a G or W
// change, so the two lists need not match), with the run's settings.
#pragma once

#include <QList>
#include <QString>

#include "AnswerPane.h"

namespace studio {

struct ConversationSide {
    QString title;     // "Vanilla", "Self-Extend"
    QString settings;  // the latest run's, e.g. "Self-Extend G=4 W=1024, capacity 29 696"
    QList<AnswerPane::Turn> turns;
};

QString conversationMarkdown(const QString& documentName, const QString& modelName,
                             const QList<ConversationSide>& sides);

}  // namespace studio
