#include "ErrorBanner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>

namespace studio {

ErrorBanner::ErrorBanner(QWidget* parent) : QFrame(parent), label_(new QLabel) {
    setObjectName("errorBanner");
    label_->setObjectName("errorBannerText");
    label_->setWordWrap(true);
    label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QToolButton;
    close->setText(QStringLiteral("✕"));
    close->setAutoRaise(true);
    close->setToolTip(tr("Dismiss"));
    auto* layout = new QHBoxLayout(this);
    layout->addWidget(label_, 1);
    layout->addWidget(close, 0, Qt::AlignTop);
    connect(close, &QToolButton::clicked, this, &QWidget::hide);
    hide();
}

void ErrorBanner::showMessage(const QString& message, Kind kind) {
    setStyleSheet(kind == Kind::Error
                      ? "#errorBanner { background: #fbe3e3; border: 1px solid #d03b3b; "
                        "border-radius: 4px; } QLabel { color: #6b1111; }"
                      : "#errorBanner { background: #fff3d6; border: 1px solid #e09b1a; "
                        "border-radius: 4px; } QLabel { color: #5c3d00; }");
    label_->setText(message);
    show();
}

QString ErrorBanner::message() const {
    return isHidden() ? QString() : label_->text();
}

}  // namespace studio
