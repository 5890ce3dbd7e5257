// A horizontal gauge: a value drawn against a limit, green while it stays under the limit and red
// (or amber, for a limit that is only a hint) once it passes it. The Self-Extend panel uses two:
// document tokens vs capacity, and the largest used position vs 2/3 L (the authors' rule of thumb).
#pragma once

#include <QString>
#include <QWidget>

#include "StatusColors.h"

namespace studio {

class CapacityGauge : public QWidget {
    Q_OBJECT

  public:
    explicit CapacityGauge(QWidget* parent = nullptr);

    // value < 0 means unknown (no document yet): only the limit is drawn.
    void setValues(double value, double limit, const QString& valueLabel,
                   const QString& limitLabel);
    bool withinLimit() const { return value_ >= 0 && value_ <= limit_; }
    // The colour past the limit: Bad for a hard limit, Warn for a hint.
    void setOverLimitStatus(Status status) { overLimit_ = status; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    double value_ = -1;
    double limit_ = 1;
    QString valueLabel_;
    QString limitLabel_;
    Status overLimit_ = Status::Bad;
};

}  // namespace studio
