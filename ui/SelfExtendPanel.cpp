#include "SelfExtendPanel.h"

#include <QCheckBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScopedValueRollback>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>

#include "CapacityGauge.h"
#include "Format.h"
#include "PositionPlot.h"
#include "StatusColors.h"

namespace studio {
namespace {

constexpr int kMaxGroup = selfextend::kLargestAutoGroup;
// Room for the question's words on top of the document, the template's markup and the answer.
constexpr int kQuestionReserve = 32;
const char* const kGood = "#2e9d5b";
const char* const kBad = "#d03b3b";

QString localized(const std::string& explanation) {
    return withLocaleCounts(QString::fromStdString(explanation)).toHtmlEscaped();
}

QString coloured(const char* colour, const QString& text) {
    return QStringLiteral("<span style='color:%1'>%2</span>").arg(colour, text);
}

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
      lock_(new QCheckBox(tr("Keep G and W"))),
      capacityLabel_(new QLabel),
      autoLabel_(new QLabel),
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
    lock_->setObjectName("lockCheck");
    lock_->setToolTip(
        tr("Keep the G and W set here when another model is loaded (else they are chosen again "
           "for the new model's window)"));
    capacityLabel_->setObjectName("capacityLabel");
    autoLabel_->setObjectName("autoLabel");
    fitLabel_->setObjectName("fitLabel");
    ruleLabel_->setObjectName("ruleLabel");

    groupSlider_->setRange(1, kMaxGroup);
    groupSpin_->setRange(1, kMaxGroup);
    groupSpin_->setToolTip(tr("G: positions further than W are floor-divided by G"));
    windowSpin_->setToolTip(tr("W: keys closer than W keep their exact positions"));
    autoButton_->setToolTip(
        tr("Choose G and W for the document as measured on real models: W = L/8 and the "
           "smallest G that fits (at most %1), or one that keeps the grouped positions lower "
           "where the model's family answers better so (Gemma 3). G and W then follow each "
           "document you open.")
            .arg(kMaxGroup));
    for (auto* label : {capacityLabel_, autoLabel_, fitLabel_, ruleLabel_}) {
        label->setWordWrap(true);
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    }
    autoLabel_->setForegroundRole(QPalette::PlaceholderText);
    ruleGauge_->setOverLimitStatus(Status::Warn);  // the rule of thumb is a hint, not a limit

    auto* form = new QFormLayout;
    form->addRow(tr("Group &G"), pairRow(groupSlider_, groupSpin_));
    form->addRow(tr("&Window W"), pairRow(windowSlider_, windowSpin_));

    auto* autoRow = new QHBoxLayout;
    autoRow->addWidget(capacityLabel_, 1);
    auto* buttons = new QVBoxLayout;
    buttons->addWidget(autoButton_);
    buttons->addWidget(lock_);
    buttons->addStretch(1);
    autoRow->addLayout(buttons);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(autoRow);
    layout->addWidget(autoLabel_);
    layout->addWidget(capacityGauge_);
    layout->addWidget(fitLabel_);
    layout->addWidget(ruleLabel_);
    layout->addWidget(ruleGauge_);
    layout->addWidget(plot_, 1);

    connect(groupSpin_, &QSpinBox::valueChanged, this, [this] {
        if (!applying_) userChanged(true);
        refresh();
        emit settingsChanged(group(), window());
    });
    connect(windowSpin_, &QSpinBox::valueChanged, this, [this](int value) {
        requestedWindow_ = value;
        if (!applying_) userChanged(false);
        refresh();
        emit settingsChanged(group(), window());
    });
    connect(autoButton_, &QPushButton::clicked, this, &SelfExtendPanel::autoPick);

