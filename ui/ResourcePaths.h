// Where the bundled demo model lives: next to an installed executable, or in the source tree.
#pragma once

#include <QString>

namespace studio {

inline constexpr char kDemoModelFile[] = "selfextend-demo-8m-f16.gguf";

// <exe dir>/../resources/models/<demo>, else <source dir>/resources/models/<demo>; empty if
// neither exists.
QString findBundledModel();

}  // namespace studio
