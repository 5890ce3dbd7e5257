#include "ComparePane.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>

#include "AnswerPane.h"

namespace studio {

ComparePane::ComparePane(QWidget* parent)
    : QWidget(parent),
      question_(new QLineEdit),
      ask_(new QPushButton(tr("Ask"))),
      stop_(new QPushButton(tr("Stop"))),
      newConversation_(new QPushButton(tr("New conversation"))),
      restoredOffer_(new QFrame),
      restoredSummary_(new QLabel),
      maxTokens_(new QSpinBox),
      temperature_(new QDoubleSpinBox),
      stopAtLineBreak_(new QCheckBox(tr("Stop at line break"))),
      vanilla_(new AnswerPane(AnswerSide::Vanilla)),
      selfExtend_(new AnswerPane(AnswerSide::SelfExtend)) {
    question_->setObjectName("questionEdit");
    ask_->setObjectName("askButton");
    stop_->setObjectName("stopButton");
    maxTokens_->setObjectName("maxTokensSpin");
    temperature_->setObjectName("temperatureSpin");
    question_->setPlaceholderText(tr("Ask a question about the document…"));
    question_->setClearButtonEnabled(true);
    ask_->setDefault(true);
    ask_->setToolTip(tr("Ask (Ctrl+Return)"));
    stop_->setToolTip(tr("Stop both runs (Esc)"));
    stop_->setEnabled(false);
    newConversation_->setObjectName("newConversationButton");
    newConversation_->setToolTip(
        tr("Questions follow up on the answers so far; start again without them (the document "
           "stays read, so this costs nothing)"));
    maxTokens_->setRange(1, 4096);
    maxTokens_->setValue(48);
    maxTokens_->setToolTip(tr("Most new tokens each answer may generate"));
    temperature_->setRange(0.0, 2.0);
    temperature_->setSingleStep(0.1);
    temperature_->setDecimals(2);
    temperature_->setSpecialValueText(tr("greedy"));
    temperature_->setToolTip(tr("0 = greedy (the default); higher values sample"));
    stopAtLineBreak_->setChecked(true);
    stopAtLineBreak_->setToolTip(
        tr("End an answer at a line break that ends its sentence or paragraph (a line break inside "
           "a sentence is a hard wrap copied from the book)"));

    auto* questionRow = new QHBoxLayout;
    questionRow->addWidget(question_, 1);
    questionRow->addWidget(ask_);
    questionRow->addWidget(stop_);
    questionRow->addWidget(newConversation_);

    auto* options = new QHBoxLayout;
    auto* maxTokensLabel = new QLabel(tr("Max tokens"));
    maxTokensLabel->setToolTip(maxTokens_->toolTip());
    maxTokensLabel->setBuddy(maxTokens_);
    options->addWidget(maxTokensLabel);
    options->addWidget(maxTokens_);
    options->addSpacing(fontMetrics().height() / 2);
    options->addWidget(new QLabel(tr("Temperature")));
    options->addWidget(temperature_);
    options->addSpacing(fontMetrics().height() / 2);
    options->addWidget(stopAtLineBreak_);
    options->addStretch(1);

    // Equal halves: a layout with equal stretch, not a splitter that sizes by content.
    auto* answers = new QWidget;
    auto* answersLayout = new QHBoxLayout(answers);
    answersLayout->setContentsMargins(0, 0, 0, 0);
    // Ignored size hints and one minimum width for both: the halves stay equal at any width.
    const int minimumWidth =
        std::max(vanilla_->minimumSizeHint().width(), selfExtend_->minimumSizeHint().width());
    for (AnswerPane* pane : {vanilla_, selfExtend_}) {
        pane->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Expanding);
        pane->setMinimumWidth(minimumWidth);
        answersLayout->addWidget(pane, 1);
    }