    setAutoProfile(autoProfile_);
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

selfextend::AttentionMode SelfExtendPanel::attention() const {
    return selfextend::AttentionMode::self_extend(group(), window());
}

qint64 SelfExtendPanel::capacity() const {
    return selfextend::capacity(trainingWindow(), group(), window());
}

qint64 SelfExtendPanel::requiredTokens() const {
    return documentTokens_ < 0
               ? -1
               : documentTokens_ + promptFraming_ + kQuestionReserve + answerReserve_;
}

bool SelfExtendPanel::fits() const {
    return requiredTokens() >= 0 && requiredTokens() <= capacity();
}

selfextend::AutoChoice SelfExtendPanel::autoChoice() const {
    return selfextend::choose_attention(autoProfile_, std::max<qint64>(requiredTokens(), 1),
                                        kMaxGroup);
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
QString SelfExtendPanel::autoText() const {
    return autoLabel_->text();
}

void SelfExtendPanel::setGroup(int group) {
    const QScopedValueRollback guard(applying_, true);
    groupSpin_->setValue(group);
}

void SelfExtendPanel::setWindow(int window) {
    const QScopedValueRollback guard(applying_, true);
    windowSpin_->setValue(window);  // clamped to L for now
    requestedWindow_ = window;
}

void SelfExtendPanel::pin(bool group, bool window) {
    groupPinned_ = groupPinned_ || group;
    windowPinned_ = windowPinned_ || window;
    if (group || window) lock_->setChecked(true);
    refresh();
}

bool SelfExtendPanel::locked() const {
    return lock_->isChecked();
}

void SelfExtendPanel::modelChanging() {
    if (locked()) return;
    groupPinned_ = windowPinned_ = false;  // fitDocument chooses both for the new model
    requestedWindow_ = window();
}

void SelfExtendPanel::setAutoProfile(const selfextend::AutoProfile& profile) {
    autoProfile_ = profile;
    autoProfile_.training_window = std::max<qint64>(profile.training_window, 1);
    const qint64 L = autoProfile_.training_window;
    const QScopedValueRollback guard(applying_, true);
    const int wanted = requestedWindow_;
    const int maxWindow = int(std::min<qint64>(L, 1 << 30));
    windowSpin_->setRange(0, maxWindow);
    windowSpin_->setValue(std::min(wanted, maxWindow));
    requestedWindow_ = wanted;
    windowSlider_->setRange(0, maxWindow);
    windowSlider_->setPageStep(std::max(1, maxWindow / 16));
    windowSpin_->setSingleStep(std::max(1, maxWindow / 64));
    refresh();
    // An unpinned W follows the document anyway; a pinned one the user must hear about.
    if (windowPinned_ && wanted > maxWindow) emit windowClamped(wanted, L);
}

void SelfExtendPanel::setDocumentTokens(qint64 tokens) {
    documentTokens_ = tokens;
    refresh();
}

void SelfExtendPanel::setAnswerReserve(int tokens) {
    answerReserve_ = std::max(0, tokens);
    refresh();
}

void SelfExtendPanel::setPromptFraming(int tokens) {
    promptFraming_ = std::max(0, tokens);
    refresh();
}

void SelfExtendPanel::autoPick() {
    groupPinned_ = windowPinned_ = false;
    if (requiredTokens() < 0)
        refresh();
    else
        apply(autoChoice());
}

void SelfExtendPanel::fitDocument() {
    if (requiredTokens() < 0 || groupPinned_) return;
    if (!windowPinned_) {
        apply(autoChoice());
        return;
    }
    // The user's W stays; G follows it when some G up to the maximum fits (else the fit verdict
    // says what would).
    const selfextend::AutoChoice choice =
        selfextend::choose_group(trainingWindow(), window(), requiredTokens(), kMaxGroup);
    if (choice.fits) apply(choice);
}

void SelfExtendPanel::apply(const selfextend::AutoChoice& choice) {
    {
        const QScopedValueRollback guard(applying_, true);
        windowSpin_->setValue(choice.window);
        requestedWindow_ = choice.window;
        groupSpin_->setValue(choice.group);
    }
    applied_ = choice;
    appliedFor_ = requiredTokens();
    refresh();
}

void SelfExtendPanel::userChanged(bool groupControl) {
    (groupControl ? groupPinned_ : windowPinned_) = true;
}

QString SelfExtendPanel::autoNote() const {
    const bool appliedNow = appliedFor_ == requiredTokens() && appliedFor_ >= 0 &&
                            applied_.group == group() && applied_.window == window();
    if (groupPinned_)
        return tr(
            "G and W set by you: they stay as they are when a document changes, and when a "
            "model changes if Keep G and W is ticked. Auto chooses again.");
    if (appliedNow) {
        const QString text = localized(applied_.explanation);
        return applied_.fits ? text : coloured(kBad, text);
    }
    if (windowPinned_)
        return tr("W set by you: G follows each document for it. Auto chooses both again.");
    if (requiredTokens() < 0) return tr("Auto chooses G and W once a document is open.");
    return tr("Press Auto to choose G and W for this document.");
}

void SelfExtendPanel::refresh() {
    const qint64 L = trainingWindow();
    const int g = group();
    const int w = window();
    const qint64 cap = capacity();
    capacityLabel_->setText(tr("Capacity (L − W)·G + W = (%1 − %2)·%3 + %4 = <b>%5</b> tokens")
                                .arg(formatCount(L), formatCount(w))
                                .arg(g)
                                .arg(formatCount(w), formatCount(cap)));
    autoLabel_->setText(autoNote());
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
            fitLabel_->setText(
                tr("%1 the capacity, the hard limit: document + question + "
                   "answer = %2, %3 to spare.")
                    .arg(coloured(kGood, tr("✔ Fits")), need, formatCount(cap - needed)));
        } else {
            // Advice that can be followed: Auto's actual choice, or what it would take.
            const selfextend::AutoChoice choice = autoChoice();
            // (Auto's own line above already says what it would take when it shows.)
            const bool saidAbove = autoLabel_->text().contains(localized(choice.explanation));
            const QString advice = choice.fits ? tr("Press Auto: G = %1, W = %2 fits.")
                                                     .arg(choice.group)
                                                     .arg(formatCount(choice.window))
                                   : saidAbove
                                       ? tr("No G up to %1 holds it (see above).").arg(kMaxGroup)
                                       : localized(choice.explanation);
            fitLabel_->setText(tr("%1 the capacity, the hard limit: %2 needed, <b>%3 over</b>; "
                                  "the positions past it were never trained. %4")
                                   .arg(coloured(kBad, tr("✘ Does not fit")), need,
                                        formatCount(needed - cap), advice));
        }
        capacityGauge_->setValues(double(needed), double(cap),
                                  tr("needed %1").arg(formatCount(needed)),
                                  tr("capacity %1").arg(formatCount(cap)));
        const double used = selfextend::largest_used_position(g, w, needed);
        const bool holds = selfextend::rule_of_thumb_holds(L, g, w, needed);
        ruleLabel_->setText(
            tr("Quality hint, not a limit: the rule of thumb W + (N − W)/G &lt; ⅔ L, largest "
               "position %1 vs %2, %3")
                .arg(formatCount(qint64(used)), formatCount(L * 2 / 3),
                     holds ? coloured(kGood, tr("holds"))
                           : coloured("#b36b00", tr("exceeded (answers may be less precise)"))));
        ruleGauge_->setValues(used, double(L) * 2 / 3,
                              tr("largest position %1").arg(formatCount(qint64(used))),
                              tr("⅔ L = %1").arg(formatCount(L * 2 / 3)));
    }
    plot_->setParameters(L, g, w, documentTokens_);
}

}  // namespace studio
