// Shows the open document: its name, size, token count for the loaded model, a warning when it
// was not valid UTF-8, the text itself and the position ruler.
#pragma once

#include <QWidget>

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

  signals:
    void openRequested();

  private:
    void updateSummary();

    QLabel* title_;
    QLabel* summary_;
    QLabel* warning_;
    QPushButton* openButton_;
    QPlainTextEdit* text_;
    PositionRuler* ruler_;
    QString path_;
    qint64 characters_ = 0;
    qint64 tokens_ = -1;
};

}  // namespace studio
