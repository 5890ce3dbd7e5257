#include "EvaluateTab.h"

#include <QChart>
#include <QChartView>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QResizeEvent>
#include <QSaveFile>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStyle>
#include <QTableWidget>
#include <QTextStream>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "Format.h"
#include "PasskeyHeatmap.h"
#include "StatusColors.h"

namespace studio {
namespace {

struct ParsedLengths {
    QList<qint64> lengths;
    QStringList invalid;  // entries that are not whole numbers above 1, as typed
};

ParsedLengths parseLengths(const QString& text) {
    ParsedLengths parsed;
    for (const QString& part : text.split(QRegularExpression("[,;\\s]+"), Qt::SkipEmptyParts)) {
        bool ok = false;
        const qint64 value = part.toLongLong(&ok);
        if (!ok || value <= 1)
            parsed.invalid << part;
        else if (!parsed.lengths.contains(value))
            parsed.lengths << value;
    }
    return parsed;
}

// Labelled ticks of a log axis: the powers of `base` inside [low, high].
int powersInside(double base, double low, double high) {
    const double first = std::ceil(std::log(low) / std::log(base) - 1e-9);
    const double last = std::floor(std::log(high) / std::log(base) + 1e-9);
    return int(std::max(0.0, last - first + 1));
}

QTableWidgetItem* cell(const QString& text,
                       Qt::Alignment alignment = Qt::AlignRight | Qt::AlignVCenter) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(alignment);
    return item;
}

}  // namespace

