#include "ConversationExport.h"

#include <QDateTime>

namespace studio {
namespace {

// Text as one Markdown paragraph block: blank lines kept, a line that would start a heading or a
// list quoted as text, so an answer cannot restructure the document around it.
QString asBlockQuote(const QString& text) {
    QString quoted;
    for (const QString& line : text.trimmed().split(QLatin1Char('\n')))
        quoted += QStringLiteral("> %1\n").arg(line);
    return quoted;
}

}  // namespace

QString conversationMarkdown(const QString& documentName, const QString& modelName,
                             const QList<ConversationSide>& sides) {
    QString md = QStringLiteral("# Questions on %1\n\n").arg(documentName);
    md += QStringLiteral("Model: %1 · exported %2 by SelfExtend Studio\n")
              .arg(modelName, QDateTime::currentDateTime().toString(Qt::ISODate));
    for (const ConversationSide& side : sides) {
        if (side.turns.isEmpty()) continue;
        md += QStringLiteral("\n## %1\n\n").arg(side.title);
        if (!side.settings.isEmpty()) md += QStringLiteral("*%1*\n\n").arg(side.settings);
        for (const AnswerPane::Turn& turn : side.turns) {
            md += QStringLiteral("**Q:** %1\n\n").arg(turn.question.trimmed());
            md += asBlockQuote(turn.answer.isEmpty() ? QStringLiteral("(no answer)") : turn.answer);
            md += QLatin1Char('\n');
            // Each turn with what it was answered with, where that is not the side's latest
            // (a restored turn, a conversation continued under other settings).
            if (!turn.settings.isEmpty() &&
                (turn.restored ||
                 AnswerPane::runMode(turn.settings) != AnswerPane::runMode(side.settings)))
                md += QStringLiteral("*%1%2*\n\n")
                          .arg(turn.restored ? QStringLiteral("last session: ") : QString(),
                               turn.settings);
        }
    }
    return md;
}

}  // namespace studio
