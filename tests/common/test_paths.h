// Where tests find their data. Shared material (../shared) and the real models fetched by
// tools/fetch-models.sh may be absent in a user's fresh clone: tests that need them call
// SKIP_WITHOUT_SHARED() or SKIP_WITHOUT_MODEL(), which skip with a message saying how to get the
// data. Under CI=true a missing piece is a failure instead, so CI cannot pass by skipping.
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

// Real models fetched by tools/fetch-models.sh, in the checkout's models/ folder (or
// SE_MODELS_DIR).
inline QString models_dir() {
    const QByteArray env = qgetenv("SE_MODELS_DIR");
    return QDir::cleanPath(env.isEmpty() ? QString(SE_SOURCE_DIR) + "/models"
                                         : QString::fromLocal8Bit(env));
}
inline QString smollm2_path() {
    return models_dir() + "/SmolLM2-135M-Instruct.Q4_1.gguf";
}
inline QString gemma3_path() {
    return models_dir() + "/gemma-3-270m-q4_k_m.gguf";
}

// True under CI, where missing test data is an error rather than a reason to skip.
inline bool running_in_ci() {
    return qgetenv("CI") == "true";
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

// Skips (or, under CI=true, fails) the current test with `why` when `available` is false.
#define SKIP_OR_FAIL_UNLESS(available, why)                                                    \
    do {                                                                                       \
        if (!(available)) {                                                                    \
            if (testing::running_in_ci())                                                      \
                QFAIL(qPrintable((why) + QString(" (CI=true: failing instead of skipping)"))); \
            QSKIP(qPrintable(why));                                                            \
        }                                                                                      \
    } while (0)

#define SKIP_WITHOUT_SHARED()        \
    SKIP_OR_FAIL_UNLESS(             \
        testing::shared_available(), \
        "shared test material not found at " + testing::shared_dir() + " (set SE_SHARED_DIR)")

// model_path: e.g. testing::smollm2_path().
#define SKIP_WITHOUT_MODEL(model_path) \
    SKIP_OR_FAIL_UNLESS(               \
        QFileInfo::exists(model_path), \
        "model not found: " + (model_path) + " (run tools/fetch-models.sh, or set SE_MODELS_DIR)")