EvaluateTab::EvaluateTab(QWidget* parent)
    : QWidget(parent),
      modesLabel_(new QLabel),
      passkeyLengths_(new QLineEdit(QStringLiteral("512, 1024, 2048"))),
      depthCount_(new QSpinBox),
      trials_(new QSpinBox),
      runPasskey_(new QPushButton(tr("Run pass-key test"))),
      table_(new QTableWidget(0, 5)),
      heatmap_(new PasskeyHeatmap),
      perplexityLengths_(new QLineEdit(QStringLiteral("256, 512, 1024, 2048"))),
      maxWindows_(new QSpinBox),
      runPerplexity_(new QPushButton(tr("Measure perplexity"))),
      chartView_(new QChartView),
      passkeyBox_(new QGroupBox(tr("Pass-key retrieval"))),
      perplexityBox_(new QGroupBox),
      testsSplit_(new QSplitter(Qt::Horizontal)),
      vanillaSeries_(new QLineSeries),
      selfExtendSeries_(new QLineSeries),
      axisX_(new QValueAxis),
      axisY_(new QLogValueAxis),
      progress_(new QProgressBar),
      stop_(new QPushButton(tr("Stop"))) {
    runPasskey_->setObjectName("runPasskey");
    testsSplit_->setObjectName("evaluateTests");
    runPerplexity_->setObjectName("runPerplexity");
    table_->setObjectName("passkeyTable");
    passkeyLengths_->setObjectName("passkeyLengths");
    perplexityLengths_->setObjectName("perplexityLengths");
    depthCount_->setObjectName("depthCount");
    maxWindows_->setObjectName("maxWindows");
    passkeyLengths_->setToolTip(tr("Prompt lengths in tokens, separated by commas"));
    perplexityLengths_->setToolTip(tr("Window lengths in tokens, separated by commas"));
    depthCount_->setRange(1, 20);
    depthCount_->setValue(5);
    depthCount_->setToolTip(tr("Needle depths, spread evenly over the filler"));
    trials_->setRange(1, 50);
    trials_->setValue(1);
    trials_->setToolTip(tr("Keys tried at each length and depth"));
    maxWindows_->setRange(0, 1000);
    maxWindows_->setValue(2);
    maxWindows_->setSpecialValueText(tr("all"));
    maxWindows_->setToolTip(tr("Windows scored per length (0: every whole window)"));
    modesLabel_->setWordWrap(true);
    stop_->setEnabled(false);
    progress_->setObjectName("evaluationProgress");
    progress_->setRange(0, 1);
    progress_->setValue(0);

    table_->setHorizontalHeaderLabels(
        {tr("Length"), tr("Mode"), tr("Correct"), tr("Accuracy"), tr("Answers")});
    // Every column as wide as its contents (the answers scroll sideways rather than being cut).
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(false);
    table_->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    table_->verticalHeader()->hide();
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setAlternatingRowColors(true);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);

    // --- Pass key
    auto* passkeyForm = new QFormLayout;
    passkeyForm->addRow(tr("Lengths"), passkeyLengths_);
    auto* depthRow = new QHBoxLayout;
    depthRow->addWidget(depthCount_);
    depthRow->addWidget(new QLabel(tr("Trials per depth")));
    depthRow->addWidget(trials_);
    depthRow->addStretch(1);
    depthRow->addWidget(runPasskey_);
    passkeyForm->addRow(tr("Depths"), depthRow);
    auto* passkeySplit = new QSplitter(Qt::Vertical);
    passkeySplit->addWidget(table_);
    passkeySplit->addWidget(heatmap_);
    passkeySplit->setStretchFactor(1, 2);
    auto* passkeyLayout = new QVBoxLayout(passkeyBox_);
    passkeyLayout->addLayout(passkeyForm);
    passkeyLayout->addWidget(passkeySplit, 1);

    // --- Perplexity
    vanillaSeries_->setName(tr("vanilla"));
    selfExtendSeries_->setName(tr("Self-Extend"));
    vanillaSeries_->setPointsVisible(true);
    selfExtendSeries_->setPointsVisible(true);
    vanillaSeries_->setColor(statusColor(Status::Bad));
    selfExtendSeries_->setColor(statusColor(Status::Accent));
    auto* chart = new QChart;
    chart->addSeries(vanillaSeries_);
    chart->addSeries(selfExtendSeries_);
    axisX_->setTitleText(tr("window length (tokens)"));
    axisX_->setLabelFormat("%d");
    axisY_->setTitleText(tr("perplexity (log)"));
    axisY_->setLabelFormat("%g");
    axisY_->setBase(10);
    axisY_->setRange(1, 1000);
    axisX_->setRange(0, 2048);
    chart->addAxis(axisX_, Qt::AlignBottom);
    chart->addAxis(axisY_, Qt::AlignLeft);
    for (auto* series : {vanillaSeries_, selfExtendSeries_}) {
        series->attachAxis(axisX_);
        series->attachAxis(axisY_);
    }
    chart->legend()->setAlignment(Qt::AlignTop);
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->setBackgroundRoundness(0);
    chartView_->setChart(chart);
    chartView_->setRenderHint(QPainter::Antialiasing);
    chartView_->setMinimumHeight(fontMetrics().height() * 10);

    auto* perplexityForm = new QFormLayout;
    perplexityForm->addRow(tr("Lengths"), perplexityLengths_);
    auto* windowRow = new QHBoxLayout;
    windowRow->addWidget(maxWindows_);
    windowRow->addStretch(1);
    windowRow->addWidget(runPerplexity_);
    perplexityForm->addRow(tr("Windows"), windowRow);
    auto* perplexityLayout = new QVBoxLayout(perplexityBox_);
    perplexityLayout->addLayout(perplexityForm);
    perplexityLayout->addWidget(chartView_, 1);

    testsSplit_->addWidget(passkeyBox_);
    testsSplit_->addWidget(perplexityBox_);
    testsSplit_->setChildrenCollapsible(false);

    auto* exportCsv = new QPushButton(tr("Export CSV…"));
    auto* exportPng = new QPushButton(tr("Export PNG…"));
    // What both tests compare, then the run's progress, Stop and the exports, in one band.
    auto* runRow = new QHBoxLayout;
    runRow->addWidget(progress_, 1);
    runRow->addWidget(stop_);
    runRow->addWidget(exportCsv);
    runRow->addWidget(exportPng);
    auto* top = new QVBoxLayout;
    top->addWidget(modesLabel_);
    top->addLayout(runRow);

    // Two tests side by side need more room than a small window has: there they stand one above
    // the other and the page scrolls instead of squeezing them (arrangeTests). The progress,
    // Stop and the exports stay above the page, in view whatever is scrolled.
    auto* page = new QWidget;
    auto* pageLayout = new QVBoxLayout(page);
    pageLayout->addWidget(testsSplit_, 1);
    auto* scroll = new QScrollArea;
    scroll->setWidget(page);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    top->setContentsMargins(page->style()->pixelMetric(QStyle::PM_LayoutLeftMargin),
                            page->style()->pixelMetric(QStyle::PM_LayoutTopMargin),
                            page->style()->pixelMetric(QStyle::PM_LayoutRightMargin), 0);
    layout->addLayout(top);
    layout->addWidget(scroll, 1);

    connect(runPasskey_, &QPushButton::clicked, this, &EvaluateTab::passkeyRequested);
    connect(runPerplexity_, &QPushButton::clicked, this, &EvaluateTab::perplexityRequested);
    for (const bool selfExtend : {false, true}) {
        connect(perplexitySeries(selfExtend), &QLineSeries::hovered, this,
                [this, selfExtend](const QPointF& point, bool entered) {
                    if (entered)
                        QToolTip::showText(QCursor::pos(), pointToolTip(point, selfExtend),
                                           chartView_);
                    else
                        QToolTip::hideText();
                });
    }
    connect(stop_, &QPushButton::clicked, this, &EvaluateTab::stopRequested);
    connect(exportCsv, &QPushButton::clicked, this, &EvaluateTab::exportCsvInteractive);
    connect(exportPng, &QPushButton::clicked, this, &EvaluateTab::exportPngInteractive);
    setSelfExtend(4, 256);
    defaultPasskeyLengths_ = passkeyLengths_->text();
    defaultPerplexityLengths_ = perplexityLengths_->text();
    perplexityBox_->setTitle(perplexityTitle());
    arrangeTests();
}

