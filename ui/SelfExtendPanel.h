// The Self-Extend controls: group size G and neighbour window W (slider + spin box each), the
// capacity (L - W)·G + W against the document, the rule-of-thumb gauge, an Auto button and the
// position plot. Changes apply to the next run.
#pragma once

#include <QGroupBox>

class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace studio {

class CapacityGauge;
class PositionPlot;

class SelfExtendPanel : public QGroupBox {
    Q_OBJECT

  public:
    explicit SelfExtendPanel(QWidget* parent = nullptr);

    int group() const;
    int window() const;
    qint64 capacity() const;
    bool fits() const;
    // Tokens a run needs: the document plus room for the question and the answer.
    qint64 requiredTokens() const;

    QString capacityText() const;
    QString fitText() const;
    QString ruleText() const;

  public slots:
    void setGroup(int group);
    void setWindow(int window);
    void setTrainingWindow(qint64 window);
    void setDocumentTokens(qint64 tokens);  // -1: unknown
    void setAnswerReserve(int tokens);
    // Smallest G that fits, keeping the user's W (or L/2 when W is 0 or too large).
    void autoPick();

  signals:
    void settingsChanged(int group, int window);

  private:
    void refresh();

    QSlider* groupSlider_;
    QSpinBox* groupSpin_;
    QSlider* windowSlider_;
    QSpinBox* windowSpin_;
    QPushButton* autoButton_;
    QLabel* capacityLabel_;
    QLabel* fitLabel_;
    CapacityGauge* capacityGauge_;
    QLabel* ruleLabel_;
    CapacityGauge* ruleGauge_;
    PositionPlot* plot_;

    qint64 trainingWindow_ = 512;
    // The W asked for, kept while a smaller model's L clamps the spin box, so that a saved or
    // command-line W survives until the model that allows it is loaded.
    int requestedWindow_ = 256;
    qint64 documentTokens_ = -1;
    int answerReserve_ = 64;
};

}  // namespace studio
