// Settings (Edit › Settings…, Ctrl+,): how the engine runs (threads, device, KV cache type, the
// on-disk document cache), how answers are sampled, and the prompt (system prompt, prompt
// format). Persisted by the main window in QSettings; threads and device apply at the next
// model load, the rest at the next question.
#pragma once

#include <QDialog>
#include <QList>
#include <QPair>
#include <QString>

#include "selfextend/engine.h"
#include "selfextend/sampling.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QPlainTextEdit;
class QSpinBox;

namespace studio {

struct EngineSettings {
    int threads = 0;  // 0: one per core
    int device = 0;   // 0 auto, 1 CPU, 2 CUDA (the model panel's order)
    selfextend::KvType kvType = selfextend::KvType::F16;
    bool documentCache = true;
    selfextend::SamplingParams sampling;
    QString systemPrompt;  // empty: the template's own default
    QString promptFormat;  // empty: the file's own; else a format's display name
};

class SettingsDialog : public QDialog {
    Q_OBJECT

  public:
    // formats: (shown text, value) pairs of the prompt formats the loaded model offers, the
    // file's own first with an empty value; empty without a model.
    // gpu: whether the GPU can be chosen (disabled, with the reason shown, when it cannot).
    SettingsDialog(const EngineSettings& current, const QList<QPair<QString, QString>>& formats,
                   const selfextend::GpuAvailability& gpu, QWidget* parent = nullptr);

    EngineSettings values() const;

  private:
    QSpinBox* threads_;
    QComboBox* device_;
    QComboBox* kvType_;
    QCheckBox* documentCache_;
    QDoubleSpinBox* temperature_;
    QSpinBox* topK_;
    QDoubleSpinBox* topP_;
    QDoubleSpinBox* minP_;
    QDoubleSpinBox* repeatPenalty_;
    QSpinBox* seed_;
    QPlainTextEdit* systemPrompt_;
    QComboBox* promptFormat_;
};

}  // namespace studio
