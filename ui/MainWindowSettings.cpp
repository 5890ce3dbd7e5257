// MainWindow's engine settings: what the Settings dialog shows and applies, and the defaults
// that follow the model (the repeat penalty).
#include <QSettings>

#include "ComparePane.h"
#include "MainWindow.h"
#include "ModelPanel.h"
#include "SettingsDialog.h"

namespace studio {

QString MainWindow::promptFormatInUse() const {
    const QString chosen = modelPanel_->promptFormat();
    return chosen.isEmpty() ? modelPanel_->model().chatFormat : chosen;
}

float MainWindow::defaultRepeatPenalty() const {
    // Chat models loop on their own words without one ("It is very dark. It is very dark…"):
    // on by default as in the common local-model apps. A base model on the plain format copies
    // its document's wording, which a penalty would push it away from: off.
    constexpr float kChatRepeatPenalty = 1.1f;
    return hasModel_ && promptFormatInUse() != QLatin1String("plain") ? kChatRepeatPenalty : 1.0f;
}

EngineSettings MainWindow::engineSettings() const {
    const QSettings s;
    EngineSettings v;
    v.threads = s.value(QStringLiteral("threads"), 0).toInt();
    v.device = modelPanel_->device();
    v.kvType =
        selfextend::kv_type_from_name(
            s.value(QStringLiteral("kvType"), QStringLiteral("f16")).toString().toStdString())
            .value_or(selfextend::KvType::F16);
    v.documentCache = s.value(QStringLiteral("documentCache"), true).toBool();
    v.sampling.temperature = comparePane_->sampling().temperature;
    v.sampling.top_k = s.value(QStringLiteral("topK"), v.sampling.top_k).toInt();
    v.sampling.top_p = s.value(QStringLiteral("topP"), v.sampling.top_p).toFloat();
    v.sampling.min_p = s.value(QStringLiteral("minP"), v.sampling.min_p).toFloat();
    v.sampling.repeat_penalty =
        s.value(QStringLiteral("repeatPenalty"), defaultRepeatPenalty()).toFloat();
    v.sampling.seed = s.value(QStringLiteral("seed"), 0).toULongLong();
    v.systemPrompt = s.value(QStringLiteral("systemPrompt")).toString();
    v.promptFormat = modelPanel_->promptFormat();
    return v;
}

void MainWindow::applySettings(const EngineSettings& v) {
    QSettings s;
    const bool reload = v.threads != s.value(QStringLiteral("threads"), 0).toInt() ||
                        v.device != modelPanel_->device();
    s.setValue(QStringLiteral("threads"), v.threads);
    s.setValue(QStringLiteral("kvType"),
               QString::fromUtf8(selfextend::kv_type_name(v.kvType).data()));
    s.setValue(QStringLiteral("documentCache"), v.documentCache);
    s.setValue(QStringLiteral("topK"), v.sampling.top_k);
    s.setValue(QStringLiteral("topP"), double(v.sampling.top_p));
    s.setValue(QStringLiteral("minP"), double(v.sampling.min_p));
    // The default follows the model (see defaultRepeatPenalty): only a choice of the user's own
    // is kept.
    if (qFuzzyCompare(v.sampling.repeat_penalty, defaultRepeatPenalty()))
        s.remove(QStringLiteral("repeatPenalty"));
    else
        s.setValue(QStringLiteral("repeatPenalty"), double(v.sampling.repeat_penalty));
    s.setValue(QStringLiteral("seed"), qulonglong(v.sampling.seed));
    s.setValue(QStringLiteral("systemPrompt"), v.systemPrompt);
    comparePane_->setTemperature(v.sampling.temperature);
    modelPanel_->setDevice(v.device);
    modelPanel_->setKvType(v.kvType);
    if (hasModel_ && v.promptFormat != modelPanel_->promptFormat())
        modelPanel_->choosePromptFormat(v.promptFormat);
    // Threads and device are fixed when a model loads: load the model again with them (or the
    // model whose load failed, so that a device that works brings it back).
    const QString model = hasModel_ ? modelPanel_->model().path : loadingModel_;
    if (reload && !model.isEmpty() && !asking_ && !evaluating_) openModel(model);
}

SettingsDialog* MainWindow::showSettings() {
    auto* dialog = new SettingsDialog(engineSettings(), modelPanel_->promptFormats(), gpu_, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] { applySettings(dialog->values()); });
    dialog->open();
    return dialog;
}

}  // namespace studio