void EvaluateTab::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    arrangeTests();
}

void EvaluateTab::arrangeTests() {
    // Side by side each test gets half the width: the table, a heatmap of two modes by five
    // depths and the chart need about 85 average characters each (at a 1366-pixel laptop
    // screen's ~950-pixel tab the mode names were cut and the table scrolled sideways).
    const int characters = fontMetrics().averageCharWidth();
    const int line = fontMetrics().height();
    const bool sideBySide = width() >= 170 * characters;
    testsSplit_->setOrientation(sideBySide ? Qt::Horizontal : Qt::Vertical);
    // One above the other, each keeps the height it needs to be read: the page scrolls.
    passkeyBox_->setMinimumHeight(sideBySide ? 0 : 30 * line);
    perplexityBox_->setMinimumHeight(sideBySide ? 0 : 22 * line);
}

void EvaluateTab::setLimits(qint64 trainingWindow, qint64 capacity) {
    if (trainingWindow <= 0) return;
    // Half the window (inside it), the window (its edge) and, past it, the longest that leaves
    // a tenth of the capacity for the question and the answer, on a 256-token step.
    QList<qint64> lengths{trainingWindow / 2, trainingWindow};
    const qint64 past = capacity * 9 / 10 / 256 * 256;
    if (past > trainingWindow) lengths.append(past);
    QStringList items;
    for (const qint64 length : lengths) items << QString::number(length);
    const QString defaults = items.join(QStringLiteral(", "));
    const auto follow = [&](QLineEdit* edit, QString& lastDefault) {
        if (edit->text() != lastDefault) return;  // the user's own lengths stay
        edit->setText(defaults);
        lastDefault = defaults;
    };
    follow(passkeyLengths_, defaultPasskeyLengths_);
    follow(perplexityLengths_, defaultPerplexityLengths_);
}

void EvaluateTab::setDocument(const QString& name) {
    if (name == document_) return;
    document_ = name;
    perplexityBox_->setTitle(perplexityTitle());
    // Points measured on another text are not this one's.
    vanillaSeries_->clear();
    selfExtendSeries_->clear();
    previousVanilla_.clear();
    previousSelfExtend_.clear();
    rescaleChart();
}

QString EvaluateTab::perplexityTitle() const {
    return document_.isEmpty() ? tr("Perplexity vs length (open a document)")
                               : tr("Perplexity vs length on %1").arg(document_);
}

void EvaluateTab::setSelfExtend(int group, int window) {
    modesLabel_->setText(tr("Compares vanilla with Self-Extend G=%1 W=%2 (set in the Self-Extend "
                            "panel).")
                             .arg(group)
                             .arg(window));
}

void EvaluateTab::setBusy(bool busy) {
    runPasskey_->setEnabled(!busy);
    runPerplexity_->setEnabled(!busy);
    stop_->setEnabled(busy);
    if (busy) progress_->setRange(0, 0);  // busy until the first progress report
}

void EvaluateTab::beginPerplexityRun() {
    previousVanilla_ = vanillaSeries_->points();
    previousSelfExtend_ = selfExtendSeries_->points();
    vanillaSeries_->clear();
    selfExtendSeries_->clear();
    perplexityRunning_ = true;
}

