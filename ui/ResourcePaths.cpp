#include "ResourcePaths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace studio {

QString findBundledModel() {
    const QStringList candidates{
        QCoreApplication::applicationDirPath() + "/../resources/models/" + kDemoModelFile,
#ifdef SE_SOURCE_DIR
        QStringLiteral(SE_SOURCE_DIR) + "/resources/models/" + kDemoModelFile,
#endif
    };
    for (const QString& candidate : candidates)
        if (QFileInfo(candidate).isFile()) return QDir::cleanPath(candidate);
    return {};
}

}  // namespace studio
