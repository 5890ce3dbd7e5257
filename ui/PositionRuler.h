// A thin bar under the document: the document's tokens from start to end, with marks where the
// model's training window L and the Self-Extend capacity fall along it.
#pragma once

#include <QWidget>

namespace studio {

class PositionRuler : public QWidget {
    Q_OBJECT

  public:
    explicit PositionRuler(QWidget* parent = nullptr);

    void setTokens(qint64 documentTokens);  // -1: not counted yet
    void setTrainingWindow(qint64 window);
    void setCapacity(qint64 capacity);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    void updateToolTip();

    qint64 tokens_ = -1;
    qint64 window_ = 0;
    qint64 capacity_ = 0;
};

}  // namespace studio
