#include "ProbePanel.h"

#include <algorithm>

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "Format.h"
#include "StatusColors.h"

namespace studio {
namespace {

QString describe(const selfextend::AttentionMode& mode,
                 const selfextend::AttentionMode& automatic) {
    if (mode.is_vanilla()) return QObject::tr("vanilla");
    QString text = QObject::tr("G=%1 W=%2").arg(mode.group).arg(mode.window);
    if (mode == automatic) text += QObject::tr(" (Auto)");
    return text;
}

}  // namespace

ProbePanel::ProbePanel(QWidget* parent)
    : QWidget(parent),
      intro_(new QLabel),
      cost_(new QLabel),
      run_(new QPushButton(tr("Probe this document"))),
      stop_(new QPushButton(tr("Stop"))),
      progress_(new QProgressBar),
      status_(new QLabel),
      table_(new QTableWidget),
      recommendation_(new QLabel),
      apply_(new QPushButton(tr("Use these settings"))) {
    for (const double depth : selfextend::ProbeOptions{}.depths) depths_ << depth;
    run_->setObjectName("probeButton");
    stop_->setObjectName("probeStop");
    progress_->setObjectName("probeProgress");
    status_->setObjectName("probeStatus");
    table_->setObjectName("probeTable");
    recommendation_->setObjectName("probeRecommendation");
    apply_->setObjectName("probeApply");
    cost_->setObjectName("probeCost");
    intro_->setWordWrap(true);
    QStringList percents;
    for (const double depth : depths_) percents << tr("%1%").arg(int(depth * 100 + 0.5));
    intro_->setText(
        tr("Plants %1 invented facts (a password, a safe's combination, …) at %2 of the open "
           "document, at its full length, and asks about each as you would, under Auto's G and W "
           "and the runner-up of the measured map: which setting answers from this very text. "
           "The runner-up is recommended only when it states at least %3 facts more than Auto "
           "(one fact either way is within what varies from text to text).")
            .arg(depths_.size())
            .arg(percents.join(QStringLiteral(", ")))
            .arg(selfextend::kProbeMargin));
    intro_->setForegroundRole(QPalette::PlaceholderText);
    cost_->setWordWrap(true);
    run_->setToolTip(tr("Each setting reads the whole document once"));
    stop_->setEnabled(false);
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    progress_->setFormat(tr("%p%"));
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionMode(QAbstractItemView::NoSelection);
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->hide();  // until a run has candidates to show
    recommendation_->setWordWrap(true);
    apply_->setEnabled(false);
    apply_->setToolTip(tr("Set G and W in the Self-Extend panel to the recommended ones"));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_);
    buttons->addWidget(stop_);
    buttons->addWidget(progress_, 1);

    auto* result = new QHBoxLayout;
    result->addWidget(recommendation_, 1);
    result->addWidget(apply_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro_);
    layout->addWidget(cost_);
    layout->addLayout(buttons);
    layout->addWidget(status_);
    layout->addWidget(table_, 1);
    layout->addStretch(0);
    layout->addLayout(result);

    connect(run_, &QPushButton::clicked, this, &ProbePanel::probeRequested);
    connect(stop_, &QPushButton::clicked, this, &ProbePanel::stopRequested);
    connect(apply_, &QPushButton::clicked, this, [this] {
        if (recommended_ && !recommended_->is_vanilla())
            emit applyRequested(recommended_->group, recommended_->window);
    });
}

void ProbePanel::setBusy(bool busy) {
    busy_ = busy;
    run_->setEnabled(!busy_ && blocked_.isEmpty());
    stop_->setEnabled(busy_);
    apply_->setEnabled(!busy_ && recommended_ && !recommended_->is_vanilla());
}

void ProbePanel::setBlocked(const QString& reason) {
    blocked_ = reason;
    run_->setToolTip(reason.isEmpty() ? tr("Each setting reads the whole document once") : reason);
    setBusy(busy_);
}

void ProbePanel::setCost(int readings, qint64 tokensPerReading, double estimatedSeconds) {
    if (readings < 1 || tokensPerReading <= 0) {
        cost_->clear();
        return;
    }
    const QString work =
        (readings == 1 ? tr("Reads the document once (%1 tokens)")
                       : tr("Reads the document %1 times (%2 tokens each)").arg(readings))
            .arg(formatCount(tokensPerReading));
    cost_->setText(
        estimatedSeconds >= 0
            ? tr("%1: about %2, from how long an Ask took to read it.")
                  .arg(work, formatSeconds(estimatedSeconds))
            : tr("%1: about as long as %2 on it when it is new (after an Ask, the "
                 "time is estimated here).")
                  .arg(work, readings == 1 ? tr("one Ask") : tr("%1 Asks").arg(readings)));
}

QString ProbePanel::costText() const {
    return cost_->text();
}

