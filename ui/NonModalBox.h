// A question that does not block the window (long runs and tests carry on behind it) and
// deletes itself when closed.
#pragma once

#include <QMessageBox>

namespace studio {

inline QMessageBox* nonModalBox(QWidget* parent, QMessageBox::Icon icon, const char* name,
                                const QString& title, const QString& text,
                                QMessageBox::StandardButtons buttons) {
    auto* box = new QMessageBox(icon, title, text, buttons, parent);
    box->setObjectName(name);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setWindowModality(Qt::NonModal);
    return box;
}

}  // namespace studio
