#include "ModelPicker.h"

#include <QCoreApplication>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QPointer>
#include <QPushButton>
#include <QTableWidget>
#include <QThreadPool>
#include <QVBoxLayout>

#include "Format.h"
#include "selfextend/engine.h"

namespace studio {

namespace {

enum Column { kName, kFamily, kParameters, kWindow, kFile, kRuns, kColumns };

QString parameters(qint64 n) {
    if (n >= 1'000'000'000) return QStringLiteral("%1 B").arg(double(n) / 1e9, 0, 'f', 1);
    if (n >= 1'000'000) return QStringLiteral("%1 M").arg(double(n) / 1e6, 0, 'f', 0);
    return formatCount(n);
}

}  // namespace

// What Model::inspect found, copied out of the pool thread.
struct ModelPicker::Check {
    QString name, family, format, problem;
    qint64 parameters = 0, window = 0;
    bool runs = false;
};

ModelPicker::ModelPicker(const QStringList& paths, const QString& current, QWidget* parent)
    : QDialog(parent),
      table_(new QTableWidget(0, kColumns)),
      hint_(new QLabel),
      load_(new QPushButton(tr("Load"))) {
    setWindowTitle(tr("Models"));
    table_->setObjectName("modelTable");
    table_->setHorizontalHeaderLabels(
        {tr("Model"), tr("Family"), tr("Parameters"), tr("Window L"), tr("File"), tr("Runs here")});
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    hint_->setWordWrap(true);
    hint_->setText(tr("The bundled demo model, the models in %1 and recent files. "
                      "tools/fetch-models.sh fetches SmolLM2 and Gemma 3.")
                       .arg(tr("the models folders")));
    load_->setObjectName("loadModelButton");
    load_->setDefault(true);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    auto* browse = buttons->addButton(tr("Other File…"), QDialogButtonBox::ActionRole);
    buttons->addButton(load_, QDialogButtonBox::AcceptRole);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(hint_);
    layout->addWidget(table_, 1);
    layout->addWidget(buttons);
    resize(fontMetrics().averageCharWidth() * 110, fontMetrics().height() * 18);

    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(load_, &QPushButton::clicked, this, &ModelPicker::chooseSelected);
    connect(browse, &QPushButton::clicked, this, &ModelPicker::addFile);
    connect(table_, &QTableWidget::cellDoubleClicked, this, &ModelPicker::chooseSelected);
    connect(table_, &QTableWidget::itemSelectionChanged, this, &ModelPicker::updateButtons);

    for (const QString& path : paths) {
        const QString canonical = QFileInfo(path).canonicalFilePath();
        if (canonical.isEmpty() || paths_.contains(canonical)) continue;
        paths_.append(canonical);
        const int row = table_->rowCount();
        table_->insertRow(row);
        auto* name = new QTableWidgetItem(QFileInfo(canonical).fileName());
        name->setToolTip(canonical);
        table_->setItem(row, kName, name);
        table_->setItem(row, kFile, new QTableWidgetItem(formatBytes(QFileInfo(canonical).size())));
        table_->setItem(row, kRuns, new QTableWidgetItem(tr("checking…")));
        if (canonical == QFileInfo(current).canonicalFilePath()) table_->selectRow(row);

        // The check reads the file's header and vocabulary: off the GUI thread. The result is
        // queued to the GUI thread (through the application object, which outlives the dialog)
        // and dropped there if the dialog has closed by then.
        QThreadPool::globalInstance()->start([self = QPointer(this), row, canonical] {
            Check check;
            try {
                const selfextend::ModelInfo info =
                    selfextend::Model::inspect(canonical.toStdString());
                check.name = QString::fromStdString(info.name);
                check.family = QString::fromStdString(info.family);
                check.format = QString::fromStdString(info.chat_format);
                check.parameters = info.parameter_count;
                check.window = info.training_window;
                check.runs = true;
            } catch (const std::exception& e) {
                check.problem = QString::fromUtf8(e.what());
            }
            QMetaObject::invokeMethod(
                QCoreApplication::instance(),
                [self, row, check] {
                    if (self) self->showCheck(row, check);
                },
                Qt::QueuedConnection);
        });
    }
    updateButtons();
}

int ModelPicker::rowCount() const {
    return table_->rowCount();
}
QString ModelPicker::verdict(int row) const {
    return table_->item(row, kRuns)->text();
}
QString ModelPicker::path(int row) const {
    return paths_.value(row);
}

void ModelPicker::showCheck(int row, const Check& check) {
    if (check.runs) {
        if (!check.name.isEmpty())
            table_->item(row, kName)
                ->setText(check.format == QLatin1String("plain")
                              ? tr("%1 (base model)").arg(check.name)
                              : check.name);
        table_->setItem(row, kFamily, new QTableWidgetItem(check.family));
        table_->setItem(row, kParameters, new QTableWidgetItem(parameters(check.parameters)));
        table_->setItem(row, kWindow, new QTableWidgetItem(formatCount(check.window)));
        auto* runs = new QTableWidgetItem(tr("yes"));
        runs->setToolTip(tr("Prompt format: %1").arg(check.format));
        table_->setItem(row, kRuns, runs);
    } else {
        auto* runs = new QTableWidgetItem(tr("no: %1").arg(check.problem));
        runs->setToolTip(check.problem);
        runs->setForeground(QColor(0xd0, 0x3b, 0x3b));
        table_->setItem(row, kRuns, runs);
        for (int column = 0; column < kColumns; ++column)
            if (auto* item = table_->item(row, column)) item->setToolTip(check.problem);
    }
    table_->item(row, kRuns)->setData(Qt::UserRole, check.runs);
    updateButtons();
    if (++checked_ == table_->rowCount()) emit allChecked();
}

void ModelPicker::updateButtons() {
    const int row = table_->currentRow();
    const bool runs = row >= 0 && table_->item(row, kRuns)->data(Qt::UserRole).toBool();
    load_->setEnabled(runs);
    load_->setToolTip(runs || row < 0 ? QString() : table_->item(row, kRuns)->toolTip());
}

void ModelPicker::chooseSelected() {
    const int row = table_->currentRow();
    if (row < 0 || !table_->item(row, kRuns)->data(Qt::UserRole).toBool()) return;
    emit modelChosen(paths_[row]);
    accept();
}

void ModelPicker::addFile() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), QString(),
                                                      tr("GGUF models (*.gguf);;All files (*)"));
    if (path.isEmpty()) return;
    emit modelChosen(path);  // the load itself says what is wrong with it, if anything
    accept();
}

}  // namespace studio
