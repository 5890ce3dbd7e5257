// A POST /v1/chat/completions body, read and checked: what the OpenAI clients send, turned into
// what the engine's document conversation asks (a system prompt, earlier turns, the question),
// with the sampling fields honoured, unknown fields ignored and unsupported ones refused (an
// ApiError the server answers with an OpenAI-style error body). No engine or HTTP here: it is
// fuzzed on its own (tests/fuzz).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "selfextend/attention_mode.h"
#include "selfextend/chat.h"
#include "selfextend/sampling.h"

namespace server {

// An error the client caused or the server cannot serve, with its HTTP status and the OpenAI
// error object's fields.
class ApiError : public std::runtime_error {
  public:
    ApiError(int http_status, std::string error_type, std::string message,
             std::string error_param = {}, std::string error_code = {})
        : std::runtime_error(message),
          status(http_status),
          type(std::move(error_type)),
          param(std::move(error_param)),
          code(std::move(error_code)) {}
    int status;
    std::string type;   // "invalid_request_error", "rate_limit_error", "server_error", …
    std::string param;  // the request field at fault (empty: none)
    std::string code;   // a machine-readable reason (empty: none)
};

// How the request asks for Self-Extend ("self_extend": "auto" | "off" | {"group", "window"}).
struct SelfExtendChoice {
    enum class Kind { Auto, Off, Given } kind = Kind::Auto;
    selfextend::AttentionMode mode;  // Kind::Given
};

struct ChatRequest {
    std::string system;  // empty: the model's default system prompt
    std::vector<selfextend::QuestionAnswer> earlier;
    std::string question;           // the last user message
    std::string document_id;        // "document": an uploaded document the turns are about
    std::optional<int> max_tokens;  // none: the server's default
    selfextend::SamplingParams sampling;
    bool sampling_given = false;  // temperature or top_p was sent
    std::vector<std::string> stop;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    SelfExtendChoice self_extend;
};

struct RequestLimits {
    int max_tokens = 1 << 16;  // the largest max_tokens accepted
};

// Throws ApiError (status 400) for anything the API does not allow or the server does not do
// (tools, n > 1, logprobs, messages in an order a document conversation cannot hold).
ChatRequest parse_chat_request(std::string_view body, const RequestLimits& limits = {});

}  // namespace server
