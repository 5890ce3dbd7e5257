#include "openai_json.h"

namespace server {

Json error_body(const ApiError& error) {
    Json body{{"message", error.what()}, {"type", error.type}};
    body["param"] = error.param.empty() ? Json(nullptr) : Json(error.param);
    body["code"] = error.code.empty() ? Json(nullptr) : Json(error.code);
    return {{"error", std::move(body)}};
}

Json usage(const RunResult& result) {
    return {{"prompt_tokens", result.prompt_tokens},
            {"completion_tokens", result.completion_tokens},
            {"total_tokens", result.prompt_tokens + result.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", result.reused_tokens}}}};
}

Json extension(const RunInfo& info, const RunResult* result) {
    Json out{{"group", info.mode.group},
             {"window", info.mode.is_vanilla() ? 0 : info.mode.window},
             {"capacity", info.capacity}};
    if (info.document_tokens >= 0) out["document_tokens"] = info.document_tokens;
    out["prompt_tokens"] = info.prompt_tokens;
    if (result) {
        out["reused_tokens"] = result->reused_tokens;
        out["from_disk_cache"] = result->from_disk_cache;
        out["prefill_seconds"] = result->prefill_seconds;
        out["decode_tokens_per_second"] = result->decode_tokens_per_second;
    }
    return out;
}

Json completion(const CompletionId& id, const RunInfo& info, const RunResult& result,
                const std::string& text) {
    return {{"id", id.id},
            {"object", "chat.completion"},
            {"created", id.created},
            {"model", id.model},
            {"choices", Json::array({{{"index", 0},
                                      {"message", {{"role", "assistant"}, {"content", text}}},
                                      {"logprobs", nullptr},
                                      {"finish_reason", result.finish_reason}}})},
            {"usage", usage(result)},
            {"self_extend", extension(info, &result)}};
}

Json chunk(const CompletionId& id, Json delta, const std::string& finish_reason) {
    return {{"id", id.id},
            {"object", "chat.completion.chunk"},
            {"created", id.created},
            {"model", id.model},
            {"choices",
             Json::array({{{"index", 0},
                           {"delta", std::move(delta)},
                           {"logprobs", nullptr},
                           {"finish_reason",
                            finish_reason.empty() ? Json(nullptr) : Json(finish_reason)}}})}};
}

std::string server_sent_event(const Json& json) {
    // dump() with replacement: an answer cut inside a UTF-8 character must not throw.
    return "data: " + json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

}  // namespace server
