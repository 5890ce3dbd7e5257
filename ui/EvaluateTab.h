// The Evaluate tab: the pass-key test (results table + heatmap) and perplexity against length for
// the open document (a Qt Charts line chart of vanilla vs Self-Extend), with CSV/PNG export.
// Both compare vanilla with the Self-Extend panel's current G and W.
#pragma once

#include <QPointF>
#include <QWidget>

#include "EngineTypes.h"

class QChart;
class QChartView;
class QGroupBox;
class QLabel;
class QLineEdit;
class QLineSeries;
class QLogValueAxis;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;
class QTableWidget;
class QValueAxis;

namespace studio {

class PasskeyHeatmap;

class EvaluateTab : public QWidget {
    Q_OBJECT

  public:
    explicit EvaluateTab(QWidget* parent = nullptr);

    void setSelfExtend(int group, int window);
    // The model's training window and the current capacity: the default lengths of both tests
    // follow them (half the window, the window, and near the capacity when it is larger) until
    // the user writes lengths of their own.
    void setLimits(qint64 trainingWindow, qint64 capacity);
    // The document perplexity is measured on: a chart measured on another one goes, and the
    // perplexity test names the document it measures.
    void setDocument(const QString& name);
    QString perplexityTitle() const;
    void setBusy(bool busy);
    void setProgress(qint64 done, qint64 total);
    void showPasskeyResults(const PasskeyResults& results);
    void addPerplexityPoint(qint64 length, bool selfExtend, double perplexity);

    // A perplexity run starts: the chart is cleared for its points, the previous ones kept
    // until it completes. finishRun(false) (stopped or failed) puts them back and resets the bar.
    void beginPerplexityRun();
    void finishRun(bool completed);

    bool exportCsv(const QString& path) const;
    bool exportPng(const QString& path);
    int passkeyRowCount() const;
    int perplexityPointCount() const;
    QList<QPointF> perplexityPoints(bool selfExtend) const;
    QLineSeries* perplexitySeries(bool selfExtend) const;
    // The values the perplexity axis labels (powers of its base inside its range).
    QList<double> perplexityTicks() const;
    // What hovering the chart near `point` of a series shows.
    QString pointToolTip(const QPointF& point, bool selfExtend) const;

    // Parsed from the line edits; the entries that are not lengths are listed apart.
    QList<qint64> passkeyLengths() const;
    QList<double> passkeyDepths() const;
    QList<qint64> perplexityLengths() const;
    QStringList invalidPasskeyLengths() const;
    QStringList invalidPerplexityLengths() const;
    int trials() const;
    int maxWindows() const;

  signals:
    void passkeyRequested();
    void perplexityRequested();
    void stopRequested();
    void exportFailed(const QString& message);

  protected:
    void resizeEvent(QResizeEvent* event) override;

  private:
    // The two tests side by side where the tab is wide enough, else one above the other.
    void arrangeTests();
    void exportCsvInteractive();
    void exportPngInteractive();
    void rescaleChart();

    QLabel* modesLabel_;
    QLineEdit* passkeyLengths_;
    QSpinBox* depthCount_;
    QSpinBox* trials_;
    QPushButton* runPasskey_;
    QTableWidget* table_;
    PasskeyHeatmap* heatmap_;
    QLineEdit* perplexityLengths_;
    QSpinBox* maxWindows_;
    QPushButton* runPerplexity_;
    QChartView* chartView_;
    QGroupBox* passkeyBox_;
    QGroupBox* perplexityBox_;
    QSplitter* testsSplit_;
    QLineSeries* vanillaSeries_;
    QLineSeries* selfExtendSeries_;
    QValueAxis* axisX_;
    QLogValueAxis* axisY_;
    QProgressBar* progress_;
    QPushButton* stop_;
    PasskeyResults passkeyResults_;
    // The chart before the running perplexity run, restored if that run does not complete.
    QList<QPointF> previousVanilla_;
    QList<QPointF> previousSelfExtend_;
    bool perplexityRunning_ = false;
    // The lengths last filled in by setLimits: a field that still holds them is the tab's to
    // change, one that does not is the user's.
    QString defaultPasskeyLengths_;
    QString defaultPerplexityLengths_;
    QString document_;
};

}  // namespace studio
