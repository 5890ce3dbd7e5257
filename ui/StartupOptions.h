// What the command line asks of the main window at start.
#pragma once

#include <QString>
#include <QStringList>
#include <optional>

namespace studio {

struct StartupOptions {
    QString modelPath;     // empty: the last model, else the bundled demo model
    QString documentPath;  // empty: the last document, if it still exists
    std::optional<int> group;
    std::optional<int> window;
    QString askQuestion;       // --ask: asked once the model and the document are loaded
    QStringList ignoredFiles;  // files given beyond one model and one document (said at start)
};

}  // namespace studio
