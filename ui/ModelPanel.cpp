#include "ModelPanel.h"

#include "DeviceChoice.h"

#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QVBoxLayout>

#include "selfextend/chat.h"

#include "DeviceChoice.h"
#include "Format.h"

namespace studio {
namespace {

// MemAvailable from /proc/meminfo (Linux); 0 when it cannot be read.
quint64 availableHostMemory() {
    QFile meminfo(QStringLiteral("/proc/meminfo"));
    if (!meminfo.open(QIODevice::ReadOnly | QIODevice::Text)) return 0;
    // /proc files report size 0, so read the whole text rather than testing atEnd().
    for (const QByteArray& line : meminfo.readAll().split('\n')) {
        if (line.startsWith("MemAvailable:")) {
            const QList<QByteArray> parts = line.simplified().split(' ');
            if (parts.size() >= 2) return parts[1].toULongLong() * 1024;  // kB
        }
    }
    return 0;
}

QString humanParameters(qint64 n) {
    if (n >= 1'000'000'000) return QStringLiteral("%1 B").arg(double(n) / 1e9, 0, 'f', 2);
    if (n >= 1'000'000) return QStringLiteral("%1 M").arg(double(n) / 1e6, 0, 'f', 2);
    return formatCount(n);
}

}  // namespace

ModelPanel::ModelPanel(QWidget* parent)
    : QGroupBox(tr("Model"), parent),
      name_(new QLabel(tr("none"))),
      architecture_(new QLabel),
      parameters_(new QLabel),
      window_(new QLabel),
      dtypes_(new QLabel),
      device_(new QLabel),
      memory_(new QLabel),
      formatCombo_(new QComboBox),
      progress_(new QProgressBar),
      deviceCombo_(new QComboBox),
      openButton_(new QPushButton(tr("Open model…"))) {
    name_->setObjectName("modelName");
    window_->setObjectName("modelWindow");
    memory_->setObjectName("modelMemory");
    progress_->setObjectName("modelProgress");
    for (auto* label : {name_, architecture_, parameters_, window_, dtypes_, device_, memory_}) {
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
        label->setWordWrap(true);
    }
    QFont bold = name_->font();
    bold.setBold(true);
    name_->setFont(bold);
    progress_->setRange(0, 1000);
    progress_->setTextVisible(false);
    progress_->setMaximumHeight(progress_->fontMetrics().height() / 2 + 2);
    progress_->hide();
    deviceCombo_->setObjectName("deviceCombo");
    setGpuAvailability({});
    formatCombo_->setObjectName("promptFormat");
    formatCombo_->setEnabled(false);
    formatCombo_->setToolTip(
        tr("The turn markup around the document and the question. An "
           "instruct model answers best in the format it was trained with: "
           "the file's own, unless it names none."));
    openButton_->setToolTip(tr("Open a GGUF model (Ctrl+Shift+O)"));

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Name"), name_);
    form->addRow(tr("Architecture"), architecture_);
    form->addRow(tr("Parameters"), parameters_);
    form->addRow(tr("Training window L"), window_);
    form->addRow(tr("Weights"), dtypes_);
    form->addRow(tr("Prompt format"), formatCombo_);
    form->addRow(tr("Device"), device_);
    form->addRow(tr("Memory"), memory_);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(openButton_);
    buttons->addStretch(1);
    buttons->addWidget(new QLabel(tr("Load on")));
    buttons->addWidget(deviceCombo_);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(progress_);
    layout->addLayout(buttons);

    connect(openButton_, &QPushButton::clicked, this, &ModelPanel::openRequested);
    connect(deviceCombo_, &QComboBox::currentIndexChanged, this, &ModelPanel::deviceChanged);
    connect(formatCombo_, &QComboBox::currentIndexChanged, this,
            [this] { emit promptFormatChosen(promptFormat()); });
}

QString ModelPanel::promptFormat() const {
    return formatCombo_->currentData().toString();
}

void ModelPanel::choosePromptFormat(const QString& name) {
    if (const int index = formatCombo_->findData(name); index >= 0)
        formatCombo_->setCurrentIndex(index);
}

QList<QPair<QString, QString>> ModelPanel::promptFormats() const {
    QList<QPair<QString, QString>> formats;
    for (int k = 0; k < formatCombo_->count(); ++k)
        formats.append({formatCombo_->itemText(k), formatCombo_->itemData(k).toString()});
    return formats;
}

void ModelPanel::setPromptFormat(const QString& name) {
    const QSignalBlocker quiet(formatCombo_);
    formatCombo_->setCurrentIndex(std::max(0, formatCombo_->findData(name)));
}

int ModelPanel::device() const {
    return deviceCombo_->currentIndex();
}
void ModelPanel::setDevice(int device) {
    deviceCombo_->setCurrentIndex(usableDevice(device, gpu_));
}
void ModelPanel::setGpuAvailability(const selfextend::GpuAvailability& gpu) {
    gpu_ = gpu;
    const QSignalBlocker quiet(deviceCombo_);
    const int current = deviceCombo_->currentIndex();
    fillDeviceCombo(deviceCombo_, gpu);
    deviceCombo_->setCurrentIndex(usableDevice(std::max(0, current), gpu));
    deviceCombo_->setToolTip(gpu.available ? tr("Where the next model load runs")
                                           : tr("Where the next model load runs (GPU: %1)")
                                                 .arg(QString::fromStdString(gpu.reason)));
}
QString ModelPanel::memoryText() const {
    return memory_->text();
}

void ModelPanel::setLoading(const QString& path) {
    name_->setText(tr("loading %1…").arg(QFileInfo(path).fileName()));
    progress_->setValue(0);
    progress_->show();
}

void ModelPanel::setProgress(double fraction) {
    progress_->setValue(int(fraction * 1000));
}

void ModelPanel::setModel(const ModelSummary& model) {
    model_ = model;
    hasModel_ = true;
    progress_->hide();
    // One name everywhere (the file's, ModelInfo::name); a base model says it is one, since it
    // continues text rather than answering in turns.
    const bool base = model.chatFormat == QLatin1String("plain");
    name_->setText(base ? tr("%1 (base model)").arg(model.name) : model.name);
    name_->setToolTip(base ? tr("%1\nA base model: the file has no chat template, so questions "
                                "are asked in the plain format and answers continue the text.")
                                 .arg(model.path)
                           : model.path);
    architecture_->setText(tr("%1 · %2 layers · %3 heads (%4 KV) · vocab %5")
                               .arg(model.architecture)
                               .arg(model.layers)
                               .arg(model.heads)
                               .arg(model.headsKv)
                               .arg(formatCount(model.vocabSize)));
    {
        // The file's own format first (the default), then every format to override it with.
        const QSignalBlocker quiet(formatCombo_);
        formatCombo_->clear();
        formatCombo_->addItem(tr("%1 (the file's)").arg(model.chatFormat), QString());
        for (const selfextend::ChatFormat format : selfextend::kChatFormats) {
            const QString name = QString::fromUtf8(selfextend::chat_format_name(format));
            if (name != model.chatFormat) formatCombo_->addItem(name, name);
        }
        formatCombo_->setItemData(0, model.chatNote, Qt::ToolTipRole);
        formatCombo_->setEnabled(true);
    }
    parameters_->setText(humanParameters(model.parameterCount));
    window_->setText(tr("%1 tokens").arg(formatCount(model.trainingWindow())));
    dtypes_->setText(tr("%1 · %2").arg(model.dtypeMix, formatBytes(model.weightBytes)));
    device_->setText(model.deviceNote.isEmpty()
                         ? model.device
                         : tr("%1 (Auto: %2)").arg(model.device, model.deviceNote));
    updateMemory();
}

void ModelPanel::setLoadFailed(const QString& message) {
    progress_->hide();
    if (hasModel_) {  // the previous model is still loaded: show it again
        setModel(model_);
        return;
    }
    name_->setText(tr("none"));
    name_->setToolTip(message);
    for (auto* label : {architecture_, parameters_, window_, dtypes_, device_}) label->clear();
    const QSignalBlocker quiet(formatCombo_);
    formatCombo_->clear();
    formatCombo_->setEnabled(false);
    updateMemory();
}

void ModelPanel::setRequiredTokens(qint64 tokens) {
    requiredTokens_ = tokens;
    updateMemory();
}

void ModelPanel::updateMemory() {
    const quint64 available = availableHostMemory();
    const QString free =
        available ? tr("%1 available").arg(formatBytes(available)) : tr("available memory unknown");
    if (!hasModel_) {
        memory_->setText(free);
        return;
    }
    if (requiredTokens_ < 0) {
        memory_->setText(tr("weights %1 · %2").arg(formatBytes(model_.weightBytes), free));
        return;
    }
    // Each side's conversation keeps its session, so both caches are held at once; a
    // Self-Extend cache also keeps each key at its grouped position.
    const auto tokens = quint64(requiredTokens_);
    const quint64 vanilla = tokens * model_.kvBytesPerToken[size_t(kvType_)];
    const quint64 selfExtend = tokens * model_.kvBytesPerTokenSelfExtend[size_t(kvType_)];
    const quint64 needed = model_.weightBytes + vanilla + selfExtend;
    const bool enough = available == 0 || needed < available;
    memory_->setText(tr("<span style='color:%1'>%2 needed</span> (weights %3 + KV caches %4 "
                        "vanilla and %5 Self-Extend for %6 tokens, %7) · %8")
                         .arg(enough ? "#2e9d5b" : "#d03b3b", formatBytes(needed),
                              formatBytes(model_.weightBytes), formatBytes(vanilla),
                              formatBytes(selfExtend), formatCount(requiredTokens_),
                              QString::fromUtf8(selfextend::kv_type_name(kvType_).data()), free));
}

void ModelPanel::setKvType(selfextend::KvType type) {
    kvType_ = type;
    updateMemory();
}

}  // namespace studio
