// "Sources: 1 2 3" under an answer: one button per passage the answer attended to most (best
// first), each jumping to its passage in the document pane, in the side's highlight colour.
#pragma once

#include <QColor>
#include <QWidget>

#include "EngineTypes.h"

class QHBoxLayout;
class QLabel;
class QToolButton;

namespace studio {

// The colour a side's passages are highlighted in (document pane, buttons, legend).
QColor sourceColor(AnswerSide side);

class SourcesBar : public QWidget {
    Q_OBJECT

  public:
    explicit SourcesBar(AnswerSide side, QWidget* parent = nullptr);

    // documentText: for the buttons' tooltips (each passage's opening words).
    void setSources(const AnswerSources& sources, const QString& documentText);
    void clear();
    int count() const { return int(buttons_.size()); }
    QString text() const;  // what the bar says, for tests

  signals:
    void sourceRequested(int index);  // 0: the best passage

  private:
    AnswerSide side_;
    QHBoxLayout* layout_;
    QLabel* label_;
    QList<QToolButton*> buttons_;
};

}  // namespace studio
