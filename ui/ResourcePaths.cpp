#include "ResourcePaths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace studio {

QString findBundledModel() {
    const QStringList candidates{
#ifdef SE_DATA_FROM_BINDIR
        // Installed: bin/ -> share/selfextend-studio/models, wherever the tree was put.
        QCoreApplication::applicationDirPath() + "/" SE_DATA_FROM_BINDIR "/models/" +
            kDemoModelFile,
#endif
        QCoreApplication::applicationDirPath() + "/../resources/models/" + kDemoModelFile,
#ifdef SE_SOURCE_DIR
        QStringLiteral(SE_SOURCE_DIR) + "/resources/models/" + kDemoModelFile,
#endif
    };
    for (const QString& candidate : candidates)
        if (QFileInfo(candidate).isFile()) return QDir::cleanPath(candidate);
    return {};
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
