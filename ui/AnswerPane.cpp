#include "AnswerPane.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QVBoxLayout>

#include "Format.h"

namespace studio {

AnswerPane::AnswerPane(AnswerSide side, QWidget* parent)
    : QFrame(parent),
      side_(side),
      enabled_(new QCheckBox(side == AnswerSide::Vanilla ? tr("Vanilla") : tr("Self-Extend"))),
      settings_(new QLabel),
      promptTokens_(new QLabel),
      prefill_(new QProgressBar),
      status_(new QLabel),
      stop_(new QPushButton(tr("Stop"))),
      text_(new QPlainTextEdit) {
    const QString prefix = side == AnswerSide::Vanilla ? "vanilla" : "selfExtend";
    setObjectName(prefix + "Pane");
    enabled_->setObjectName(prefix + "Enabled");
    stop_->setObjectName(prefix + "Stop");
    text_->setObjectName(prefix + "Answer");
    status_->setObjectName(prefix + "Status");
    setFrameShape(QFrame::StyledPanel);

    QFont bold = enabled_->font();
    bold.setBold(true);
    enabled_->setFont(bold);
    enabled_->setChecked(true);
    enabled_->setToolTip(tr("Include this run in the next question"));
    settings_->setWordWrap(true);
    settings_->setObjectName(prefix + "Settings");
    for (auto* label : {settings_, promptTokens_, status_}) {
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
        label->setForegroundRole(QPalette::PlaceholderText);
    }
    prefill_->setRange(0, 1000);
    prefill_->setValue(0);
    prefill_->setFormat(tr("prefill %p%"));
    stop_->setEnabled(false);
    stop_->setToolTip(tr("Stop this run (Esc stops both)"));
    text_->setReadOnly(true);
    text_->setPlaceholderText(tr("The answer streams here."));

    auto* header = new QHBoxLayout;
    header->addWidget(enabled_);
    if (side == AnswerSide::Vanilla) {
        vanillaMode_ = new QComboBox;
        vanillaMode_->setObjectName("vanillaMode");
        vanillaMode_->addItems({tr("overflowing (whole document past L)"),
                                tr("truncated to the window (last L tokens)")});
        vanillaMode_->setToolTip(
            tr("Overflowing shows what happens past the training window; truncated keeps the "
               "question and drops the start of the document"));
        header->addWidget(vanillaMode_, 1);
        connect(vanillaMode_, &QComboBox::currentIndexChanged, this,
                [this](int index) { emit truncatedChanged(index == 1); });
    } else {
        header->addStretch(1);
    }
    header->addWidget(stop_);

    auto* stats = new QHBoxLayout;
    stats->addWidget(promptTokens_);
    stats->addWidget(prefill_, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addWidget(settings_);
    layout->addLayout(stats);
    layout->addWidget(status_);
    layout->addWidget(text_, 1);

    connect(stop_, &QPushButton::clicked, this, &AnswerPane::stopRequested);
    connect(enabled_, &QCheckBox::toggled, text_, &QWidget::setEnabled);
}

bool AnswerPane::isEnabledForRuns() const {
    return enabled_->isChecked();
}
void AnswerPane::setEnabledForRuns(bool enabled) {
    enabled_->setChecked(enabled);
}
bool AnswerPane::truncated() const {
    return vanillaMode_ && vanillaMode_->currentIndex() == 1;
}
void AnswerPane::setTruncated(bool truncated) {
    if (vanillaMode_) vanillaMode_->setCurrentIndex(truncated ? 1 : 0);
}
void AnswerPane::setPlannedSettings(const QString& settings) {
    if (!running_) settings_->setText(settings);
}
QString AnswerPane::answer() const {
    return text_->toPlainText();
}
QString AnswerPane::statusText() const {
    return status_->text();
}

void AnswerPane::markQueued() {
    text_->clear();
    prefill_->setValue(0);
    promptTokens_->clear();
    status_->setText(tr("waiting…"));
    stop_->setEnabled(true);
    running_ = true;
}

void AnswerPane::markSkipped() {
    status_->setText(tr("off"));
    prefill_->setValue(0);
}

void AnswerPane::markNotRun() {
    running_ = false;
    stop_->setEnabled(false);
    status_->setText(tr("not run"));
}

void AnswerPane::begin(const QString& settings, qint64 promptTokens) {
    running_ = true;
    settings_->setText(settings);
    promptTokens_->setText(tr("%1 prompt tokens").arg(formatCount(promptTokens)));
    text_->clear();
    prefill_->setValue(0);
    status_->setText(tr("prefilling…"));
    stop_->setEnabled(true);
}

void AnswerPane::setPrefillProgress(qint64 done, qint64 total, double tokensPerSecond,
                                    double etaSeconds) {
    prefill_->setValue(total > 0 ? int(1000 * done / total) : 0);
    status_->setText(tr("prefill %1 / %2 tokens · %3 tok/s · ETA %4")
                         .arg(formatCount(done), formatCount(total))
                         .arg(tokensPerSecond, 0, 'f', 0)
                         .arg(formatSeconds(etaSeconds)));
}

void AnswerPane::appendToken(const QString& text, qint64 generated, double tokensPerSecond) {
    prefill_->setValue(1000);
    // Insert at the end without disturbing a user's selection or scroll position elsewhere.
    QTextCursor cursor(text_->document());
    cursor.movePosition(QTextCursor::End);
    cursor.insertText(text);
    QScrollBar* bar = text_->verticalScrollBar();
    bar->setValue(bar->maximum());
    status_->setText(
        tr("decoding · %1 tokens · %2 tok/s").arg(generated).arg(tokensPerSecond, 0, 'f', 1));
}

void AnswerPane::finish(const RunStats& stats) {
    running_ = false;
    stop_->setEnabled(false);
    if (!stats.error.isEmpty()) {
        status_->setText(tr("failed: %1").arg(stats.error));
        return;
    }
    const QString timing = tr("prefill %1 · %2 tokens at %3 tok/s")
                               .arg(formatSeconds(stats.prefillSeconds))
                               .arg(stats.generatedTokens)
                               .arg(stats.decodeTokensPerSecond, 0, 'f', 1);
    status_->setText(stats.cancelled ? tr("stopped · %1").arg(timing)
                                     : tr("done · %1").arg(timing));
}

}  // namespace studio
