// The few status colours the painted widgets share; chosen to read on light and dark palettes.
#pragma once

#include <QColor>

namespace studio {

enum class Status { Good, Warn, Bad, Accent, Neutral };

inline QColor statusColor(Status status) {
    switch (status) {
        case Status::Good:
            return QColor(0x2e, 0x9d, 0x5b);
        case Status::Warn:
            return QColor(0xe0, 0x9b, 0x1a);
        case Status::Bad:
            return QColor(0xd0, 0x3b, 0x3b);
        case Status::Accent:
            return QColor(0x2f, 0x6f, 0xd6);
        case Status::Neutral:
            break;
    }
    return QColor(0x8a, 0x8f, 0x98);
}

}  // namespace studio