void EvaluateTab::finishRun(bool completed) {
    if (!completed) {
        // A stopped or failed run: the bar does not stay part-way, the last whole chart returns.
        progress_->setRange(0, 1);
        progress_->setValue(0);
        if (perplexityRunning_) {
            vanillaSeries_->replace(previousVanilla_);
            selfExtendSeries_->replace(previousSelfExtend_);
            rescaleChart();
        }
    }
    perplexityRunning_ = false;
}

void EvaluateTab::setProgress(qint64 done, qint64 total) {
    progress_->setRange(0, int(std::max<qint64>(total, 1)));
    progress_->setValue(int(done));
}

QList<qint64> EvaluateTab::passkeyLengths() const {
    return parseLengths(passkeyLengths_->text()).lengths;
}
QList<qint64> EvaluateTab::perplexityLengths() const {
    return parseLengths(perplexityLengths_->text()).lengths;
}
QStringList EvaluateTab::invalidPasskeyLengths() const {
    return parseLengths(passkeyLengths_->text()).invalid;
}
QStringList EvaluateTab::invalidPerplexityLengths() const {
    return parseLengths(perplexityLengths_->text()).invalid;
}
int EvaluateTab::trials() const {
    return trials_->value();
}
int EvaluateTab::maxWindows() const {
    return maxWindows_->value();
}

QList<double> EvaluateTab::passkeyDepths() const {
    // Evenly spread, centred in equal slices: 5 depths give 0.1, 0.3, 0.5, 0.7, 0.9.
    QList<double> depths;
    const int n = depthCount_->value();
    for (int i = 0; i < n; ++i) depths << (i + 0.5) / n;
    return depths;
}

void EvaluateTab::showPasskeyResults(const PasskeyResults& results) {
    passkeyResults_ = results;
    table_->setRowCount(int(results.size()));
    for (int row = 0; row < int(results.size()); ++row) {
        const auto& r = results[size_t(row)];
        QStringList answers;
        for (const auto& trial : r.details)
            answers << QStringLiteral("%1→%2").arg(QString::fromStdString(trial.key),
                                                   QString::fromStdString(trial.answer).trimmed());
        table_->setItem(row, 0, cell(formatCount(r.length)));
        table_->setItem(
            row, 1,
            cell(QString::fromStdString(r.mode.describe()), Qt::AlignLeft | Qt::AlignVCenter));
        table_->setItem(row, 2, cell(QStringLiteral("%1/%2").arg(r.correct).arg(r.trials)));
        auto* accuracy = cell(QStringLiteral("%1%").arg(r.accuracy() * 100, 0, 'f', 0));
        accuracy->setBackground(QColor::fromHsvF(float(0.33 * r.accuracy()), 0.35f, 0.97f));
        accuracy->setForeground(Qt::black);
        table_->setItem(row, 3, accuracy);
        auto* answerCell =
            cell(answers.join(QStringLiteral(", ")), Qt::AlignLeft | Qt::AlignVCenter);
        answerCell->setToolTip(answerCell->text());
        table_->setItem(row, 4, answerCell);
    }
    table_->resizeColumnsToContents();
    heatmap_->setResults(results);
}

void EvaluateTab::addPerplexityPoint(qint64 length, bool selfExtend, double perplexity) {
    (selfExtend ? selfExtendSeries_ : vanillaSeries_)->append(double(length), perplexity);
    rescaleChart();
}

void EvaluateTab::rescaleChart() {
    double maxX = 1, minY = 1e300, maxY = 1;
    for (const auto* series : {vanillaSeries_, selfExtendSeries_}) {
        for (const QPointF& point : series->points()) {
            maxX = std::max(maxX, point.x());
            minY = std::min(minY, point.y());
            maxY = std::max(maxY, point.y());
        }
    }
    if (minY > maxY) minY = 1;
    // Ticks at powers of two of tokens (256, 512, 1024...), at most about six of them.
    double step = 128;
    while (maxX / step > 6) step *= 2;
    axisX_->setTickType(QValueAxis::TicksDynamic);
    axisX_->setTickAnchor(0);
    axisX_->setTickInterval(step);
    axisX_->setRange(0, maxX * 1.05);
    // Base 10 when the values span three decades; else base 2, the range widened until at least
    // three powers carry labels (one labelled tick says nothing about the scale).
    double low = std::max(1.0, minY / 1.5), high = std::max(maxY * 1.5, low * 2);
    const double base = high / low >= 1000 ? 10 : 2;
    while (powersInside(base, low, high) < 3) {
        if (low > 1) low = std::max(1.0, low / base);
        if (powersInside(base, low, high) < 3) high *= base;
    }
    axisY_->setBase(base);
    axisY_->setMinorTickCount(base == 10 ? 8 : 0);
    axisY_->setRange(low, high);
}

