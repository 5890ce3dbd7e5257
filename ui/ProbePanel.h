// "Tune on your own document": invented facts planted at a few depths of the open document and
// asked about in the chat format, under Auto's G and W and the measured map's runner-up (vanilla
// and mild grouping when the document fits the window). What it costs is said before it starts
// (one reading of the document per setting); a table of what each stated, the best recommended
// (most stated; ties to the one closest to Auto's), one click to use it.
#pragma once

#include <QWidget>
#include <optional>

#include "EngineTypes.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace studio {

class ProbePanel : public QWidget {
    Q_OBJECT

  public:
    explicit ProbePanel(QWidget* parent = nullptr);

    QList<double> depths() const { return depths_; }
    void setBusy(bool busy);
    // Why the probe cannot run now (no model or document); empty when it can.
    void setBlocked(const QString& reason);
    // What a run would cost, shown before it starts: `readings` readings of tokensPerReading
    // tokens each, about estimatedSeconds (< 0: not known yet).
    void setCost(int readings, qint64 tokensPerReading, double estimatedSeconds);
    QString costText() const;
    // A run begins: the candidates and Auto's choice, to recommend against.
    void begin(const std::vector<selfextend::AttentionMode>& candidates,
               const selfextend::AttentionMode& automatic);
    void setProgress(qint64 done, qint64 total, double tokensPerSecond, double etaSeconds);
    void showResults(const ProbeResults& results, bool cancelled);

    std::optional<selfextend::AttentionMode> recommended() const { return recommended_; }
    QString recommendationText() const;

  signals:
    void probeRequested();
    void stopRequested();
    void applyRequested(int group, int window);

  private:
    QList<double> depths_;  // the engine's (ProbeOptions)
    QLabel* intro_;
    QLabel* cost_;
    QPushButton* run_;
    QPushButton* stop_;
    QProgressBar* progress_;
    QLabel* status_;
    QTableWidget* table_;
    QLabel* recommendation_;
    QPushButton* apply_;
    selfextend::AttentionMode automatic_;
    std::optional<selfextend::AttentionMode> recommended_;
    bool busy_ = false;
    QString blocked_;
};

}  // namespace studio
