// MainWindow's settings: the engine settings the Settings dialog shows and applies, the
// defaults that follow the model (the repeat penalty), and what is kept between sessions (the
// window's geometry, G and W, the question bar's choices, the device).
#include <QScreen>
#include <QSettings>
#include <QSplitter>
#include <algorithm>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DeviceChoice.h"
#include "MainWindow.h"
#include "ModelPanel.h"
#include "SelfExtendPanel.h"
#include "selfextend/chat.h"
#include "SettingsDialog.h"
#include "StudioController.h"

namespace studio {
namespace {

// The smallest window in which nothing is cut off, and the largest first size: both fit a
// 1366×768 laptop screen with its panels.
constexpr QSize kMinimumWindow(800, 500);
constexpr QSize kLargestFirstWindow(1280, 700);

}  // namespace

QString MainWindow::promptFormatInUse() const {
    const QString chosen = modelPanel_->promptFormat();
    return chosen.isEmpty() ? modelPanel_->model().chatFormat : chosen;
}

float MainWindow::defaultRepeatPenalty() const {
    if (!controller_->hasModel()) return 1.0f;
    const auto format = selfextend::chat_format_from_name(promptFormatInUse().toStdString());
    return selfextend::default_repeat_penalty(format.value_or(selfextend::ChatFormat::Plain));
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
    if (controller_->hasModel() && v.promptFormat != modelPanel_->promptFormat())
        modelPanel_->choosePromptFormat(v.promptFormat);
    // Threads and device are fixed when a model loads: load the model again with them (or the
    // model whose load failed, so that a device that works brings it back).
    const QString model =
        controller_->hasModel() ? controller_->modelPath() : controller_->loadingModel();
    if (reload && !model.isEmpty() && !controller_->isAsking() && !controller_->isEvaluating())
        openModel(model);
}

SettingsDialog* MainWindow::showSettings() {
    auto* dialog = new SettingsDialog(engineSettings(), modelPanel_->promptFormats(), gpu_, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] { applySettings(dialog->values()); });
    dialog->open();
    return dialog;
}

void MainWindow::restoreSettings() {
    const QSettings settings;
    setMinimumSize(kMinimumWindow);
    const int line = fontMetrics().height();
    if (!restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray()))
        resize(firstWindowSize(screen() ? screen()->availableGeometry().size() : kMinimumWindow));
    if (!mainSplit_->restoreState(settings.value(QStringLiteral("mainSplit")).toByteArray()))
        mainSplit_->setSizes({line * 28, line * 72});
    // Two parts for the document (about nine lines of its text at 1366×768), three for the
    // answers (with the question bar and the panes' headers: about as many lines).
    if (!rightSplit_->restoreState(settings.value(QStringLiteral("rightSplit")).toByteArray()))
        rightSplit_->setSizes({line * 16, line * 24});
    selfExtendPanel_->setWindow(settings.value(QStringLiteral("window"), 256).toInt());
    selfExtendPanel_->setGroup(settings.value(QStringLiteral("group"), 4).toInt());
    // Room for a full answer of a few sentences; answers end earlier at their end of turn.
    constexpr int kDefaultMaxNewTokens = 128;
    comparePane_->setMaxNewTokens(
        settings.value(QStringLiteral("maxNewTokens"), kDefaultMaxNewTokens).toInt());
    comparePane_->setTemperature(settings.value(QStringLiteral("temperature"), 0.0).toDouble());
    comparePane_->setStopAtLineBreak(
        settings.value(QStringLiteral("stopAtLineBreak"), true).toBool());
    comparePane_->vanillaPane()->setTruncated(
        settings.value(QStringLiteral("vanillaTruncated"), false).toBool());
    comparePane_->vanillaPane()->setEnabledForRuns(
        settings.value(QStringLiteral("vanillaEnabled"), true).toBool());
    comparePane_->selfExtendPane()->setEnabledForRuns(
        settings.value(QStringLiteral("selfExtendEnabled"), true).toBool());
    // A GPU saved on a machine that has none (any more): Auto, said once (the next model that
    // loads saves the device it used).
    const int savedDevice = settings.value(QStringLiteral("device"), kDeviceAuto).toInt();
    modelPanel_->setDevice(savedDevice);
    if (savedDevice == kDeviceGpu && modelPanel_->device() != kDeviceGpu)
        showWarning(tr("The GPU chosen in Settings is not available (%1): models run on the CPU.")
                        .arg(QString::fromStdString(gpu_.reason)),
                    ErrorBanner::Topic::Device);
    modelPanel_->setKvType(engineSettings().kvType);
    selfExtendPanel_->setAnswerReserve(comparePane_->maxNewTokens());
}

QSize MainWindow::firstWindowSize(const QSize& available) {
    // Inside the screen with a margin; sizes are device-independent pixels, so 200% scaling
    // doubles them on the screen as it should.
    return QSize(std::min(kLargestFirstWindow.width(), available.width() * 95 / 100),
                 std::min(kLargestFirstWindow.height(), available.height() * 90 / 100))
        .expandedTo(kMinimumWindow);
}

void MainWindow::saveSettings() const {
    QSettings settings;
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainSplit"), mainSplit_->saveState());
    settings.setValue(QStringLiteral("rightSplit"), rightSplit_->saveState());
    settings.setValue(QStringLiteral("group"), selfExtendPanel_->group());
    settings.setValue(QStringLiteral("window"), selfExtendPanel_->window());
    settings.setValue(QStringLiteral("maxNewTokens"), comparePane_->maxNewTokens());
    settings.setValue(QStringLiteral("temperature"), double(comparePane_->sampling().temperature));
    settings.setValue(QStringLiteral("stopAtLineBreak"), comparePane_->stopAtLineBreak());
    settings.setValue(QStringLiteral("vanillaTruncated"), comparePane_->vanillaPane()->truncated());
    settings.setValue(QStringLiteral("vanillaEnabled"),
                      comparePane_->vanillaPane()->isEnabledForRuns());
    settings.setValue(QStringLiteral("selfExtendEnabled"),
                      comparePane_->selfExtendPane()->isEnabledForRuns());
}

}  // namespace studio
