#include "selfextend/stop_strings.h"

#include <algorithm>

namespace selfextend {

size_t StopStrings::first_in(std::string_view text) const {
    size_t first = std::string_view::npos;
    for (const std::string& stop : strings) first = std::min(first, text.find(stop));
    return first;
}

size_t StopStrings::undecided_tail(std::string_view text) const {
    size_t keep = 0;
    for (const std::string& stop : strings)
        for (size_t n = std::min(text.size(), stop.empty() ? 0 : stop.size() - 1); n > keep; --n)
            if (std::string_view(stop).starts_with(text.substr(text.size() - n))) {
                keep = n;
                break;
            }
    return keep;
}

}  // namespace selfextend
