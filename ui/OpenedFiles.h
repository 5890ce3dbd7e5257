// Which of the files a user hands the studio (command line, a file manager, a drop, Open
// Document) is the model and which the document: decided by content first, as the desktop MIME
// type is (the GGUF magic at offset 0), then by name (*.gguf).
#pragma once

#include <QString>
#include <QStringList>

namespace studio {

bool isModelFile(const QString& path);

struct OpenedFiles {
    QString model;        // the first model, or empty
    QString document;     // the first document, or empty
    QStringList ignored;  // the rest: the studio opens one of each
};
// `model` counts as already given (the --model option): every model file is then ignored.
OpenedFiles sortOpenedFiles(const QStringList& paths, const QString& model = {});

}  // namespace studio
