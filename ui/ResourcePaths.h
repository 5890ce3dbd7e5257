// Where models live: the bundled demo model next to an installed executable or in the source
// tree, and the real models tools/fetch-models.sh puts in the checkout's models/ folder.
#pragma once

#include <QString>
#include <QStringList>

namespace studio {

inline constexpr char kDemoModelFile[] = "selfextend-demo-8m-f16.gguf";

// The installed copy (<exe dir>/../share/selfextend-studio/models/<demo> with the default
// GNUInstallDirs layout), else <exe dir>/../resources/models/<demo>, else
// <source dir>/resources/models/<demo>; empty if none exists.
QString findBundledModel();

// The sample document (a text with a door code hidden in it, three times the demo model's window),
// looked for in the same places as the demo model (…/samples/door-code.txt); empty if none.
QString findSampleDocument();

// Folders searched for more models: $SE_MODELS_DIR, the checkout's models/ (where
// tools/fetch-models.sh puts them) and the user's data folder (~/.local/share/…/models).
QStringList modelFolders();
// The bundled demo model first, then every .gguf in modelFolders(), sorted by name.
QStringList findModelFiles();

}  // namespace studio
