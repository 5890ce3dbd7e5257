// What the loaded model is and whether the current document fits in memory with it: name,
// architecture, parameters, training window L, dtype mix, device, and the memory a run on the
// document needs (weights + KV cache) against the host's available memory.
#pragma once

#include <QGroupBox>

#include "EngineTypes.h"

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;

namespace studio {

class ModelPanel : public QGroupBox {
    Q_OBJECT

  public:
    explicit ModelPanel(QWidget* parent = nullptr);

    void setLoading(const QString& path);
    void setProgress(double fraction);
    void setModel(const ModelSummary& model);
    void setLoadFailed(const QString& message);
    void setRequiredTokens(qint64 tokens);    // document + question + answer; -1 unknown
    void setKvType(selfextend::KvType type);  // the KV cache type sessions are made with

    int device() const;  // 0 auto, 1 CPU, 2 CUDA
    // Shows `device`, or Auto when it is the GPU and there is none (see setGpuAvailability).
    void setDevice(int device);
    // Whether the GPU can be chosen: disabled, with the reason, when it cannot.
    void setGpuAvailability(const selfextend::GpuAvailability& gpu);
    // The prompt format in use: empty for the file's own, else a format's display name. Shows
    // the worker's answer to promptFormatChosen (it falls back when the vocabulary lacks the
    // format's special tokens) without emitting it again.
    QString promptFormat() const;
    void setPromptFormat(const QString& name);
    // Chooses a format as the user would (promptFormatChosen follows).
    void choosePromptFormat(const QString& name);
    // (shown text, value) of each format offered for the loaded model; empty without one.
    QList<QPair<QString, QString>> promptFormats() const;
    bool hasModel() const { return hasModel_; }
    const ModelSummary& model() const { return model_; }
    QString memoryText() const;

  signals:
    void openRequested();
    void deviceChanged(int device);
    void promptFormatChosen(const QString& name);  // empty: the file's own template

  private:
    void updateMemory();

    QLabel* name_;
    QLabel* architecture_;
    QLabel* parameters_;
    QLabel* window_;
    QLabel* dtypes_;
    QLabel* device_;
    QLabel* memory_;
    QComboBox* formatCombo_;
    QProgressBar* progress_;
    QComboBox* deviceCombo_;
    QPushButton* openButton_;
    ModelSummary model_;
    bool hasModel_ = false;
    qint64 requiredTokens_ = -1;
    selfextend::KvType kvType_ = selfextend::KvType::F16;
    selfextend::GpuAvailability gpu_;
};

}  // namespace studio
