#include "SourcesBar.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>

namespace studio {
namespace {

constexpr int kTooltipCharacters = 160;

}  // namespace

QColor sourceColor(AnswerSide side) {
    // Light enough to read black text through; told apart by hue (orange, blue).
    return side == AnswerSide::Vanilla ? QColor(0xff, 0xcc, 0x80) : QColor(0x9f, 0xd0, 0xff);
}

SourcesBar::SourcesBar(AnswerSide side, QWidget* parent)
    : QWidget(parent), side_(side), layout_(new QHBoxLayout(this)), label_(new QLabel) {
    setObjectName(side == AnswerSide::Vanilla ? "vanillaSources" : "selfExtendSources");
    layout_->setContentsMargins(0, 0, 0, 0);
    label_->setForegroundRole(QPalette::PlaceholderText);
    layout_->addWidget(label_);
    layout_->addStretch(1);
    setToolTip(
        tr("The document passages this answer most likely came from, best first: those that "
           "hold the answer's own words (rare words and numbers count most), then by the "
           "attention the answer's tokens gave them"));
    hide();
}

void SourcesBar::clear() {
    qDeleteAll(buttons_);
    buttons_.clear();
    label_->clear();
    hide();
}

void SourcesBar::setSources(const AnswerSources& sources, const QString& documentText) {
    clear();
    if (!sources.available) {
        label_->setText(tr("Sources: not available on this device"));
        show();
        return;
    }
    if (sources.passages.isEmpty()) return;
    label_->setText(tr("Sources:"));
    const QColor color = sourceColor(side_);
    for (qsizetype k = 0; k < sources.passages.size(); ++k) {
        const SourcePassage& p = sources.passages[k];
        auto* button = new QToolButton;
        button->setObjectName(QStringLiteral("%1%2").arg(objectName()).arg(k + 1));
        button->setText(QString::number(k + 1));
        button->setAutoRaise(false);
        button->setStyleSheet(QStringLiteral("QToolButton { background: %1; color: black; "
                                             "border: 1px solid palette(mid); padding: 0 5px; }")
                                  .arg(color.name()));
        QString opening =
            documentText.mid(p.start, std::min<qsizetype>(p.length, kTooltipCharacters));
        if (p.length > kTooltipCharacters) opening += QStringLiteral("…");
        button->setToolTip(
            tr("%1% of the answer's attention on the document (ranked here by the answer's own "
               "words found in the passage, then by attention)\n%2")
                .arg(p.share * 100.0, 0, 'f', 1)
                .arg(opening.simplified()));
        connect(button, &QToolButton::clicked, this, [this, k] { emit sourceRequested(int(k)); });
        layout_->insertWidget(int(k) + 1, button);
        buttons_.append(button);
    }
    show();
}

QString SourcesBar::text() const {
    QStringList parts{label_->text()};
    for (const QToolButton* b : buttons_) parts << b->text();
    return parts.join(QLatin1Char(' '));
}

}  // namespace studio
