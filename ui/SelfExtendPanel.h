// The Self-Extend controls: group size G and neighbour window W (slider + spin box each), the
// capacity (L - W)·G + W against the document (the hard limit), the rule of thumb (a quality
// hint), an Auto button with its one-line reason, and the position plot. Changes apply to the
// next run.
//
// G and W follow the document (fitDocument) until the user pins them by touching a control (or
// the command line does); Auto unpins them and chooses again. Settings restored from the last
// session do not pin: they are only where the controls start.
#pragma once

#include <QGroupBox>

#include "selfextend/attention_mode.h"

class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;
class QCheckBox;

namespace studio {

class CapacityGauge;
class PositionPlot;

class SelfExtendPanel : public QGroupBox {
    Q_OBJECT

  public:
    explicit SelfExtendPanel(QWidget* parent = nullptr);

    int group() const;
    int window() const;
    // G and W as the engine takes them: the mode every Self-Extend request carries.
    selfextend::AttentionMode attention() const;
    qint64 trainingWindow() const { return autoProfile_.training_window; }
    // (L − W)·G + W for the current G and W: the one capacity every panel and box shows.
    qint64 capacity() const;
    bool fits() const;
    // Tokens a run needs: the document plus room for the prompt's framing, the question and the
    // answer; -1 without a document.
    qint64 requiredTokens() const;
    // What Auto would choose for the current document (the engine's choose_attention).
    selfextend::AutoChoice autoChoice() const;

    bool groupPinned() const { return groupPinned_; }
    bool windowPinned() const { return windowPinned_; }

    QString capacityText() const;
    QString fitText() const;
    QString ruleText() const;
    QString autoText() const;

  public slots:
    // Programmatic changes (restored settings, tests): they do not pin.
    void setGroup(int group);
    void setWindow(int window);
    // The command line's --group/--window: kept when documents and models change (locked).
    void pin(bool group, bool window);
    // A new model: G and W set by hand for the last one are chosen again for this one, unless
    // the user locked them ("Keep G and W" ticked, or the command line set them).
    void modelChanging();
    bool locked() const;
    // L and what Auto chooses from (the loaded model's family: selfextend::AutoProfile).
    void setAutoProfile(const selfextend::AutoProfile& profile);
    void setDocumentTokens(qint64 tokens);  // -1: unknown
    void setAnswerReserve(int tokens);
    // Tokens of the chat template's markup around the document and question (0: none).
    void setPromptFraming(int tokens);
    // Unpins, then chooses G and W together for the document (the Auto button).
    void autoPick();
    // Chooses what is not pinned for the document: G and W, or only G for a pinned W.
    void fitDocument();

  signals:
    void settingsChanged(int group, int window);
    // A pinned W is larger than the new model's window and was lowered to L.
    void windowClamped(int requested, qint64 trainingWindow);

  private:
    void apply(const selfextend::AutoChoice& choice);
    void userChanged(bool groupControl);
    QString autoNote() const;  // the line under the capacity: Auto's reason, or who set G and W
    void refresh();

    QSlider* groupSlider_;
    QSpinBox* groupSpin_;
    QSlider* windowSlider_;
    QSpinBox* windowSpin_;
    QPushButton* autoButton_;
    QCheckBox* lock_;  // "Keep G and W": hand-set values survive a model change
    QLabel* capacityLabel_;
    QLabel* autoLabel_;
    QLabel* fitLabel_;
    CapacityGauge* capacityGauge_;
    QLabel* ruleLabel_;
    CapacityGauge* ruleGauge_;
    PositionPlot* plot_;

    selfextend::AutoProfile autoProfile_{512};
    // The W asked for, kept while a smaller model's L clamps the spin box, so that a saved or
    // command-line W survives until the model that allows it is loaded.
    int requestedWindow_ = 256;
    qint64 documentTokens_ = -1;
    int answerReserve_ = 64;
    int promptFraming_ = 0;
    bool groupPinned_ = false;
    bool windowPinned_ = false;
    bool applying_ = false;           // set while the program (not the user) moves the controls
    selfextend::AutoChoice applied_;  // the last choice applied, and the tokens it was for
    qint64 appliedFor_ = -1;
};

}  // namespace studio
