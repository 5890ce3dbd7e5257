// One streamed answer (vanilla or Self-Extend): an on/off switch, the run's settings, prompt
// tokens, prefill progress (tokens, tok/s, ETA), decode speed, a Stop button and the text.
#pragma once

#include <QFrame>

#include "EngineTypes.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace studio {

class AnswerPane : public QFrame {
    Q_OBJECT

  public:
    AnswerPane(AnswerSide side, QWidget* parent = nullptr);

    AnswerSide side() const { return side_; }
    bool isEnabledForRuns() const;
    void setEnabledForRuns(bool enabled);
    bool truncated() const;  // vanilla only: run on the last L tokens instead of overflowing
    void setTruncated(bool truncated);
    void setPlannedSettings(const QString& settings);

    void begin(const QString& settings, qint64 promptTokens);
    void setPrefillProgress(qint64 done, qint64 total, double tokensPerSecond, double etaSeconds);
    void appendToken(const QString& text, qint64 generated, double tokensPerSecond);
    void finish(const RunStats& stats);
    void markQueued();
    void markSkipped();
    void markNotRun();  // queued, but the worker skipped it (see the error banner)

    QString answer() const;
    QString statusText() const;
    bool isRunning() const { return running_; }

  signals:
    void stopRequested();
    void truncatedChanged(bool truncated);

  private:
    AnswerSide side_;
    QCheckBox* enabled_;
    QComboBox* vanillaMode_ = nullptr;
    QLabel* settings_;
    QLabel* promptTokens_;
    QProgressBar* prefill_;
    QLabel* status_;
    QPushButton* stop_;
    QPlainTextEdit* text_;
    bool running_ = false;
};

}  // namespace studio
