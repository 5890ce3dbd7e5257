// The model picker: the bundled demo model, the models in the models folders and the recent
// files, each with its family, size and training window and whether this build can run it,
// checked before loading (Model::inspect on a pool thread: architecture, tensor types and
// vocabulary, named in plain words when they are not supported).
#pragma once

#include <QDialog>
#include <QStringList>

class QLabel;
class QPushButton;
class QTableWidget;

namespace studio {

class ModelPicker : public QDialog {
    Q_OBJECT

  public:
    // paths: the files to list, in order (duplicates are shown once).
    ModelPicker(const QStringList& paths, const QString& current, QWidget* parent = nullptr);

    int rowCount() const;
    // Rows whose check has finished.
    int checkedCount() const { return checked_; }
    // Row r's "Runs here" cell: "yes", or why not.
    QString verdict(int row) const;
    QString path(int row) const;

  signals:
    void modelChosen(const QString& path);
    void allChecked();

  private:
    struct Check;
    void addFile();
    void showCheck(int row, const Check& check);
    void chooseSelected();
    void updateButtons();

    QTableWidget* table_;
    QLabel* hint_;
    QPushButton* load_;
    QStringList paths_;
    int checked_ = 0;
};

}  // namespace studio
