// MainWindow's Help menu: About (version, commit), the user guide built in, and the keyboard
// shortcuts read from the menus' own actions.
#include <QAction>
#include <QCoreApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFile>
#include <QMenu>
#include <QMenuBar>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "MainWindow.h"
#include "NonModalBox.h"

namespace studio {

QString MainWindow::aboutText() const {
    return tr("<b>SelfExtend Studio %1</b> (commit %2, Qt %3)"
              "<p>Ask long documents questions with a model whose training window is shorter "
              "than the document, using Self-Extend (Jin et al., ICML 2024): grouped positions "
              "past a neighbour window W keep every distance inside the trained range.</p>"
              "<p>Help › User Guide explains the app; Help › Keyboard Shortcuts lists the "
              "keys.</p>")
        .arg(QCoreApplication::applicationVersion(), QStringLiteral(SE_COMMIT),
             QString::fromLatin1(qVersion()));
}

QDialog* MainWindow::showUserGuide() {
    if (auto* open = findChild<QDialog*>(QStringLiteral("userGuideDialog"))) {
        open->raise();
        open->activateWindow();
        return open;
    }
    auto* dialog = new QDialog(this);
    dialog->setObjectName(QStringLiteral("userGuideDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("SelfExtend Studio — User Guide"));
    auto* text = new QTextBrowser;
    text->setObjectName(QStringLiteral("userGuide"));
    QFile guide(QStringLiteral(":/user-guide.md"));
    text->setMarkdown(guide.open(QIODevice::ReadOnly)
                          ? QString::fromUtf8(guide.readAll())
                          : tr("The user guide is missing from this build."));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(text, 1);
    layout->addWidget(buttons);
    const int line = fontMetrics().height();
    dialog->resize(line * 40, line * 34);
    dialog->show();
    return dialog;
}

QMessageBox* MainWindow::showShortcuts() {
    // From the menus' own actions, so the list cannot drift from the keys.
    QString rows;
    for (QAction* menu : menuBar()->actions()) {
        if (!menu->menu()) continue;
        for (QAction* action : menu->menu()->actions()) {
            if (action->shortcuts().isEmpty()) continue;
            QStringList keys;
            for (const QKeySequence& key : action->shortcuts())
                keys << key.toString(QKeySequence::NativeText);
            rows += QStringLiteral("<tr><td>%1</td><td>&nbsp;&nbsp;<b>%2</b></td></tr>")
                        .arg(QString(action->text()).remove(QLatin1Char('&')).remove(QChar(0x2026)),
                             keys.join(tr(" or ")).toHtmlEscaped());
        }
    }
    QMessageBox* box =
        nonModalBox(this, QMessageBox::NoIcon, "shortcutsBox", tr("Keyboard Shortcuts"),
                    QStringLiteral("<table>%1</table>").arg(rows), QMessageBox::Close);
    box->open();
    return box;
}

}  // namespace studio
