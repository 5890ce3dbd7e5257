// Number formatting shared by the widgets (and the tests that read their labels).
#pragma once

#include <QLocale>
#include <QRegularExpression>
#include <QString>

namespace studio {

inline QString formatCount(qint64 n) {
    return QLocale().toString(n);
}

// The engine's messages group digits with spaces (12 345); the widgets use the locale's grouping.
inline QString withLocaleCounts(QString text) {
    static const QRegularExpression grouped(QStringLiteral("\\b\\d{1,3}(?: \\d{3})+\\b"));
    for (auto match = grouped.match(text); match.hasMatch();
         match = grouped.match(text, match.capturedStart())) {
        const QString number = formatCount(match.captured().remove(QLatin1Char(' ')).toLongLong());
        text.replace(match.capturedStart(), match.capturedLength(), number);
        if (number.contains(QLatin1Char(' '))) break;  // a locale that groups with spaces itself
    }
    return text;
}

// "1 token", "12,345 tokens" (the widgets load no translations, so %n plurals would show
// "token(s)").
inline QString formatTokens(qint64 n) {
    return n == 1 ? QStringLiteral("1 token") : formatCount(n) + QStringLiteral(" tokens");
}

// "1 turn", "3 turns": the turns of a conversation.
inline QString formatTurns(qint64 n) {
    return n == 1 ? QStringLiteral("1 turn") : formatCount(n) + QStringLiteral(" turns");
}

inline QString formatBytes(quint64 bytes) {
    return QLocale().formattedDataSize(qint64(bytes), 1, QLocale::DataSizeTraditionalFormat);
}

inline QString formatSeconds(double seconds) {
    if (seconds < 60) return QStringLiteral("%1 s").arg(seconds, 0, 'f', seconds < 10 ? 1 : 0);
    const auto whole = qint64(seconds);
    return QStringLiteral("%1 min %2 s").arg(whole / 60).arg(whole % 60, 2, 10, QLatin1Char('0'));
}

// An estimate and the longest it may take: one time while they are within 15 % of each other,
// else "1 min 22 s – 1 min 56 s".
inline QString formatEta(double seconds, double highSeconds) {
    if (highSeconds <= seconds * 1.15) return formatSeconds(seconds);
    return QStringLiteral("%1 – %2").arg(formatSeconds(seconds), formatSeconds(highSeconds));
}

}  // namespace studio
