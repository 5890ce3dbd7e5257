#include "ErrorBanner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>
#include <algorithm>

namespace studio {

ErrorBanner::ErrorBanner(QWidget* parent) : QFrame(parent), label_(new QLabel) {
    setObjectName("errorBanner");
    label_->setObjectName("errorBannerText");
    label_->setWordWrap(true);
    label_->setTextFormat(Qt::PlainText);
    label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QToolButton;
    close->setText(QStringLiteral("✕"));
    close->setAutoRaise(true);
    close->setToolTip(tr("Dismiss"));
    auto* layout = new QHBoxLayout(this);
    layout->addWidget(label_, 1);
    layout->addWidget(close, 0, Qt::AlignTop);
    connect(close, &QToolButton::clicked, this, &ErrorBanner::clearAll);
    hide();
}

void ErrorBanner::showMessage(const QString& message, Kind kind, Topic topic) {
    entries_.removeIf([topic](const Entry& entry) { return entry.topic == topic; });
    entries_.append({topic, kind, message});
    refresh();
}

void ErrorBanner::clear(Topic topic) {
    if (entries_.removeIf([topic](const Entry& entry) { return entry.topic == topic; }) > 0)
        refresh();
}

void ErrorBanner::clearAll() {
    entries_.clear();
    refresh();
}

bool ErrorBanner::has(Topic topic) const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [topic](const Entry& entry) { return entry.topic == topic; });
}

QString ErrorBanner::message() const {
    return isHidden() ? QString() : label_->text();
}

void ErrorBanner::refresh() {
    if (entries_.isEmpty()) {
        label_->clear();
        hide();
        return;
    }
    const bool anyError = std::any_of(entries_.begin(), entries_.end(),
                                      [](const Entry& entry) { return entry.kind == Kind::Error; });
    setStyleSheet(anyError ? "#errorBanner { background: #fbe3e3; border: 1px solid #d03b3b; "
                             "border-radius: 4px; } QLabel { color: #6b1111; }"
                           : "#errorBanner { background: #fff3d6; border: 1px solid #e09b1a; "
                             "border-radius: 4px; } QLabel { color: #5c3d00; }");
    QStringList lines;
    for (const Entry& entry : entries_) lines << entry.text;
    label_->setText(lines.join(QLatin1Char('\n')));
    show();
}

}  // namespace studio
