// The demo model's float64 reference logits in ../shared/models/reference (see its README): for
// each prompt, its tokens, the positions whose logits are stored, and one run per attention
// setting (group 1 = vanilla) with [positions x vocab] float32 logits. Read by the tests that
// check the engine (tst_model_reference) and the in-tree float64 forward pass
// (tst_reference_forward) against them.
#pragma once

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <cstdint>
#include <cstring>
#include <vector>

#include "test_paths.h"

namespace testing {

struct DemoReference {
    std::vector<int32_t> tokens;
    std::vector<int> positions;
    struct Run {
        int group = 1, window = 0;
        std::vector<float> logits;  // [positions x vocab]
    };
    std::vector<Run> runs;
};

inline DemoReference read_demo_reference(const QString& name) {
    QFile file(testing::shared_path("models/reference/" + name + ".json"));
    if (!file.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(file.fileName()));
    const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
    DemoReference ref;
    for (const auto& t : root["tokens"].toArray()) ref.tokens.push_back(t.toInt());
    for (const auto& p : root["positions"].toArray()) ref.positions.push_back(p.toInt());
    for (const auto& r : root["runs"].toArray()) {
        const QJsonObject run = r.toObject();
        QFile data(testing::shared_path("models/reference/" + run["file"].toString()));
        if (!data.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(data.fileName()));
        const QByteArray bytes = data.readAll();
        DemoReference::Run out;
        if (run["attention"].toString() != "vanilla") {
            out.group = run["group"].toInt();
            out.window = run["window"].toInt();
        }
        out.logits.resize(size_t(bytes.size()) / sizeof(float));
        std::memcpy(out.logits.data(), bytes.constData(), out.logits.size() * sizeof(float));
        ref.runs.push_back(std::move(out));
    }
    return ref;
}

}  // namespace testing
