// Shows the open document: its name, size, token count for the loaded model, a warning when it
// was not valid UTF-8, the text itself and the position ruler. The passages each side's answer
// attended to most are highlighted in the side's colour (SourcesBar), with a legend.
#pragma once

#include <QWidget>
#include <array>

#include "EngineTypes.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace studio {

class PositionRuler;

class DocumentPane : public QWidget {
    Q_OBJECT

  public:
    explicit DocumentPane(QWidget* parent = nullptr);

    void setDocument(const DocumentInfo& document);
    void setTokenCount(qint64 tokens);
    void setTrainingWindow(qint64 window);
    void setCapacity(qint64 capacity);
    void setLoading(const QString& path);

    QString path() const { return path_; }
    qint64 tokenCount() const { return tokens_; }
    QString text() const;
    QString summaryText() const;

    // The passages a side's latest answer came from (empty: none), highlighted until the
    // document changes or the side answers again.
    void setSources(AnswerSide side, const QList<SourcePassage>& passages);
    const QList<SourcePassage>& sources(AnswerSide side) const { return sources_[size_t(side)]; }
    // Scrolls to a side's passage (0: its best) and marks it (deeper colour, underlined).
    void showSource(AnswerSide side, int index);
    // The text of the passage a jump button showed last (empty: none).
    QString shownSource() const;
    // Offers the sample document (a link in the empty pane) when there is one.
    void setSampleAvailable(bool available);

  signals:
    void openRequested();
    void sampleRequested();  // the empty pane's "try the sample" link

  private:
    void updateSummary();
    void updateHighlights();

    QLabel* title_;
    QLabel* summary_;
    QLabel* warning_;
    QLabel* legend_;
    QLabel* sampleLink_;
    QPushButton* openButton_;
    QPlainTextEdit* text_;
    PositionRuler* ruler_;
    QString path_;
    qint64 characters_ = 0;
    qint64 tokens_ = -1;
    std::array<QList<SourcePassage>, 2> sources_;  // indexed by AnswerSide
    // The passage a jump button showed last (side, index), drawn stronger than the others;
    // index -1: none.
    std::pair<AnswerSide, int> shown_{AnswerSide::Vanilla, -1};
};

}  // namespace studio