    // The offer of the last session's conversation, between the options and the answers.
    restoredOffer_->setObjectName("restoredOffer");
    restoredOffer_->setFrameShape(QFrame::StyledPanel);
    restoredSummary_->setWordWrap(true);
    restoredSummary_->setTextFormat(Qt::PlainText);
    auto* continueIt = new QPushButton(tr("Continue it"));
    continueIt->setObjectName("continueConversationButton");
    continueIt->setToolTip(
        tr("The next question follows up on these turns: they are sent to the "
           "model with it"));
    auto* startNew = new QPushButton(tr("Start new"));
    startNew->setObjectName("startNewConversationButton");
    startNew->setToolTip(tr("Forget these turns; the next question starts a new conversation"));
    auto* offerLayout = new QHBoxLayout(restoredOffer_);
    offerLayout->addWidget(restoredSummary_, 1);
    offerLayout->addWidget(continueIt);
    offerLayout->addWidget(startNew);
    restoredOffer_->hide();

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(questionRow);
    layout->addLayout(options);
    layout->addWidget(restoredOffer_);
    layout->addWidget(answers, 1);

    connect(ask_, &QPushButton::clicked, this, &ComparePane::askRequested);
    connect(question_, &QLineEdit::returnPressed, this, &ComparePane::askRequested);
    connect(stop_, &QPushButton::clicked, this, &ComparePane::stopRequested);
    connect(newConversation_, &QPushButton::clicked, this, [this] {
        withdrawRestoredOffer();
        vanilla_->clearConversation();
        selfExtend_->clearConversation();
        emit newConversationRequested();
    });
    connect(startNew, &QPushButton::clicked, newConversation_, &QPushButton::click);
    connect(continueIt, &QPushButton::clicked, this, [this] {
        withdrawRestoredOffer();
        emit continueConversationRequested();
    });
    connect(maxTokens_, &QSpinBox::valueChanged, this, &ComparePane::maxNewTokensChanged);
}

void ComparePane::offerRestoredConversation(const QString& summary) {
    restoredSummary_->setText(summary);
    restoredOffer_->show();
}
void ComparePane::withdrawRestoredOffer() {
    restoredOffer_->hide();
}
bool ComparePane::restoredOfferShown() const {
    return !restoredOffer_->isHidden();
}

QString ComparePane::question() const {
    return question_->text().trimmed();
}
void ComparePane::setQuestion(const QString& question) {
    question_->setText(question);
}
int ComparePane::maxNewTokens() const {
    return maxTokens_->value();
}
void ComparePane::setMaxNewTokens(int tokens) {
    maxTokens_->setValue(tokens);
}
bool ComparePane::stopAtLineBreak() const {
    return stopAtLineBreak_->isChecked();
}
void ComparePane::setStopAtLineBreak(bool stop) {
    stopAtLineBreak_->setChecked(stop);
}
void ComparePane::setPlainPromptFormat(bool plain) {
    stopAtLineBreak_->setEnabled(plain);
    stopAtLineBreak_->setToolTip(
        plain ? tr("End an answer at a line break that ends its sentence or paragraph (a line "
                   "break inside a sentence is a hard wrap copied from the book)")
              : tr("This model's chat template ends each answer at its "
                   "end-of-turn token"));
}
void ComparePane::setTemperature(double temperature) {
    temperature_->setValue(temperature);
}

selfextend::SamplingParams ComparePane::sampling() const {
    selfextend::SamplingParams params;
    params.temperature = float(temperature_->value());
    return params;
}

void ComparePane::setBusy(bool busy) {
    busy_ = busy;
    updateButtons();
}

void ComparePane::setAskBlocked(const QString& reason) {
    askBlocked_ = reason;
    updateButtons();
}

void ComparePane::updateButtons() {
    // A disabled button hands its keyboard focus to the next widget in the tab chain: the "Max
    // new tokens" box, where typed digits would silently change the limit. Keep it on the
    // question instead.
    const bool canAsk = !busy_ && askBlocked_.isEmpty();
    if ((ask_->hasFocus() && !canAsk) || (stop_->hasFocus() && !busy_))
        question_->setFocus(Qt::OtherFocusReason);
    ask_->setEnabled(canAsk);
    ask_->setToolTip(askBlocked_.isEmpty() ? tr("Ask (Ctrl+Return)") : askBlocked_);
    stop_->setEnabled(busy_);
    newConversation_->setEnabled(!busy_);
}

}  // namespace studio
