#include "PositionRuler.h"

#include <QPainter>
#include <algorithm>

#include "Format.h"
#include "StatusColors.h"

namespace studio {

PositionRuler::PositionRuler(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void PositionRuler::setTokens(qint64 documentTokens) {
    tokens_ = documentTokens;
    updateToolTip();
    update();
}

void PositionRuler::setTrainingWindow(qint64 window) {
    window_ = window;
    updateToolTip();
    update();
}

void PositionRuler::setCapacity(qint64 capacity) {
    capacity_ = capacity;
    updateToolTip();
    update();
}

void PositionRuler::updateToolTip() {
    setToolTip(tr("Green: inside the training window L = %1\nBlue: reached only with Self-Extend "
                  "(capacity %2)\nRed: beyond the Self-Extend capacity")
                   .arg(formatCount(window_), formatCount(capacity_)));
}

QSize PositionRuler::sizeHint() const {
    const int line = fontMetrics().height();
    return {line * 20, line * 2};
}

QSize PositionRuler::minimumSizeHint() const {
    const int line = fontMetrics().height();
    return {line * 6, line * 2};
}

void PositionRuler::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const int line = fontMetrics().height();
    const QRectF bar(0, line * 0.15, width(), line * 0.55);
    if (tokens_ <= 0 || window_ <= 0) {
        p.fillRect(bar, statusColor(Status::Neutral).lighter(150));
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(QRectF(0, bar.bottom(), width(), line * 1.2), Qt::AlignLeft | Qt::AlignVCenter,
                   tokens_ < 0 ? tr("Token positions appear once a document and a model are loaded")
                               : tr("Empty document"));
        return;
    }
    // The scale covers the document and both marks, so a capacity past the end is still shown.
    const double scale = double(std::max({tokens_, window_, capacity_}));
    const auto xOf = [&](double v) {
        return bar.left() + bar.width() * std::clamp(v / scale, 0.0, 1.0);
    };
    const double end = xOf(double(tokens_));
    const auto segment = [&](qint64 from, qint64 to, Status status) {
        const double a = xOf(double(from));
        const double b = std::min(end, xOf(double(to)));
        if (b > a) p.fillRect(QRectF(a, bar.top(), b - a, bar.height()), statusColor(status));
    };
    segment(0, window_, Status::Good);
    segment(window_, std::max(window_, capacity_), Status::Accent);
    segment(std::max(window_, capacity_), tokens_, Status::Bad);
    if (end < bar.right())  // past the document's end: the reach that is left unused
        p.fillRect(
            QRectF(end, bar.top() + bar.height() * 0.35, bar.right() - end, bar.height() * 0.3),
            palette().color(QPalette::Mid));

    p.setPen(QPen(palette().color(QPalette::WindowText), 1.5));
    const QRectF labels(0, bar.bottom() + 1, width(), line * 1.2);
    // Labels go left to right; one that would overlap the previous moves right of it (marks on
    // a long document can sit a pixel apart), or is left out when there is no room.
    double labelsEnd = -1e9;
    const auto mark = [&](qint64 at, const QString& text) {
        const double x = xOf(double(at));
        p.drawLine(QPointF(x, bar.top() - 2), QPointF(x, bar.bottom() + 3));
        const double w = fontMetrics().horizontalAdvance(text) + 4;
        const double left = std::max(std::clamp(x - w / 2, 0.0, width() - w), labelsEnd + 8);
        if (left + w > width()) return;
        p.drawText(QRectF(left, labels.top(), w, labels.height()), Qt::AlignCenter, text);
        labelsEnd = left + w;
    };
    mark(window_, tr("L %1").arg(formatCount(window_)));
    if (capacity_ > window_) mark(capacity_, tr("capacity %1").arg(formatCount(capacity_)));
    p.setPen(palette().color(QPalette::PlaceholderText));
    const double endWidth = fontMetrics().horizontalAdvance(tr("end %1").arg(formatCount(tokens_)));
    if (width() - endWidth > labelsEnd + 8)
        p.drawText(labels, Qt::AlignRight | Qt::AlignVCenter,
                   tr("end %1").arg(formatCount(tokens_)));
}

}  // namespace studio
