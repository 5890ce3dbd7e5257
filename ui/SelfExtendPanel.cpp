#include "SelfExtendPanel.h"

#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>

#include "CapacityGauge.h"
#include "Format.h"
#include "PositionPlot.h"
#include "selfextend/attention_mode.h"

namespace studio {
namespace {

constexpr int kMaxGroup = 64;
// Room for "\nQuestion: ...\nAnswer:" on top of the document and the answer's tokens.
constexpr int kQuestionReserve = 32;

// A slider and a spin box that mirror each other; the spin box is the source of truth.
QWidget* pairRow(QSlider* slider, QSpinBox* spin) {
    auto* row = new QWidget;
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(slider, 1);
    layout->addWidget(spin);
    QObject::connect(slider, &QSlider::valueChanged, spin, &QSpinBox::setValue);
    QObject::connect(spin, &QSpinBox::valueChanged, slider, &QSlider::setValue);
    return row;
}

}  // namespace

SelfExtendPanel::SelfExtendPanel(QWidget* parent)
    : QGroupBox(tr("Self-Extend"), parent),
      groupSlider_(new QSlider(Qt::Horizontal)),
      groupSpin_(new QSpinBox),
      windowSlider_(new QSlider(Qt::Horizontal)),
      windowSpin_(new QSpinBox),
      autoButton_(new QPushButton(tr("&Auto"))),
      capacityLabel_(new QLabel),
      fitLabel_(new QLabel),
      capacityGauge_(new CapacityGauge),
      ruleLabel_(new QLabel),
      ruleGauge_(new CapacityGauge),
      plot_(new PositionPlot) {
    groupSpin_->setObjectName("groupSpin");
    groupSlider_->setObjectName("groupSlider");
    windowSpin_->setObjectName("windowSpin");
    windowSlider_->setObjectName("windowSlider");
    autoButton_->setObjectName("autoButton");
    capacityLabel_->setObjectName("capacityLabel");
    fitLabel_->setObjectName("fitLabel");
    ruleLabel_->setObjectName("ruleLabel");

    groupSlider_->setRange(1, kMaxGroup);
    groupSpin_->setRange(1, kMaxGroup);
    groupSpin_->setToolTip(tr("G: positions further than W are floor-divided by G"));
    windowSpin_->setToolTip(tr("W: keys closer than W keep their exact positions"));
    autoButton_->setToolTip(
        tr("Pick the smallest G whose capacity covers the document and the answer, keeping W "
           "(or W = L/2 when W is 0)"));
    for (auto* label : {capacityLabel_, fitLabel_, ruleLabel_}) {
        label->setWordWrap(true);
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    }

    auto* form = new QFormLayout;
    form->addRow(tr("Group &G"), pairRow(groupSlider_, groupSpin_));
    form->addRow(tr("&Window W"), pairRow(windowSlider_, windowSpin_));

    auto* autoRow = new QHBoxLayout;
    autoRow->addWidget(capacityLabel_, 1);
    autoRow->addWidget(autoButton_, 0, Qt::AlignTop);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(autoRow);
    layout->addWidget(capacityGauge_);
    layout->addWidget(fitLabel_);
    layout->addWidget(ruleLabel_);
    layout->addWidget(ruleGauge_);
    layout->addWidget(plot_, 1);

    connect(groupSpin_, &QSpinBox::valueChanged, this, [this] {
        refresh();
        emit settingsChanged(group(), window());
    });
    connect(windowSpin_, &QSpinBox::valueChanged, this, [this](int value) {
        requestedWindow_ = value;
        refresh();
        emit settingsChanged(group(), window());
    });
    connect(autoButton_, &QPushButton::clicked, this, &SelfExtendPanel::autoPick);

    setTrainingWindow(trainingWindow_);
    setWindow(requestedWindow_);
    setGroup(4);
    refresh();
}

int SelfExtendPanel::group() const {
    return groupSpin_->value();
}
int SelfExtendPanel::window() const {
    return windowSpin_->value();
}

qint64 SelfExtendPanel::capacity() const {
    return selfextend::capacity(trainingWindow_, group(), window());
}

qint64 SelfExtendPanel::requiredTokens() const {
    return documentTokens_ < 0 ? -1 : documentTokens_ + kQuestionReserve + answerReserve_;
}

bool SelfExtendPanel::fits() const {
    return requiredTokens() >= 0 && requiredTokens() <= capacity();
}

QString SelfExtendPanel::capacityText() const {
    return capacityLabel_->text();
}
QString SelfExtendPanel::fitText() const {
    return fitLabel_->text();
}
QString SelfExtendPanel::ruleText() const {
    return ruleLabel_->text();
}

void SelfExtendPanel::setGroup(int group) {
    groupSpin_->setValue(group);
}
void SelfExtendPanel::setWindow(int window) {
    windowSpin_->setValue(window);  // clamped to L for now
    requestedWindow_ = window;
}

void SelfExtendPanel::setTrainingWindow(qint64 window) {
    const int wanted = requestedWindow_;
    trainingWindow_ = std::max<qint64>(window, 1);
    const int maxWindow = int(std::min<qint64>(trainingWindow_, 1 << 30));
    windowSpin_->setRange(0, maxWindow);
    windowSpin_->setValue(std::min(wanted, maxWindow));
    requestedWindow_ = wanted;
    windowSlider_->setRange(0, maxWindow);
    windowSlider_->setPageStep(std::max(1, maxWindow / 16));
    windowSpin_->setSingleStep(std::max(1, maxWindow / 64));
    refresh();
}

void SelfExtendPanel::setDocumentTokens(qint64 tokens) {
    documentTokens_ = tokens;
    refresh();
}

void SelfExtendPanel::setAnswerReserve(int tokens) {
    answerReserve_ = std::max(0, tokens);
    refresh();
}

void SelfExtendPanel::autoPick() {
    int w = window();
    if (w <= 0 || w >= trainingWindow_) w = int(trainingWindow_ / 2);
    const qint64 needed = std::max<qint64>(requiredTokens(), 1);
    const int g = std::clamp(selfextend::smallest_group(trainingWindow_, w, needed), 1, kMaxGroup);
    setWindow(w);
    setGroup(g);
}

void SelfExtendPanel::refresh() {
    const qint64 L = trainingWindow_;
    const int g = group();
    const int w = window();
    const qint64 cap = capacity();
    capacityLabel_->setText(tr("Capacity (L − W)·G + W = (%1 − %2)·%3 + %4 = <b>%5</b> tokens")
                                .arg(formatCount(L), formatCount(w))
                                .arg(g)
                                .arg(formatCount(w), formatCount(cap)));
    const qint64 needed = requiredTokens();
    if (needed < 0) {
        fitLabel_->setText(tr("Open a document to see whether it fits."));
        capacityGauge_->setValues(-1, double(cap), QString(),
                                  tr("capacity %1").arg(formatCount(cap)));
        ruleLabel_->clear();
        ruleGauge_->setValues(-1, double(L) * 2 / 3, QString(),
                              tr("⅔ L = %1").arg(formatCount(L * 2 / 3)));
    } else {
        const QString need = tr("%1 tokens").arg(formatCount(needed));
        if (needed <= cap) {
            fitLabel_->setText(tr("<span style='color:#2e9d5b'>✔ Fits</span>: document + question "
                                  "+ answer = %1, %2 to spare.")
                                   .arg(need, formatCount(cap - needed)));
        } else {
            fitLabel_->setText(tr("<span style='color:#d03b3b'>✘ Does not fit</span>: %1 needed, "
                                  "<b>%2 over</b> the capacity. Raise G or press Auto.")
                                   .arg(need, formatCount(needed - cap)));
        }
        capacityGauge_->setValues(double(needed), double(cap),
                                  tr("needed %1").arg(formatCount(needed)),
                                  tr("capacity %1").arg(formatCount(cap)));
        const double used = selfextend::largest_used_position(g, w, needed);
        const bool holds = selfextend::rule_of_thumb_holds(L, g, w, needed);
        ruleLabel_->setText(
            tr("Rule of thumb W + (N − W)/G &lt; ⅔ L: largest position %1 vs %2 — %3")
                .arg(formatCount(qint64(used)), formatCount(L * 2 / 3),
                     holds ? tr("<span style='color:#2e9d5b'>holds</span>")
                           : tr("<span style='color:#d03b3b'>exceeded</span>")));
        ruleGauge_->setValues(used, double(L) * 2 / 3,
                              tr("largest position %1").arg(formatCount(qint64(used))),
                              tr("⅔ L = %1").arg(formatCount(L * 2 / 3)));
    }
    plot_->setParameters(L, g, w, documentTokens_);
}

}  // namespace studio
