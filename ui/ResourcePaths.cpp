#include "ResourcePaths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace studio {

namespace {

// <data>/<relative> in the installed tree, next to the build, or in the source tree: the first
// that exists, else empty.
QString findData(const QString& relative) {
    const QStringList candidates{
#ifdef SE_DATA_FROM_BINDIR
        // Installed: bin/ -> share/selfextend-studio, wherever the tree was put.
        QCoreApplication::applicationDirPath() + "/" SE_DATA_FROM_BINDIR "/" + relative,
#endif
        QCoreApplication::applicationDirPath() + "/../resources/" + relative,
#ifdef SE_SOURCE_DIR
        QStringLiteral(SE_SOURCE_DIR) + "/resources/" + relative,
#endif
    };
    for (const QString& candidate : candidates)
        if (QFileInfo(candidate).isFile()) return QDir::cleanPath(candidate);
    return {};
}

}  // namespace

QString findBundledModel() {
    return findData(QStringLiteral("models/") + kDemoModelFile);
}

QString findSampleDocument() {
    return findData(QStringLiteral("samples/door-code.txt"));
}

QStringList modelFolders() {
    QStringList folders;
    if (const QByteArray env = qgetenv("SE_MODELS_DIR"); !env.isEmpty())
        folders << QString::fromLocal8Bit(env);
#ifdef SE_SOURCE_DIR
    folders << QStringLiteral(SE_SOURCE_DIR) + "/models";
#endif
    folders << QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/models";
    for (QString& folder : folders) folder = QDir::cleanPath(folder);
    folders.removeDuplicates();
    return folders;
}

QStringList findModelFiles() {
    QStringList files;
    if (const QString demo = findBundledModel(); !demo.isEmpty()) files << demo;
    for (const QString& folder : modelFolders()) {
        const QFileInfoList found =
            QDir(folder).entryInfoList({QStringLiteral("*.gguf")}, QDir::Files, QDir::Name);
        for (const QFileInfo& file : found) files << file.absoluteFilePath();
    }
    files.removeDuplicates();
    return files;
}

}  // namespace studio
