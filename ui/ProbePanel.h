// "Tune on your own document": the pass key planted at a few depths of the open document,
// answered under vanilla and a few G and W around Auto's choice. A table of what each found, the
// best recommended (most found; ties to the one closest to Auto's), one click to use it.
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
    // A run begins: the candidates (vanilla first) and Auto's choice, to recommend against.
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
    QList<double> depths_{0.2, 0.5, 0.8};
    QLabel* intro_;
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
