// Strings that end a streamed answer (the plain format's next-turn markers, an API request's
// "stop" list). Pieces arrive a few bytes at a time, so a stop string can span two of them: the
// reader holds back a tail that could still grow into one until the next piece decides.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace selfextend {

struct StopStrings {
    std::vector<std::string> strings;

    // Where the earliest stop string begins in `text`, or std::string_view::npos.
    size_t first_in(std::string_view text) const;
    // The length of the longest tail of `text` that a stop string begins with (and is not all
    // of): what to hold back until more text arrives.
    size_t undecided_tail(std::string_view text) const;
};

}  // namespace selfextend
