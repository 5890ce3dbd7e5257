#include "stop_sequences.h"

#include <algorithm>

namespace server {

std::string StopSequences::push(std::string_view piece) {
    if (stopped_) return {};
    held_.append(piece);
    // The earliest stop string in what is held ends the answer there.
    size_t first = std::string::npos;
    for (const std::string& stop : stops_) first = std::min(first, held_.find(stop));
    if (first != std::string::npos) {
        stopped_ = true;
        std::string shown = held_.substr(0, first);
        held_.clear();
        return shown;
    }
    // Hold back the longest tail that begins some stop string.
    size_t keep = 0;
    for (const std::string& stop : stops_)
        for (size_t n = std::min(stop.size() - 1, held_.size()); n > keep; --n)
            if (held_.compare(held_.size() - n, n, stop, 0, n) == 0) {
                keep = n;
                break;
            }
    std::string shown = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return shown;
}

std::string StopSequences::flush() {
    std::string rest;
    rest.swap(held_);
    return stopped_ ? std::string() : rest;
}

}  // namespace server
