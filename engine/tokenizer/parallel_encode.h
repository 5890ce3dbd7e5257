// Encoding a long text on every core: the text is cut at newlines where the vocabulary's
// tokenization is known never to join the two sides, the parts are encoded at once, and their
// ids concatenated are those of a whole-text encode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace selfextend {

// Where text may be cut near its newline at text[newline] with no token spanning the cut (just
// after the newline, or for some vocabularies before it); nullopt where it may not be cut.
using CutNearNewline = std::function<std::optional<size_t>(std::string_view text, size_t newline)>;
// Appends the ids of one part; `first` tells whether it begins the text.
using PartEncoder =
    std::function<void(std::string_view part, bool first, std::vector<int32_t>& ids)>;

// Texts shorter than this are encoded in one piece: threads would cost more than they save.
inline constexpr size_t kParallelEncodeBytes = 128 * 1024;

// Cuts text into about `parts` parts of similar size, each cut where cut_near_newline allows.
// Fewer parts come back when no newline allows a cut in a stretch.
std::vector<std::string_view> cut_at_newlines(std::string_view text, size_t parts,
                                              const CutNearNewline& cut_near_newline);

// The ids of text, encoded in parallel parts when it is long and there are several cores, else
// in one call. An exception thrown by any part is rethrown here once every thread has ended.
std::vector<int32_t> encode_in_parallel(std::string_view text,
                                        const CutNearNewline& cut_near_newline,
                                        const PartEncoder& encode_part);

}  // namespace selfextend
