// Arbitrary bytes as a POST /v1/chat/completions body, read by the server's request parser: a
// clear ApiError is the expected outcome for most inputs; a crash, a sanitizer report or a hang
// is a bug. The first byte, when it is 0xff, sends the rest through the stop-sequence filter
// too, cut in pieces of its bytes' lengths.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat_request.h"
#include "stop_sequences.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    try {
        const server::ChatRequest request = server::parse_chat_request(body);
        server::StopSequences stops(request.stop);
        std::string shown;
        for (const auto& turn : request.earlier) shown += stops.push(turn.answer);
        shown += stops.push(request.question);
        shown += stops.flush();
        (void)shown.size();
    } catch (const server::ApiError& e) {
        (void)e.status;
    }
    return 0;
}
