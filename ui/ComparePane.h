// The Ask tab: a question box, generation options and the two answers side by side.
#pragma once

#include <QWidget>

#include "selfextend/sampling.h"

class QCheckBox;
class QDoubleSpinBox;
class QFrame;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace studio {

class AnswerPane;

class ComparePane : public QWidget {
    Q_OBJECT

  public:
    explicit ComparePane(QWidget* parent = nullptr);

    QString question() const;
    void setQuestion(const QString& question);
    int maxNewTokens() const;
    void setMaxNewTokens(int tokens);
    selfextend::SamplingParams sampling() const;
    void setTemperature(double temperature);
    bool stopAtLineBreak() const;
    void setStopAtLineBreak(bool stop);
    // Chat models end their answers at the template's end-of-turn token; the line-break stop is
    // for plain-prompt models (the demo model), which would go on to invent the next line.
    void setPlainPromptFormat(bool plain);

    AnswerPane* vanillaPane() const { return vanilla_; }
    AnswerPane* selfExtendPane() const { return selfExtend_; }
    void setBusy(bool busy);
    // Why Ask cannot run now ("Open a document first…"), shown as the button's tooltip; empty
    // when it can.
    void setAskBlocked(const QString& reason);
    // A conversation from the last session is shown in the panes: offer to continue it (the
    // next question then follows up on it) or to start a new one. Until the user continues it,
    // the next question starts afresh and sends none of it.
    void offerRestoredConversation(const QString& summary);
    void withdrawRestoredOffer();
    bool restoredOfferShown() const;

  signals:
    void askRequested();
    // The next question starts afresh: the panes forget the turns (the document stays read).
    void newConversationRequested();
    // The user chose to go on with the restored conversation.
    void continueConversationRequested();
    void stopRequested();
    void maxNewTokensChanged(int tokens);

  private:
    void updateButtons();

    QLineEdit* question_;
    QPushButton* ask_;
    QPushButton* stop_;
    QPushButton* newConversation_;
    QFrame* restoredOffer_;
    QLabel* restoredSummary_;
    QSpinBox* maxTokens_;
    QDoubleSpinBox* temperature_;
    QCheckBox* stopAtLineBreak_;
    AnswerPane* vanilla_;
    AnswerPane* selfExtend_;
    bool busy_ = false;
    QString askBlocked_;
};

}  // namespace studio