void ProbePanel::begin(const std::vector<selfextend::AttentionMode>& candidates,
                       const selfextend::AttentionMode& automatic) {
    automatic_ = automatic;
    recommended_.reset();
    recommendation_->clear();
    progress_->setValue(0);
    status_->setText(tr("starting…"));
    table_->clear();
    table_->show();
    table_->setRowCount(int(candidates.size()));
    QStringList columns;
    for (const double depth : depths_) columns << tr("fact at %1%").arg(int(depth * 100 + 0.5));
    columns << tr("found");
    table_->setColumnCount(int(columns.size()));
    table_->setHorizontalHeaderLabels(columns);
    QStringList rows;
    for (const auto& mode : candidates) rows << describe(mode, automatic);
    table_->setVerticalHeaderLabels(rows);
}

void ProbePanel::setProgress(qint64 done, qint64 total, double tokensPerSecond, double etaSeconds) {
    progress_->setValue(total > 0 ? int(1000 * done / total) : 0);
    // Each candidate reads the document's start fast and its end slowly (every token attends to
    // all before it): until the first candidate has read it all, the rate so far is optimistic.
    const int candidates = table_->rowCount();
    const bool firstGuess = candidates > 1 && done < total / candidates;
    status_->setText(tr("%1 / %2 tokens · %3 tok/s · ETA %4%5")
                         .arg(formatCount(done), formatCount(total))
                         .arg(tokensPerSecond, 0, 'f', 0)
                         .arg(formatSeconds(etaSeconds))
                         .arg(firstGuess ? tr(" (a first guess, likely short: it settles once the "
                                              "first candidate has read the whole document)")
                                         : QString()));
}

void ProbePanel::showResults(const ProbeResults& results, bool cancelled) {
    if (cancelled || results.empty()) {
        status_->setText(cancelled ? tr("stopped") : tr("failed (the message is above)"));
        return;
    }
    progress_->setValue(1000);
    status_->setText(
        tr("done · %1 candidates × %2 depths").arg(results.size()).arg(depths_.size()));
    for (size_t c = 0; c < results.size(); ++c) {
        const selfextend::ProbeResult& result = results[c];
        for (size_t d = 0; d < result.trials.size(); ++d) {
            const selfextend::ProbeTrial& trial = result.trials[d];
            const QString answer = QString::fromStdString(trial.answer).simplified();
            auto* item = new QTableWidgetItem(
                (trial.correct ? QStringLiteral("✓ ") : QStringLiteral("✗ ")) + answer);
            item->setToolTip(tr("Planted: %1\nAsked: %2\nAnswered: %3")
                                 .arg(QString::fromUtf8(trial.fact.sentence.data(),
                                                        qsizetype(trial.fact.sentence.size())),
                                      QString::fromUtf8(trial.fact.question.data(),
                                                        qsizetype(trial.fact.question.size())),
                                      answer));
            item->setForeground(statusColor(trial.correct ? Status::Good : Status::Bad));
            table_->setItem(int(c), int(d), item);
        }
        table_->setItem(
            int(c), int(result.trials.size()),
            new QTableWidgetItem(
                QStringLiteral("%1 / %2").arg(result.found()).arg(result.trials.size())));
    }
    const size_t best = selfextend::recommend_probe(results, automatic_);
    recommended_ = results[best].mode;
    for (int column = 0; column < table_->columnCount(); ++column)
        if (QTableWidgetItem* item = table_->item(int(best), column)) {
            QFont font = item->font();
            font.setBold(true);
            item->setFont(font);
        }
    const int most = std::ranges::max(results, {}, &selfextend::ProbeResult::found).found();
    const QString found = tr("%1 of %2 facts").arg(results[best].found()).arg(depths_.size());
    if (most == 0) {
        recommendation_->setText(
            tr("No setting stated a planted fact: this model does not retrieve them from this "
               "text at this length, so the probe cannot tell the settings apart. Auto's G and W "
               "stay."));
        recommended_ = automatic_;
        apply_->setEnabled(!busy_ && !automatic_.is_vanilla());
    } else if (recommended_->is_vanilla()) {
        recommendation_->setText(
            tr("Recommended: vanilla (%1): Self-Extend is not needed here.").arg(found));
        apply_->setEnabled(false);
    } else if (most > results[best].found()) {
        recommendation_->setText(
            tr("Recommended: G=%1 W=%2 (%3%4): another setting stated %5, fewer than %6 more, "
               "which is within what varies from text to text.")
                .arg(recommended_->group)
                .arg(recommended_->window)
                .arg(found, *recommended_ == automatic_ ? tr(", Auto's own choice") : QString())
                .arg(most)
                .arg(selfextend::kProbeMargin));
        apply_->setEnabled(!busy_);
    } else {
        recommendation_->setText(
            tr("Recommended: G=%1 W=%2 (%3%4).")
                .arg(recommended_->group)
                .arg(recommended_->window)
                .arg(found, *recommended_ == automatic_ ? tr(", Auto's own choice") : QString()));
        apply_->setEnabled(!busy_);
    }
}

QString ProbePanel::recommendationText() const {
    return recommendation_->text();
}

}  // namespace studio
