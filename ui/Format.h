// Number formatting shared by the widgets (and the tests that read their labels).
#pragma once

#include <QLocale>
#include <QString>

namespace studio {

inline QString formatCount(qint64 n) {
    return QLocale().toString(n);
}

inline QString formatBytes(quint64 bytes) {
    return QLocale().formattedDataSize(qint64(bytes), 1, QLocale::DataSizeTraditionalFormat);
}

inline QString formatSeconds(double seconds) {
    if (seconds < 60) return QStringLiteral("%1 s").arg(seconds, 0, 'f', seconds < 10 ? 1 : 0);
    const auto whole = qint64(seconds);
    return QStringLiteral("%1 min %2 s").arg(whole / 60).arg(whole % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace studio
