// Where tests find their data. Shared material (../shared) may be absent in a user's fresh clone:
// tests that need it call SKIP_WITHOUT_SHARED() and skip with a message.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFileInfo>
#include <QString>
#include <QtTest>

#include "selfextend/error.h"

namespace testing {

inline QString shared_dir() {
    const QByteArray env = qgetenv("SE_SHARED_DIR");
    return QDir::cleanPath(env.isEmpty() ? QString(SE_SHARED_DIR_DEFAULT)
                                         : QString::fromLocal8Bit(env));
}

inline QString shared_path(const QString& relative) {
    return shared_dir() + "/" + relative;
}

inline bool shared_available() {
    return QFileInfo::exists(shared_path("models/MODEL_CARD.md"));
}

// The bundled demo model, part of the project itself.
inline QString demo_model_path() {
    return QString(SE_SOURCE_DIR) + "/resources/models/selfextend-demo-8m-f16.gguf";
}

// The message of the selfextend::Error that f throws, or an empty string when it throws none.
template <typename F>
QString error_of(F&& f) {
    try {
        f();
    } catch (const selfextend::Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace testing

#define SKIP_WITHOUT_SHARED()                                                               \
    do {                                                                                    \
        if (!testing::shared_available())                                                   \
            QSKIP(qPrintable("shared test material not found at " + testing::shared_dir() + \
                             " (set SE_SHARED_DIR)"));                                      \
    } while (0)
