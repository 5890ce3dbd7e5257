#include "PasskeyHeatmap.h"

#include <QPainter>
#include <algorithm>
#include <cmath>

#include "Format.h"

namespace studio {
namespace {

QColor accuracyColor(double accuracy) {
    // Red → amber → green, in HSV so the midpoint stays bright.
    return QColor::fromHsvF(float(0.33 * std::clamp(accuracy, 0.0, 1.0)), 0.65f, 0.92f);
}

}  // namespace

PasskeyHeatmap::PasskeyHeatmap(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setObjectName("passkeyHeatmap");
}

void PasskeyHeatmap::setResults(const PasskeyResults& results) {
    lengths_.clear();
    modes_.clear();
    depths_.clear();
    for (const auto& result : results) {
        if (!lengths_.contains(result.length)) lengths_ << result.length;
        const QString mode = QString::fromStdString(result.mode.describe());
        if (!modes_.contains(mode)) modes_ << mode;
        for (const auto& trial : result.details)
            if (!depths_.contains(trial.depth)) depths_ << trial.depth;
    }
    std::sort(depths_.begin(), depths_.end());
    cells_ = QList<Cell>(lengths_.size() * modes_.size() * std::max<qsizetype>(1, depths_.size()));
    const qsizetype perMode = std::max<qsizetype>(1, depths_.size());
    for (const auto& result : results) {
        const qsizetype row = lengths_.indexOf(result.length);
        const qsizetype mode = modes_.indexOf(QString::fromStdString(result.mode.describe()));
        for (const auto& trial : result.details) {
            Cell& cell =
                cells_[(row * modes_.size() + mode) * perMode + depths_.indexOf(trial.depth)];
            ++cell.trials;
            cell.correct += trial.correct ? 1 : 0;
        }
    }
    update();
}

QSize PasskeyHeatmap::sizeHint() const {
    const int line = fontMetrics().height();
    return {line * 30, line * 10};
}

QSize PasskeyHeatmap::minimumSizeHint() const {
    const int line = fontMetrics().height();
    return {line * 12, line * 6};
}

void PasskeyHeatmap::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), palette().color(QPalette::Base));
    const QFontMetrics fm = fontMetrics();
    const int line = fm.height();
    if (cells_.isEmpty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("Run the pass-key test to fill this heatmap:\nrows are prompt lengths, "
                      "columns are modes and needle depths."));
        return;
    }
    const qsizetype perMode = std::max<qsizetype>(1, depths_.size());
    const qsizetype columns = modes_.size() * perMode;
    const double left = fm.horizontalAdvance(QStringLiteral("00 000 tok")) + 8;
    const double top = line * 2.4;
    const QRectF grid(left, top, width() - left - 6, height() - top - line * 1.6);
    const double cw = grid.width() / double(columns);
    const double ch = grid.height() / double(lengths_.size());
    const QColor text = palette().color(QPalette::WindowText);

    for (qsizetype m = 0; m < modes_.size(); ++m) {
        const QRectF header(grid.left() + cw * double(m * perMode), 0, cw * double(perMode),
                            line * 1.2);
        p.setPen(text);
        p.drawText(header, Qt::AlignCenter,
                   fm.elidedText(modes_[m], Qt::ElideRight, int(header.width())));
        for (qsizetype d = 0; d < depths_.size(); ++d) {
            const QRectF cell(grid.left() + cw * double(m * perMode + d), line * 1.2, cw,
                              line * 1.1);
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(cell, Qt::AlignCenter, QStringLiteral("%1%").arg(qRound(depths_[d] * 100)));
        }
    }
    for (qsizetype r = 0; r < lengths_.size(); ++r) {
        p.setPen(text);
        p.drawText(QRectF(0, grid.top() + ch * double(r), left - 6, ch),
                   Qt::AlignRight | Qt::AlignVCenter, tr("%1 tok").arg(formatCount(lengths_[r])));
        for (qsizetype c = 0; c < columns; ++c) {
            const Cell& cell = cells_[r * columns + c];
            const QRectF box(grid.left() + cw * double(c) + 1, grid.top() + ch * double(r) + 1,
                             cw - 2, ch - 2);
            if (cell.trials == 0) {
                p.fillRect(box, palette().color(QPalette::AlternateBase));
                continue;
            }
            p.fillRect(box, accuracyColor(double(cell.correct) / cell.trials));
            p.setPen(Qt::black);
            p.drawText(box, Qt::AlignCenter,
                       QStringLiteral("%1/%2").arg(cell.correct).arg(cell.trials));
        }
    }
    // Mode separators.
    p.setPen(QPen(text, 2));
    for (qsizetype m = 1; m < modes_.size(); ++m) {
        const double x = grid.left() + cw * double(m * perMode);
        p.drawLine(QPointF(x, line * 1.2), QPointF(x, grid.bottom()));
    }
    p.setPen(palette().color(QPalette::PlaceholderText));
    const QString legend = tr("columns: needle depth · red 0% → green 100%");
    p.drawText(QRectF(grid.left(), grid.bottom() + 2, grid.width(), line * 1.4), Qt::AlignCenter,
               fm.elidedText(legend, Qt::ElideRight, int(grid.width())));
}

}  // namespace studio
