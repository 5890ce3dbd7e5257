// The Evaluate tab: the pass-key test (results table + heatmap) and perplexity against length for
// the open document (a Qt Charts line chart of vanilla vs Self-Extend), with CSV/PNG export.
// Both compare vanilla with the Self-Extend panel's current G and W.
#pragma once

#include <QWidget>

#include "EngineTypes.h"

class QChart;
class QChartView;
class QLabel;
class QLineEdit;
class QLineSeries;
class QLogValueAxis;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QValueAxis;

namespace studio {

class PasskeyHeatmap;

class EvaluateTab : public QWidget {
    Q_OBJECT

  public:
    explicit EvaluateTab(QWidget* parent = nullptr);

    void setSelfExtend(int group, int window);
    void setBusy(bool busy);
    void setProgress(qint64 done, qint64 total);
    void showPasskeyResults(const PasskeyResults& results);
    void addPerplexityPoint(qint64 length, bool selfExtend, double perplexity);

    bool exportCsv(const QString& path) const;
    bool exportPng(const QString& path);
    int passkeyRowCount() const;
    int perplexityPointCount() const;

    // Parsed from the line edits; invalid entries are skipped.
    QList<qint64> passkeyLengths() const;
    QList<double> passkeyDepths() const;
    QList<qint64> perplexityLengths() const;
    int trials() const;
    int maxWindows() const;

  signals:
    void passkeyRequested();
    void perplexityRequested();
    void stopRequested();
    void exportFailed(const QString& message);

  private:
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
    QLineSeries* vanillaSeries_;
    QLineSeries* selfExtendSeries_;
    QValueAxis* axisX_;
    QLogValueAxis* axisY_;
    QProgressBar* progress_;
    QPushButton* stop_;
    PasskeyResults passkeyResults_;
};

}  // namespace studio