QList<double> EvaluateTab::perplexityTicks() const {
    QList<double> ticks;
    const double base = axisY_->base();
    for (double power = std::pow(base, std::ceil(std::log(axisY_->min()) / std::log(base) - 1e-9));
         power <= axisY_->max() * (1 + 1e-9); power *= base)
        ticks << power;
    return ticks;
}

QLineSeries* EvaluateTab::perplexitySeries(bool selfExtend) const {
    return selfExtend ? selfExtendSeries_ : vanillaSeries_;
}

QList<QPointF> EvaluateTab::perplexityPoints(bool selfExtend) const {
    return perplexitySeries(selfExtend)->points();
}

QString EvaluateTab::pointToolTip(const QPointF& point, bool selfExtend) const {
    // The hover position lies anywhere on the line: name the measured point nearest to it.
    const QList<QPointF> points = perplexityPoints(selfExtend);
    if (points.isEmpty()) return {};
    const QPointF nearest =
        *std::min_element(points.begin(), points.end(), [&](const QPointF& a, const QPointF& b) {
            return std::abs(a.x() - point.x()) < std::abs(b.x() - point.x());
        });
    return tr("%1: perplexity %2 at %3 tokens")
        .arg(selfExtend ? tr("Self-Extend") : tr("vanilla"))
        .arg(nearest.y(), 0, 'f', 2)
        .arg(formatCount(qint64(nearest.x())));
}

int EvaluateTab::passkeyRowCount() const {
    return table_->rowCount();
}
int EvaluateTab::perplexityPointCount() const {
    return int(vanillaSeries_->count() + selfExtendSeries_->count());
}

bool EvaluateTab::exportCsv(const QString& path) const {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) return false;
    QTextStream out(&file);
    out << "test,length,mode,depth,key,answer,correct,perplexity\n";
    for (const auto& result : passkeyResults_) {
        for (const auto& trial : result.details) {
            QString answer = QString::fromStdString(trial.answer);
            answer.replace('"', "\"\"");
            out << "passkey," << result.length << ",\""
                << QString::fromStdString(result.mode.describe()) << "\"," << trial.depth << ','
                << QString::fromStdString(trial.key) << ",\"" << answer << "\","
                << (trial.correct ? 1 : 0) << ",\n";
        }
    }
    for (const auto* series : {vanillaSeries_, selfExtendSeries_}) {
        for (const QPointF& point : series->points()) {
            out << "perplexity," << qint64(point.x()) << ",\"" << series->name() << "\",,,,,"
                << point.y() << '\n';
        }
    }
    out.flush();
    return file.commit();
}

bool EvaluateTab::exportPng(const QString& path) {
    // Heatmap above, chart below: one picture of everything the tab measured.
    const QPixmap heat = heatmap_->grab();
    const QPixmap chart = chartView_->grab();
    QPixmap combined(std::max(heat.width(), chart.width()), heat.height() + chart.height());
    combined.setDevicePixelRatio(heat.devicePixelRatio());
    combined.fill(palette().color(QPalette::Window));
    {
        QPainter painter(&combined);
        painter.drawPixmap(0, 0, heat);
        painter.drawPixmap(0, int(heat.height() / heat.devicePixelRatio()), chart);
    }
    return combined.save(path, "PNG");
}

void EvaluateTab::exportCsvInteractive() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export results as CSV"),
                                                      QStringLiteral("selfextend-results.csv"),
                                                      tr("CSV files (*.csv)"));
    if (!path.isEmpty() && !exportCsv(path)) emit exportFailed(tr("Could not write %1").arg(path));
}

void EvaluateTab::exportPngInteractive() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export charts as PNG"),
                                                      QStringLiteral("selfextend-results.png"),
                                                      tr("PNG images (*.png)"));
    if (!path.isEmpty() && !exportPng(path)) emit exportFailed(tr("Could not write %1").arg(path));
}

}  // namespace studio
