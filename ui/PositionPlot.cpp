#include "PositionPlot.h"

#include <QPainter>
#include <QPainterPath>
#include <algorithm>

#include "Format.h"
#include "StatusColors.h"
#include "selfextend/attention_mode.h"

namespace studio {

PositionPlot::PositionPlot(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    setToolTip(
        tr("Relative position seen by the model (vertical) against the true distance "
           "between query and key (horizontal), for the last token of the document"));
}

void PositionPlot::setParameters(qint64 trainingWindow, int group, int window,
                                 qint64 documentTokens) {
    trainingWindow_ = std::max<qint64>(trainingWindow, 1);
    group_ = std::max(group, 1);
    window_ = std::max(window, 0);
    tokens_ = documentTokens;
    update();
}

QSize PositionPlot::sizeHint() const {
    const int line = fontMetrics().height();
    return {line * 18, line * 11};
}

QSize PositionPlot::minimumSizeHint() const {
    const int line = fontMetrics().height();
    return {line * 10, line * 8};
}

QRectF PositionPlot::titleRect() const {
    const int line = fontMetrics().height();
    return {plotRect().left(), 0, plotRect().width(), double(line)};
}

QRectF PositionPlot::plotRect() const {
    const QFontMetrics fm = fontMetrics();
    const int line = fm.height();
    // The widest label of the position axis: L with its digit grouping ("32,768": issue 22.15).
    const int axis = std::max(fm.horizontalAdvance(QStringLiteral("0000")),
                              fm.horizontalAdvance(formatCount(trainingWindow_)));
    // One line above for the title, two below for the distance axis and the legend.
    return {double(axis + 6), line * 1.2, double(width() - axis - 12), height() - line * 3.4};
}

double PositionPlot::maxDistance() const {
    const qint64 L = trainingWindow_;
    const qint64 cap = selfextend::capacity(L, group_, window_);
    // Distances up to the document's length (or a little past L when there is none).
    return double(std::max<qint64>({tokens_ > 0 ? tokens_ : 0, L + L / 2, std::min(cap, 4 * L)}));
}

double PositionPlot::relativePosition(double distance) const {
    // The query sits at the last token; its own position changes the staircase's phase only.
    const auto query = qint64(maxDistance());
    const auto key = query - qint64(distance);
    return double(selfextend::relative_position(
        query, key, selfextend::AttentionMode::self_extend(group_, window_)));
}

double PositionPlot::maxPosition() const {
    return std::max(double(trainingWindow_) * 1.15, relativePosition(maxDistance()) * 1.05);
}

double PositionPlot::trainingWindowY() const {
    const QRectF plot = plotRect();
    return plot.bottom() - plot.height() * double(trainingWindow_) / maxPosition();
}

void PositionPlot::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const int line = fontMetrics().height();
    const QRectF plot = plotRect();
    if (plot.width() < 20 || plot.height() < 20) return;

    const qint64 L = trainingWindow_;
    const double maxDistance = this->maxDistance();
    const double maxY = maxPosition();
    const auto relative = [&](double distance) { return relativePosition(distance); };
    const auto toPoint = [&](double x, double y) {
        return QPointF(plot.left() + plot.width() * x / maxDistance,
                       plot.bottom() - plot.height() * y / maxY);
    };

    const QColor text = palette().color(QPalette::WindowText);
    const QColor faint = palette().color(QPalette::Mid);
    p.fillRect(plot, palette().color(QPalette::Base));
    p.setPen(faint);
    p.drawRect(plot);

    // Lines leave through the top edge instead of bending along it.
    p.save();
    p.setClipRect(plot);

    // Training window and the rule-of-thumb level.
    p.setPen(QPen(statusColor(Status::Bad), 1.2, Qt::DashLine));
    p.drawLine(toPoint(0, double(L)), toPoint(maxDistance, double(L)));
    p.setPen(QPen(statusColor(Status::Warn), 1.0, Qt::DotLine));
    p.drawLine(toPoint(0, double(L) * 2 / 3), toPoint(maxDistance, double(L) * 2 / 3));

    // Vanilla: the identity, which leaves the trained range at distance L.
    p.setPen(QPen(statusColor(Status::Neutral), 1.2, Qt::DashLine));
    p.drawLine(toPoint(0, 0), toPoint(maxDistance, maxDistance));

    // Self-Extend: sampled once per device pixel so that the steps show when they are wide.
    QPainterPath curve;
    const int samples = std::max(2, int(plot.width() * devicePixelRatioF()));
    curve.moveTo(toPoint(0, 0));
    for (int i = 1; i <= samples; ++i) {
        const double d = maxDistance * i / samples;
        curve.lineTo(toPoint(d, relative(d)));
    }
    p.setPen(QPen(statusColor(Status::Accent), 2.0));
    p.drawPath(curve);

    if (tokens_ > 0) {
        p.setPen(QPen(text, 1.0, Qt::DashDotLine));
        p.drawLine(toPoint(double(tokens_), 0), toPoint(double(tokens_), maxY));
    }
    if (window_ > 0) {
        p.setPen(QPen(faint, 1.0, Qt::DotLine));
        p.drawLine(toPoint(window_, 0), toPoint(window_, maxY));
    }
    p.restore();

    // Axes labels and a compact legend.
    p.setPen(text);
    // L's label replaces 0's when the scale puts them on the same line (a very long document).
    const double yOfL = toPoint(0, double(L)).y();
    if (plot.bottom() - yOfL >= line)
        p.drawText(QRectF(0, plot.bottom() - line / 2.0, plot.left() - 4, line), Qt::AlignRight,
                   "0");
    p.drawText(QRectF(0, yOfL - line / 2.0, plot.left() - 4, line), Qt::AlignRight, formatCount(L));
    p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), line), Qt::AlignRight,
               tr("distance %1").arg(formatCount(qint64(maxDistance))));
    p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), line), Qt::AlignLeft, "0");
    const QString legend = tr("— Self-Extend   - - vanilla   red: L   dots: ⅔ L");
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(QRectF(plot.left(), plot.bottom() + line, plot.width(), line), Qt::AlignHCenter,
               legend);
    p.setPen(text);
    p.drawText(titleRect(), Qt::AlignLeft | Qt::AlignVCenter, tr("position seen by the model"));
}

}  // namespace studio
