// The OpenAI wire format the official clients parse: a chat completion, its streamed chunks
// (server-sent events), the model list and the error object, with our extension fields (which
// G and W answered, the document's tokens, what the prompt reused).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "chat_request.h"
#include "generation_service.h"

namespace server {

using Json = nlohmann::ordered_json;

// {"error": {"message", "type", "param", "code"}}
Json error_body(const ApiError& error);

// One response's identity, the same in every chunk of a stream.
struct CompletionId {
    std::string id;  // "chatcmpl-…"
    int64_t created = 0;
    std::string model;
};

// "usage": prompt, completion and total tokens, the reused ones as prompt_tokens_details.
Json usage(const RunResult& result);
// "self_extend": {"group", "window", "capacity"} ({"group": 1} for vanilla) and the token counts.
Json extension(const RunInfo& info, const RunResult* result);

Json completion(const CompletionId& id, const RunInfo& info, const RunResult& result,
                const std::string& text);
// A chat.completion.chunk: `delta` and a finish_reason (empty: null).
Json chunk(const CompletionId& id, Json delta, const std::string& finish_reason);
// "data: {json}\n\n"
std::string server_sent_event(const Json& json);

}  // namespace server
