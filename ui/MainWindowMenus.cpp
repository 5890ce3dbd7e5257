// MainWindow's menus and toolbar, its file dialogs and recent files, dropped files, the model
// picker and the conversation's export.
#include <QAction>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeySequence>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QToolBar>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "ConversationExport.h"
#include "DocumentFilter.h"
#include "DocumentPane.h"
#include "MainWindow.h"
#include "ModelPanel.h"
#include "ModelPicker.h"
#include "OpenedFiles.h"
#include "ResourcePaths.h"
#include "SelfExtendPanel.h"

namespace studio {
namespace {

constexpr int kMaxRecent = 8;

}  // namespace

void MainWindow::createActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    auto* openDocument =
        file->addAction(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("&Open Document…"),
                        this, &MainWindow::openDocumentDialog);
    openDocument->setShortcut(QKeySequence::Open);
    auto* openModelAction = file->addAction(style()->standardIcon(QStyle::SP_DriveHDIcon),
                                            tr("Open &Model…"), this, &MainWindow::openModelDialog);
    openModelAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    auto* chooseModel = file->addAction(tr("&Choose Model…"), this, [this] { showModelPicker(); });
    chooseModel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    // The bundled demo model and every model fetched into a models folder, one click away.
    QMenu* models = file->addMenu(tr("&Models"));
    connect(models, &QMenu::aboutToShow, this, [this, models] {
        models->clear();
        for (const QString& path : findModelFiles())
            models->addAction(QFileInfo(path).fileName(), this, [this, path] { openModel(path); })
                ->setToolTip(path);
        models->addSeparator();
        // Where models are looked for (tools/fetch-models.sh fills the checkout's models/).
        for (const QString& folder : modelFolders())
            models->addAction(tr("Looked for in %1").arg(folder))->setEnabled(false);
    });
    QMenu* recentDocuments = file->addMenu(tr("Recent &Documents"));
    QMenu* recentModels = file->addMenu(tr("Recent M&odels"));
    connect(recentDocuments, &QMenu::aboutToShow, this,
            [this, recentDocuments] { fillRecentMenu(recentDocuments, "recentDocuments", false); });
    connect(recentModels, &QMenu::aboutToShow, this,
            [this, recentModels] { fillRecentMenu(recentModels, "recentModels", true); });
    file->addSeparator();
    auto* settingsAction = file->addAction(tr("&Settings…"), this, [this] { showSettings(); });
    settingsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    auto* exportAction = file->addAction(tr("&Export Conversation…"), this, [this] {
        const QString suggested =
            QFileInfo(documentPane_->path()).completeBaseName() + tr("-conversation.md");
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Export Conversation"),
            QFileInfo(documentPane_->path()).absoluteDir().filePath(suggested),
            tr("Markdown (*.md);;All files (*)"));
        if (!path.isEmpty()) exportConversation(path);
    });
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    askAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Ask"), this,
                                [this] { ask(); });
    askAction_->setObjectName("askAction");
    askAction_->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    stopAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("&Stop"), this,
                                 &MainWindow::stopAll);
    stopAction_->setShortcut(QKeySequence(Qt::Key_Escape));
    stopAction_->setEnabled(false);
    run->addSeparator();
    run->addAction(tr("&Auto Self-Extend Settings"), selfExtendPanel_, &SelfExtendPanel::autoPick);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&User Guide"), this, [this] { showUserGuide(); });
    help->addAction(tr("&Keyboard Shortcuts"), this, [this] { showShortcuts(); })
        ->setShortcut(QKeySequence::HelpContents);
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(this, tr("About SelfExtend Studio"), aboutText());
    });

    QToolBar* toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName("mainToolbar");
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->setMovable(false);
    toolbar->addAction(openDocument);
    toolbar->addAction(openModelAction);
    toolbar->addSeparator();
    toolbar->addAction(askAction_);
    toolbar->addAction(stopAction_);
}

void MainWindow::openDocumentDialog() {
    const QString dir = QFileInfo(documentPane_->path()).absolutePath();
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open Document"), dir, documentFileFilter());
    if (!path.isEmpty()) openDocument(path);
}

void MainWindow::openModelDialog() {
    const QString dir = QFileInfo(modelPanel_->model().path).absolutePath();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), dir,
                                                      tr("GGUF models (*.gguf);;All files (*)"));
    if (!path.isEmpty()) openModel(path);
}

ModelPicker* MainWindow::showModelPicker() {
    QStringList paths = findModelFiles();
    paths += QSettings().value(QStringLiteral("recentModels")).toStringList();
    auto* picker = new ModelPicker(paths, modelPanel_->model().path, this);
    picker->setAttribute(Qt::WA_DeleteOnClose);
    connect(picker, &ModelPicker::modelChosen, this, &MainWindow::openModel);
    picker->show();
    return picker;
}

bool MainWindow::exportConversation(const QString& path) {
    QList<ConversationSide> sides;
    for (AnswerPane* pane : {comparePane_->vanillaPane(), comparePane_->selfExtendPane()})
        sides.append({pane->side() == AnswerSide::Vanilla ? tr("Vanilla") : tr("Self-Extend"),
                      pane->settingsText(), pane->turns()});
    if (sides[0].turns.isEmpty() && sides[1].turns.isEmpty()) {
        showError(tr("Nothing to export yet: ask a question first."), ErrorBanner::Topic::Ask);
        return false;
    }
    QFile file(path);
    const QByteArray markdown = conversationMarkdown(QFileInfo(documentPane_->path()).fileName(),
                                                     modelPanel_->model().name, sides)
                                    .toUtf8();
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        file.write(markdown) != markdown.size() || !file.flush()) {
        showError(tr("Could not write %1: %2.").arg(path, file.errorString()),
                  ErrorBanner::Topic::Ask);
        return false;
    }
    statusBar()->showMessage(tr("Conversation exported to %1").arg(path), 5000);
    return true;
}

void MainWindow::addRecent(const QString& key, const QString& path) const {
    QSettings settings;
    QStringList recent = settings.value(key).toStringList();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kMaxRecent) recent.removeLast();
    settings.setValue(key, recent);
}

void MainWindow::fillRecentMenu(QMenu* menu, const QString& key, bool models) {
    menu->clear();
    const QStringList recent = QSettings().value(key).toStringList();
    for (const QString& path : recent) {
        QAction* action = menu->addAction(QFileInfo(path).fileName(), this, [this, path, models] {
            models ? openModel(path) : openDocument(path);
        });
        action->setToolTip(path);
        action->setEnabled(QFileInfo(path).isFile());
    }
    if (recent.isEmpty()) menu->addAction(tr("(none)"))->setEnabled(false);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) {
        for (const QUrl& url : event->mimeData()->urls()) {
            if (url.isLocalFile()) {
                event->acceptProposedAction();
                return;
            }
        }
    }
}

void MainWindow::dropEvent(QDropEvent* event) {
    for (const QUrl& url : event->mimeData()->urls()) {
        if (!url.isLocalFile()) continue;
        const QString path = url.toLocalFile();
        isModelFile(path) ? openModel(path) : openDocument(path);
    }
    event->acceptProposedAction();
}

}  // namespace studio
