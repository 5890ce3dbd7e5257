// One streamed answer (vanilla or Self-Extend): an on/off switch, the run's settings, prompt
// tokens, prefill progress (tokens, tok/s, ETA), decode speed, a Stop button and the text. An
// answer whose document, model or settings have changed since is marked stale, not hidden.
#pragma once

#include <QElapsedTimer>
#include <QFrame>
#include <QPalette>
#include <QTimer>

#include "EngineTypes.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QTextBrowser;
class QTextDocument;
class QProgressBar;
class QToolButton;

namespace studio {

class SourcesBar;

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

    // followUp: the run continues the conversation, whose turns stay above the new answer;
    // else the pane starts a new one.
    void begin(const QString& settings, qint64 promptTokens, bool followUp = false);
    // The last answer goes on where the token limit cut it: new text is appended to it and the
    // turn stays one.
    void resume(const QString& settings);
    // The ETA shows as a range when the latest chunks ran notably slower than predicted.
    void setPrefillProgress(qint64 done, qint64 total, double tokensPerSecond, double etaSeconds,
                            double etaHighSeconds = 0);
    void appendToken(const QString& text, qint64 generated, double tokensPerSecond);
    void finish(const RunStats& stats);
    void markQueued(const QString& question = {});
    void markSkipped();
    // The run would be the other pane's exactly (Self-Extend with G = 1 is vanilla): says why in
    // the pane instead of running it twice.
    void markNotNeeded(const QString& reason);
    void markNotRun();  // queued, but the worker skipped it (see the error banner)
    // Non-empty: the answer shown no longer matches the document, model or settings (why, in a
    // line above the text); empty: it does.
    void setStale(const QString& reason);

    // The latest answer's Markdown source (a streaming one as far as it has come): what Copy
    // copies; the pane shows it rendered.
    QString answer() const;
    QTextDocument* document() const;  // the rendered conversation
    struct Turn {
        QString question;
        QString answer;
        QString settings;       // what it was answered with: model mode, G, W ("Self-Extend G=…")
        bool restored = false;  // answered in an earlier session of the app
    };
    // The conversation's finished turns, oldest first.
    const QList<Turn>& turns() const { return turns_; }
    void clearConversation();
    // The conversation is over (another document, model or prompt format): the next question
    // starts a new one. What is shown stays until then (marked stale by the window).
    void endConversation() { turns_.clear(); }
    // Shows turns saved from an earlier session of the app (ConversationStore), marked as
    // restored, each with the settings it was answered with. Whether the next question follows
    // up on them is the worker's choice (the user's: MainWindow offers it).
    void restoreConversation(const QList<Turn>& turns);
    QString statusText() const;
    QString settingsText() const;  // the latest run's settings
    // A run's settings without what concerns the conversation (" · follow-up …"): the model's
    // mode and its G and W, what a turn was answered with.
    static QString runSettings(const QString& settingsText) {
        return settingsText.section(QStringLiteral(" · "), 0, 0);
    }
    // The mode part of a settings line, what two turns are compared by: "Self-Extend G=3 W=1024"
    // or "vanilla" (how far a prompt overflowed, or the capacity's wording, does not count).
    static QString runMode(const QString& settingsText) {
        return runSettings(settingsText).section(QLatin1Char(','), 0, 0);
    }
    QString staleText() const;
    bool isStale() const;
    bool isRunning() const { return running_; }
    bool hasResult() const { return hasResult_; }  // a run began since the last clear
    // "Sources: 1 2 3" under the latest answer (cleared when the next one is queued).
    SourcesBar* sourcesBar() const { return sources_; }

  signals:
    void stopRequested();
    // Continue: more of the answer the token limit cut.
    void continueRequested();
    void truncatedChanged(bool truncated);

  private:
    // The line under a turn's answer saying what it was answered with, where that is news.
    QString turnNote(const Turn& turn) const;
    void flushPendingText();
    void showConversation();  // the finished turns and the current question, answer to follow
    // The Markdown of the turns and the answer so far, into text_, with `note` after the answer
    // (shown, never part of what Copy copies or the turn keeps).
    void render(const QString& note = {});

    AnswerSide side_;
    QCheckBox* enabled_;
    QComboBox* vanillaMode_ = nullptr;
    QLabel* settings_;
    QLabel* promptTokens_;
    QProgressBar* prefill_;
    QLabel* status_;
    QToolButton* stop_;
    QToolButton* copy_;
    QToolButton* continue_;  // shown under an answer the token limit cut
    QLabel* stale_;
    SourcesBar* sources_;
    QTextBrowser* text_;
    QPalette textPalette_;
    // Tokens arrive faster than a screen refreshes; Markdown is parsed again on each render, so
    // a streaming answer is rendered only a few times a second (the decode does not wait on it).
    QString pendingText_;
    QTimer flushTimer_;
    QString conversationMarkdown_;  // the finished turns and the current question
    QString answer_;                // the latest answer's source, as far as it is rendered
    QElapsedTimer statusClock_;     // since the status line last changed while decoding
    qint64 lastGenerated_ = 0;
    double lastRate_ = 0;
    QList<Turn> turns_;
    QString question_;  // the question being answered
    bool running_ = false;
    bool hasResult_ = false;
};

}  // namespace studio
