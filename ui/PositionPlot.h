// A small plot of the relative position the model sees against the true distance between a
// query and a key: the identity up to W, then the grouped staircase of Self-Extend. Horizontal
// lines mark the training window L and 2/3 L; a vertical one marks the document's length.
#pragma once

#include <QWidget>

namespace studio {

class PositionPlot : public QWidget {
    Q_OBJECT

  public:
    explicit PositionPlot(QWidget* parent = nullptr);

    void setParameters(qint64 trainingWindow, int group, int window, qint64 documentTokens);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

    // Where paintEvent draws: the title sits above the plot area, clear of the L line near its
    // top edge.
    QRectF plotRect() const;
    QRectF titleRect() const;
    double trainingWindowY() const;  // the L line's height in widget coordinates

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    double maxDistance() const;
    double maxPosition() const;
    double relativePosition(double distance) const;

    qint64 trainingWindow_ = 512;
    int group_ = 1;
    int window_ = 0;
    qint64 tokens_ = -1;
};

}  // namespace studio
