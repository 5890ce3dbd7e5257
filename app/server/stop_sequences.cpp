#include "stop_sequences.h"

namespace server {

std::string StopSequences::push(std::string_view piece) {
    if (stopped_) return {};
    held_.append(piece);
    // The earliest stop string in what is held ends the answer there.
    if (const size_t first = stops_.first_in(held_); first != std::string::npos) {
        stopped_ = true;
        std::string shown = held_.substr(0, first);
        held_.clear();
        return shown;
    }
    // Hold back the longest tail that begins some stop string.
    const size_t keep = stops_.undecided_tail(held_);
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
