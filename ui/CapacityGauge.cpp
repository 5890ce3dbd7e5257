#include "CapacityGauge.h"

#include <QPainter>
#include <QPainterPath>
#include <algorithm>

#include "StatusColors.h"

namespace studio {

CapacityGauge::CapacityGauge(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void CapacityGauge::setValues(double value, double limit, const QString& valueLabel,
                              const QString& limitLabel) {
    value_ = value;
    limit_ = std::max(limit, 1.0);
    valueLabel_ = valueLabel;
    limitLabel_ = limitLabel;
    setToolTip(valueLabel_ + QLatin1Char('\n') + limitLabel_);
    update();
}

// Sized from the font so the gauge scales with the screen's DPI and the user's font.
QSize CapacityGauge::sizeHint() const {
    const int line = fontMetrics().height();
    return {line * 16, line * 2 + line / 2};
}

QSize CapacityGauge::minimumSizeHint() const {
    const int line = fontMetrics().height();
    return {line * 6, line * 2 + line / 2};
}

void CapacityGauge::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const int line = fontMetrics().height();
    const QRectF bar(0.5, 0.5, width() - 1.0, line * 0.9);
    const double scale = std::max(value_, limit_) * 1.12;
    const auto xOf = [&](double v) {
        return bar.left() + bar.width() * std::clamp(v / scale, 0.0, 1.0);
    };

    QPainterPath track;
    track.addRoundedRect(bar, bar.height() / 2, bar.height() / 2);
    p.fillPath(track, palette().color(QPalette::Base));
    p.setPen(palette().color(QPalette::Mid));
    p.drawPath(track);

    if (value_ >= 0) {
        const QColor fill = statusColor(value_ <= limit_ ? Status::Good : overLimit_);
        p.save();
        p.setClipPath(track);
        p.fillRect(QRectF(bar.left(), bar.top(), xOf(value_) - bar.left(), bar.height()), fill);
        p.restore();
    }

    // The limit: a tick through the bar.
    const double lx = xOf(limit_);
    p.setPen(QPen(palette().color(QPalette::WindowText), 2));
    p.drawLine(QPointF(lx, bar.top() - 1), QPointF(lx, bar.bottom() + line * 0.25));

    p.setPen(palette().color(QPalette::WindowText));
    const QRectF text(0, bar.bottom() + line * 0.2, width(), line * 1.2);
    p.drawText(text, Qt::AlignLeft | Qt::AlignVCenter, valueLabel_);
    p.drawText(text, Qt::AlignRight | Qt::AlignVCenter, limitLabel_);
}

}  // namespace studio
