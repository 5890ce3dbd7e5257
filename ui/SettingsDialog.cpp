#include "SettingsDialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include "DeviceChoice.h"

namespace studio {

namespace {

QDoubleSpinBox* probabilityBox(double value, const QString& off) {
    auto* box = new QDoubleSpinBox;
    box->setRange(0.0, 1.0);
    box->setSingleStep(0.05);
    box->setDecimals(2);
    box->setValue(value);
    if (!off.isEmpty()) box->setSpecialValueText(off);
    return box;
}

}  // namespace

SettingsDialog::SettingsDialog(const EngineSettings& current,
                               const QList<QPair<QString, QString>>& formats,
                               const selfextend::GpuAvailability& gpu, QWidget* parent)
    : QDialog(parent),
      threads_(new QSpinBox),
      device_(new QComboBox),
      kvType_(new QComboBox),
      documentCache_(new QCheckBox(tr("Keep each document's KV on disk (answers a document "
                                      "read before without a prefill)"))),
      temperature_(new QDoubleSpinBox),
      topK_(new QSpinBox),
      topP_(probabilityBox(current.sampling.top_p, {})),
      minP_(probabilityBox(current.sampling.min_p, tr("off"))),
      repeatPenalty_(new QDoubleSpinBox),
      seed_(new QSpinBox),
      systemPrompt_(new QPlainTextEdit),
      promptFormat_(new QComboBox) {
    setWindowTitle(tr("Settings"));
    threads_->setObjectName("threadsSpin");
    kvType_->setObjectName("kvTypeCombo");
    topK_->setObjectName("topKSpin");
    systemPrompt_->setObjectName("systemPromptEdit");
    promptFormat_->setObjectName("promptFormatCombo");
    documentCache_->setObjectName("documentCacheCheck");

    threads_->setRange(0, std::max(1, QThread::idealThreadCount()) * 2);
    threads_->setSpecialValueText(tr("one per core (%1)").arg(QThread::idealThreadCount()));
    threads_->setValue(current.threads);
    device_->setObjectName("deviceCombo");
    fillDeviceCombo(device_, gpu);
    device_->setCurrentIndex(usableDevice(current.device, gpu));
    // The order of selfextend::KvType.
    kvType_->addItem(tr("F32 (exact, 4 bytes a value)"), int(selfextend::KvType::F32));
    kvType_->addItem(tr("F16 (the default, half of F32)"), int(selfextend::KvType::F16));
    kvType_->addItem(tr("Q8_0 (about a quarter of F32)"), int(selfextend::KvType::Q8_0));
    kvType_->setCurrentIndex(kvType_->findData(int(current.kvType)));
    documentCache_->setChecked(current.documentCache);

    temperature_->setRange(0.0, 2.0);
    temperature_->setSingleStep(0.1);
    temperature_->setDecimals(2);
    temperature_->setSpecialValueText(tr("greedy"));
    temperature_->setValue(current.sampling.temperature);
    topK_->setRange(0, 1000);
    topK_->setSpecialValueText(tr("off"));
    topK_->setValue(current.sampling.top_k);
    repeatPenalty_->setRange(1.0, 2.0);
    repeatPenalty_->setSingleStep(0.05);
    repeatPenalty_->setSpecialValueText(tr("off"));
    repeatPenalty_->setValue(current.sampling.repeat_penalty);
    seed_->setRange(0, std::numeric_limits<int>::max());
    seed_->setValue(
        int(std::min<uint64_t>(current.sampling.seed, std::numeric_limits<int>::max())));
    for (auto* box :
         {static_cast<QWidget*>(topK_), static_cast<QWidget*>(topP_), static_cast<QWidget*>(minP_),
          static_cast<QWidget*>(repeatPenalty_), static_cast<QWidget*>(seed_)})
        box->setToolTip(
            tr("Used when the temperature is above 0 (greedy ignores them, except the "
               "repeat penalty)"));

    // (After the loop above: its tooltip is the sampling one's.)
    repeatPenalty_->setToolTip(
        tr("Makes repeating the last 64 tokens less likely, greedy too. By default 1.1 for chat "
           "models (as in the common local-model apps: without it a small model loops on its own "
           "sentence) and off for base models on the plain format"));

    systemPrompt_->setPlainText(current.systemPrompt);
    systemPrompt_->setPlaceholderText(
        tr("Empty: the model's own default (SmolLM2's template has "
           "one; plain prompts have none)"));
    systemPrompt_->setMaximumHeight(fontMetrics().height() * 5);
    for (const auto& [text, value] : formats) promptFormat_->addItem(text, value);
    promptFormat_->setCurrentIndex(std::max(0, promptFormat_->findData(current.promptFormat)));
    promptFormat_->setEnabled(!formats.isEmpty());
    if (formats.isEmpty()) promptFormat_->addItem(tr("(load a model first)"));

    auto* engine = new QGroupBox(tr("Engine"));
    auto* engineForm = new QFormLayout(engine);
    engineForm->addRow(tr("CPU threads"), threads_);
    engineForm->addRow(tr("Device"), device_);
    if (!gpu.available) {  // why the GPU cannot be chosen, where the choice is made
        auto* why = new QLabel(tr("GPU: %1.").arg(QString::fromStdString(gpu.reason)));
        why->setObjectName("gpuUnavailable");
        why->setWordWrap(true);
        engineForm->addRow(QString(), why);
    }
    engineForm->addRow(tr("KV cache"), kvType_);
    engineForm->addRow(documentCache_);
    auto* sampling = new QGroupBox(tr("Answers"));
    auto* samplingForm = new QFormLayout(sampling);
    samplingForm->addRow(tr("Temperature"), temperature_);
    samplingForm->addRow(tr("Top-k"), topK_);
    samplingForm->addRow(tr("Top-p"), topP_);
    samplingForm->addRow(tr("Min-p"), minP_);
    samplingForm->addRow(tr("Repeat penalty"), repeatPenalty_);
    samplingForm->addRow(tr("Seed"), seed_);
    auto* prompt = new QGroupBox(tr("Prompt"));
    auto* promptForm = new QFormLayout(prompt);
    promptForm->addRow(tr("System prompt"), systemPrompt_);
    promptForm->addRow(tr("Prompt format"), promptFormat_);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(engine);
    layout->addWidget(sampling);
    layout->addWidget(prompt);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

EngineSettings SettingsDialog::values() const {
    EngineSettings v;
    v.threads = threads_->value();
    v.device = device_->currentIndex();
    v.kvType = selfextend::KvType(kvType_->currentData().toInt());
    v.documentCache = documentCache_->isChecked();
    v.sampling.temperature = float(temperature_->value());
    v.sampling.top_k = topK_->value();
    v.sampling.top_p = float(topP_->value());
    v.sampling.min_p = float(minP_->value());
    v.sampling.repeat_penalty = float(repeatPenalty_->value());
    v.sampling.seed = uint64_t(seed_->value());
    v.systemPrompt = systemPrompt_->toPlainText().trimmed();
    v.promptFormat =
        promptFormat_->isEnabled() ? promptFormat_->currentData().toString() : QString();
    return v;
}

}  // namespace studio
