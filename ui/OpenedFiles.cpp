#include "OpenedFiles.h"

#include <QFile>
#include <QFileInfo>

namespace studio {

bool isModelFile(const QString& path) {
    QFile file(path);
    if (file.open(QIODevice::ReadOnly) && file.read(4) == "GGUF") return true;
    return QFileInfo(path).suffix().compare(QStringLiteral("gguf"), Qt::CaseInsensitive) == 0;
}

OpenedFiles sortOpenedFiles(const QStringList& paths, const QString& model) {
    OpenedFiles files;
    files.model = model;
    for (const QString& path : paths) {
        QString& slot = isModelFile(path) ? files.model : files.document;
        if (slot.isEmpty())
            slot = path;
        else
            files.ignored << path;
    }
    return files;
}

}  // namespace studio
