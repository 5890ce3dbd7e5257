#include "AnswerPane.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QScrollBar>
#include <QStyle>
#include <QTextBrowser>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include "Format.h"
#include "SourcesBar.h"

namespace studio {
namespace {

// The streaming answer, rendered from Markdown about 5 times a second: parsing the whole
// conversation again is cheap at that rate and keeps the GUI thread idle for the decode.
constexpr int kRepaintIntervalMs = 200;
constexpr int kStatusIntervalMs = 250;  // the decoding status line

// A question as a Markdown paragraph of its own: its characters are shown, never read as markup.
QString questionMarkdown(const QString& question) {
    QString escaped;
    for (const QChar c : question) {
        if (QStringLiteral("\\`*_{}[]()<>#+-.!|~").contains(c)) escaped += QLatin1Char('\\');
        escaped += c;
    }
    return QStringLiteral("**▸ %1**\n\n").arg(escaped);
}

}  // namespace

AnswerPane::AnswerPane(AnswerSide side, QWidget* parent)
    : QFrame(parent),
      side_(side),
      enabled_(new QCheckBox(side == AnswerSide::Vanilla ? tr("Vanilla") : tr("Self-Extend"))),
      settings_(new QLabel),
      promptTokens_(new QLabel),
      prefill_(new QProgressBar),
      status_(new QLabel),
      stop_(new QToolButton),
      copy_(new QToolButton),
      continue_(new QToolButton),
      stale_(new QLabel),
      sources_(new SourcesBar(side)),
      text_(new QTextBrowser) {
    const QString prefix = side == AnswerSide::Vanilla ? "vanilla" : "selfExtend";
    setObjectName(prefix + "Pane");
    enabled_->setObjectName(prefix + "Enabled");
    stop_->setObjectName(prefix + "Stop");
    text_->setObjectName(prefix + "Answer");
    status_->setObjectName(prefix + "Status");
    stale_->setObjectName(prefix + "Stale");
    setFrameShape(QFrame::StyledPanel);
    stale_->setWordWrap(true);
    stale_->setStyleSheet("QLabel { color: #9a5b00; font-weight: bold; }");
    stale_->hide();
    flushTimer_.setSingleShot(true);
    flushTimer_.setInterval(kRepaintIntervalMs);
    connect(&flushTimer_, &QTimer::timeout, this, &AnswerPane::flushPendingText);

    QFont bold = enabled_->font();
    bold.setBold(true);
    enabled_->setFont(bold);
    enabled_->setChecked(true);
    enabled_->setToolTip(tr("Include this run in the next question"));
    settings_->setWordWrap(true);
    status_->setWordWrap(true);
    settings_->setObjectName(prefix + "Settings");
    for (auto* label : {settings_, promptTokens_, status_}) {
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
        label->setForegroundRole(QPalette::PlaceholderText);
    }
    prefill_->setRange(0, 1000);
    prefill_->setValue(0);
    prefill_->setFormat(tr("prefill %p%"));
    // An icon, so that the header fits a half of a small window.
    stop_->setIcon(style()->standardIcon(QStyle::SP_MediaStop));
    stop_->setText(tr("Stop"));
    stop_->setAutoRaise(true);
    stop_->setEnabled(false);
    stop_->setToolTip(tr("Stop this run (Esc stops both)"));
    continue_->setObjectName(prefix + "Continue");
    continue_->setText(tr("Continue"));
    continue_->setIcon(style()->standardIcon(QStyle::SP_MediaSeekForward));
    continue_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    continue_->setAutoRaise(true);
    continue_->setToolTip(tr("The token limit cut this answer: generate more of it"));
    continue_->hide();
    copy_->setObjectName(prefix + "Copy");
    copy_->setIcon(QIcon::fromTheme(QStringLiteral("edit-copy"),
                                    style()->standardIcon(QStyle::SP_FileDialogContentsView)));
    copy_->setText(tr("Copy"));
    copy_->setAutoRaise(true);
    copy_->setToolTip(tr("Copy the latest answer"));
    connect(copy_, &QToolButton::clicked, this, [this] {
        QApplication::clipboard()->setText(answer().trimmed());
        // Feedback where the click was: the button says it for a moment.
        copy_->setText(tr("Copied"));
        QTimer::singleShot(1500, copy_, [this] { copy_->setText(tr("Copy")); });
    });
    text_->setReadOnly(true);
    text_->setOpenExternalLinks(false);  // a model's link is shown, not followed
    text_->setOpenLinks(false);
    // However far the document above is enlarged, an answer keeps a few lines (issue 22.18: the
    // splitter squeezed it to two).
    text_->setMinimumHeight(fontMetrics().height() * 5);
    text_->setPlaceholderText(tr("The answer streams here."));
    textPalette_ = text_->palette();

    auto* header = new QHBoxLayout;
    header->addWidget(enabled_);
    if (side == AnswerSide::Vanilla) {
        vanillaMode_ = new QComboBox;
        vanillaMode_->setObjectName("vanillaMode");
        vanillaMode_->addItems({tr("overflowing past L"), tr("truncated to L")});
        // Narrow windows shorten the shown item instead of clipping the header.
        vanillaMode_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        vanillaMode_->setMinimumContentsLength(6);
        vanillaMode_->setToolTip(
            tr("Overflowing: the whole prompt runs past the training window L, to show what "
               "happens there. Truncated: only the last L tokens, the question kept and the "
               "start of the document dropped."));
        header->addWidget(vanillaMode_, 1);
        connect(vanillaMode_, &QComboBox::currentIndexChanged, this,
                [this](int index) { emit truncatedChanged(index == 1); });
    } else {
        header->addStretch(1);
    }
    header->addWidget(continue_);
    header->addWidget(copy_);
    header->addWidget(stop_);

    auto* stats = new QHBoxLayout;
    stats->addWidget(promptTokens_);
    stats->addWidget(prefill_, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addWidget(settings_);
    layout->addLayout(stats);
    layout->addWidget(status_);
    layout->addWidget(stale_);
    layout->addWidget(text_, 1);
    layout->addWidget(sources_);

    connect(stop_, &QToolButton::clicked, this, &AnswerPane::stopRequested);
    connect(continue_, &QToolButton::clicked, this, &AnswerPane::continueRequested);
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
    return answer_ + pendingText_;
}
QTextDocument* AnswerPane::document() const {
    return text_->document();
}

void AnswerPane::clearConversation() {
    turns_.clear();
    continue_->hide();
    if (!running_) {
        text_->clear();
        conversationMarkdown_.clear();
        answer_.clear();
        sources_->clear();  // the sources were the dropped answer's
    }
}

void AnswerPane::restoreConversation(const QList<Turn>& turns) {
    if (running_ || turns.isEmpty()) return;
    turns_ = turns;
    for (Turn& turn : turns_) turn.restored = true;
    question_.clear();
    answer_ = turns.constLast().answer;
    showConversation();
    promptTokens_->clear();
    prefill_->setValue(0);
    // The settings line shows what the next question will run with; each restored answer says
    // what it was answered with under it, and the status line the latest.
    status_->setText(tr("restored from the last session · %1 · %2")
                         .arg(formatTurns(turns.size()), turns.constLast().settings));
    hasResult_ = false;  // nothing ran in this session: no staleness to judge
}

QString AnswerPane::turnNote(const Turn& turn) const {
    // Said where it matters: an answer from another session, or made with other settings than
    // the pane's current ones (a conversation continued after a change).
    if (turn.settings.isEmpty()) return {};
    if (turn.restored) return tr("answered in the last session with %1").arg(turn.settings);
    if (runMode(turn.settings) != runMode(settings_->text()))
        return tr("answered with %1").arg(turn.settings);
    return {};
}

void AnswerPane::showConversation() {
    // A single question shows only its answer; a conversation shows each question above its
    // answer. During a run the latest answer follows; a restored conversation ends at its last
    // turn.
    QString markdown;
    const bool restored = !running_ && question_.isEmpty();
    const qsizetype shown = restored ? turns_.size() - 1 : turns_.size();
    for (qsizetype k = 0; k < shown; ++k) {
        markdown += questionMarkdown(turns_[k].question) + turns_[k].answer.trimmed() +
                    QStringLiteral("\n\n");
        if (const QString note = turnNote(turns_[k]); !note.isEmpty())
            markdown += QStringLiteral("*%1*\n\n").arg(note);
    }
    if (restored && !turns_.isEmpty())
        markdown += questionMarkdown(turns_.constLast().question);
    else if (!turns_.isEmpty())
        markdown += questionMarkdown(question_);
    conversationMarkdown_ = markdown;
    if (!restored) answer_.clear();
    const QString lastNote =
        restored && !turns_.isEmpty() ? turnNote(turns_.constLast()) : QString();
    render(lastNote.isEmpty() ? QString() : QStringLiteral("\n\n*%1*").arg(lastNote));
}

void AnswerPane::render(const QString& note) {
    QScrollBar* bar = text_->verticalScrollBar();
    const bool atEnd = bar->value() >= bar->maximum() - 4;
    const int previous = bar->value();
    text_->setMarkdown(conversationMarkdown_ + answer_ + note);
    // Follow the answer while the reader is at its end; else leave their scroll position.
    bar->setValue(atEnd ? bar->maximum() : previous);
}
QString AnswerPane::statusText() const {
    return status_->text();
}
QString AnswerPane::settingsText() const {
    return settings_->text();
}
QString AnswerPane::staleText() const {
    return stale_->isHidden() ? QString() : stale_->text();
}
bool AnswerPane::isStale() const {
    return !stale_->isHidden();
}

void AnswerPane::setStale(const QString& reason) {
    if (reason == stale_->text() && stale_->isHidden() == reason.isEmpty()) return;
    stale_->setText(reason);
    stale_->setVisible(!reason.isEmpty());
    QPalette palette = textPalette_;
    if (!reason.isEmpty())
        palette.setColor(QPalette::Text, textPalette_.color(QPalette::PlaceholderText));
    text_->setPalette(palette);
}

void AnswerPane::markQueued(const QString& question) {
    continue_->hide();
    sources_->clear();
    flushTimer_.stop();
    pendingText_.clear();
    question_ = question;
    showConversation();
    setStale({});
    hasResult_ = false;
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

void AnswerPane::markNotNeeded(const QString& reason) {
    sources_->clear();
    question_.clear();
    conversationMarkdown_.clear();
    answer_.clear();
    render(QStringLiteral("*%1*").arg(reason));
    prefill_->setValue(0);
    promptTokens_->clear();
    setStale({});
    status_->setText(tr("not needed"));
}

void AnswerPane::markNotRun() {
    running_ = false;
    stop_->setEnabled(false);
    status_->setText(tr("not run"));
}

void AnswerPane::resume(const QString& settings) {
    if (running_ || turns_.isEmpty()) return;
    continue_->hide();
    running_ = true;
    settings_->setText(settings);
    const Turn last = turns_.takeLast();
    question_ = last.question;
    showConversation();  // the turns before it, and its question
    answer_ = last.answer;
    pendingText_.clear();
    render();
    status_->setText(tr("continuing…"));
    statusClock_.invalidate();
    stop_->setEnabled(true);
}

void AnswerPane::begin(const QString& settings, qint64 promptTokens, bool followUp) {
    continue_->hide();
    running_ = true;
    hasResult_ = true;
    settings_->setText(settings);
    promptTokens_->setText(tr("%1 prompt tokens").arg(formatCount(promptTokens)));
    if (!followUp) turns_.clear();
    pendingText_.clear();
    showConversation();
    setStale({});
    prefill_->setValue(0);
    status_->setText(tr("prefilling…"));
    statusClock_.invalidate();
    stop_->setEnabled(true);
}

void AnswerPane::setPrefillProgress(qint64 done, qint64 total, double tokensPerSecond,
                                    double etaSeconds, double etaHighSeconds) {
    prefill_->setValue(total > 0 ? int(1000 * done / total) : 0);
    status_->setText(tr("prefill %1 / %2 tokens · %3 tok/s · ETA %4")
                         .arg(formatCount(done), formatCount(total))
                         .arg(tokensPerSecond, 0, 'f', 0)
                         .arg(formatEta(etaSeconds, etaHighSeconds)));
}

void AnswerPane::appendToken(const QString& text, qint64 generated, double tokensPerSecond) {
    pendingText_ += text;
    lastGenerated_ = generated;
    lastRate_ = tokensPerSecond;
    if (!flushTimer_.isActive()) flushTimer_.start();
}

void AnswerPane::flushPendingText() {
    prefill_->setValue(1000);
    if (!pendingText_.isEmpty()) {
        answer_ += pendingText_;
        pendingText_.clear();
        render();
    }
    // A new status text lays the window out again: a few times a second is enough to read it.
    if (running_ && (!statusClock_.isValid() || statusClock_.elapsed() >= kStatusIntervalMs)) {
        statusClock_.start();
        status_->setText(
            tr("decoding · %1 tokens · %2 tok/s").arg(lastGenerated_).arg(lastRate_, 0, 'f', 1));
    }
}

void AnswerPane::finish(const RunStats& stats) {
    flushTimer_.stop();
    flushPendingText();
    running_ = false;
    stop_->setEnabled(false);
    if (!stats.error.isEmpty()) {
        status_->setText(tr("failed (the message is above the panes)"));
        return;
    }
    // The turn joins the conversation once its prompt is read (as the worker's does).
    if (stats.prefilledTokens == stats.promptTokens)
        turns_.append({question_, answer(), runSettings(settings_->text())});
    const double prefillRate =
        stats.prefillSeconds > 0 ? double(stats.prefilledTokens) / stats.prefillSeconds : 0;
    if (stats.prefilledTokens < stats.promptTokens) {
        // Stopped during the prefill: what it had done by then, which the session keeps.
        prefill_->setValue(
            stats.promptTokens > 0 ? int(1000 * stats.prefilledTokens / stats.promptTokens) : 0);
        status_->setText(tr("stopped during prefill · %1 of %2 prompt tokens in %3 (%4 tok/s) · "
                            "asking again goes on from there")
                             .arg(formatCount(stats.prefilledTokens),
                                  formatCount(stats.promptTokens),
                                  formatSeconds(stats.prefillSeconds))
                             .arg(prefillRate, 0, 'f', 0));
        return;
    }
    // Only what was computed counts toward the prefill rate; the rest the session held already.
    const qint64 computed = stats.prefilledTokens - stats.reusedTokens;
    const double computedRate =
        stats.prefillSeconds > 0 ? double(computed) / stats.prefillSeconds : 0;
    const QString reuse =
        stats.fromDiskCache ? tr(" (the document from the disk cache)")
        : stats.reusedTokens > 0
            ? tr(" (%1 kept from the last question)").arg(formatCount(stats.reusedTokens))
            : QString();
    const QString timing = tr("prefill %1 in %2 (%3 tok/s)%4 · %5 at %6 tok/s")
                               .arg(formatTokens(computed), formatSeconds(stats.prefillSeconds))
                               .arg(computedRate, 0, 'f', 0)
                               .arg(reuse)
                               .arg(formatTokens(stats.generatedTokens))
                               .arg(stats.decodeTokensPerSecond, 0, 'f', 1);
    if (stats.cancelled) {
        status_->setText(tr("stopped · %1").arg(timing));
    } else if (answer_.trimmed().isEmpty()) {
        // An empty answer is an answer: say so where the answer would be, not only "0 tokens".
        status_->setText(tr("done · no answer · %1").arg(timing));
        render(tr("*No answer: the model ended its turn at once.*"));
    } else if (stats.cutByTokenLimit) {
        status_->setText(tr("cut at the token limit (%1): Continue for more · %2")
                             .arg(formatTokens(stats.generatedTokens), timing));
        render(QStringLiteral(" …"));
        continue_->show();
    } else {
        status_->setText(tr("done · %1").arg(timing));
    }
}

}  // namespace studio
