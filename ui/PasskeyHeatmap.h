// Pass-key accuracy as a grid: one row per prompt length, one column per (mode, depth), each
// cell coloured from red (0%) to green (100%) with its score written in it.
#pragma once

#include <QWidget>

#include "EngineTypes.h"

namespace studio {

class PasskeyHeatmap : public QWidget {
    Q_OBJECT

  public:
    explicit PasskeyHeatmap(QWidget* parent = nullptr);

    void setResults(const PasskeyResults& results);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    struct Cell {
        int correct = 0;
        int trials = 0;
    };
    QList<qint64> lengths_;
    QStringList modes_;
    QList<double> depths_;
    QList<Cell> cells_;  // row-major: length, then mode, then depth
};

}  // namespace studio
