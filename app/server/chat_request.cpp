#include "chat_request.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace server {
namespace {

using Json = nlohmann::json;

ApiError invalid(std::string message, std::string param = {}) {
    return ApiError(400, "invalid_request_error", std::move(message), std::move(param));
}

ApiError unsupported(const std::string& param, const std::string& what) {
    return ApiError(400, "invalid_request_error", what + " is not supported by selfextend-server",
                    param, "unsupported_parameter");
}

// A message's content: a string, or an array of parts of which only text is supported.
std::string content_text(const Json& content, const std::string& param) {
    if (content.is_string()) return content.get<std::string>();
    if (content.is_null()) return {};
    if (!content.is_array()) throw invalid("content must be a string or an array of parts", param);
    std::string text;
    for (const Json& part : content) {
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
            throw invalid("each content part must be an object with a type", param);
        if (part["type"] != "text")
            throw unsupported(param, "content of type '" + part["type"].get<std::string>() + "'");
        if (!part.contains("text") || !part["text"].is_string())
            throw invalid("a text part needs its text", param);
        if (!text.empty()) text += "\n";
        text += part["text"].get<std::string>();
    }
    return text;
}

double number(const Json& body, const char* name, double low, double high) {
    const Json& value = body[name];
    if (!value.is_number()) throw invalid(std::string(name) + " must be a number", name);
    const double v = value.get<double>();
    if (!std::isfinite(v) || v < low || v > high)
        throw invalid(std::string(name) + " must be between " + Json(low).dump() + " and " +
                          Json(high).dump(),
                      name);
    return v;
}

bool present(const Json& body, const char* name) {
    return body.contains(name) && !body[name].is_null();
}

void read_messages(const Json& messages, ChatRequest& request) {
    if (!messages.is_array() || messages.empty())
        throw invalid("messages must be a non-empty array", "messages");
    // system?, then user and assistant turns in order, ending with a user message.
    bool system_seen = false, turns_started = false;
    std::optional<std::string> pending_question;
    for (size_t k = 0; k < messages.size(); ++k) {
        const std::string param = "messages[" + std::to_string(k) + "]";
        const Json& message = messages[k];
        if (!message.is_object() || !message.contains("role") || !message["role"].is_string())
            throw invalid("each message must be an object with a role", param);
        const std::string role = message["role"].get<std::string>();
        if (message.contains("tool_calls") || message.contains("function_call"))
            throw unsupported(param, "tool calls");
        const std::string text =
            message.contains("content") ? content_text(message["content"], param + ".content") : "";
        if (role == "system" || role == "developer") {
            if (turns_started || system_seen)
                throw invalid("a system message must come first, once", param);
            system_seen = true;
            request.system = text;
        } else if (role == "user") {
            if (pending_question)
                throw invalid(
                    "two user messages in a row: merge them, or put the assistant's "
                    "answer between them",
                    param);
            turns_started = true;
            pending_question = text;
        } else if (role == "assistant") {
            if (!pending_question)
                throw invalid("an assistant message must follow a user message", param);
            request.earlier.push_back({std::move(*pending_question), text});
            pending_question.reset();
        } else if (role == "tool" || role == "function") {
            throw unsupported(param, "tool messages");
        } else {
            throw invalid("unknown role '" + role + "'", param);
        }
    }
    if (!pending_question) throw invalid("the last message must be the user's", "messages");
    request.question = std::move(*pending_question);
}

void read_self_extend(const Json& value, ChatRequest& request) {
    if (value.is_string()) {
        const std::string kind = value.get<std::string>();
        if (kind == "auto") {
            request.self_extend.kind = SelfExtendChoice::Kind::Auto;
        } else if (kind == "off") {
            request.self_extend.kind = SelfExtendChoice::Kind::Off;
        } else {
            throw invalid("self_extend must be \"auto\", \"off\" or {\"group\": G, \"window\": W}",
                          "self_extend");
        }
        return;
    }
    if (!value.is_object() || !value.contains("group") || !value["group"].is_number_integer() ||
        !value.contains("window") || !value["window"].is_number_integer())
        throw invalid("self_extend must be \"auto\", \"off\" or {\"group\": G, \"window\": W}",
                      "self_extend");
    const int64_t group = value["group"].get<int64_t>();
    const int64_t window = value["window"].get<int64_t>();
    if (group < 1 || group > 1024)
        throw invalid("self_extend.group must be 1 to 1024", "self_extend");
    if (window < 0 || window > (int64_t(1) << 24))
        throw invalid("self_extend.window must not be negative", "self_extend");
    request.self_extend.kind = SelfExtendChoice::Kind::Given;
    request.self_extend.mode = selfextend::AttentionMode::self_extend(int(group), int(window));
}

}  // namespace

ChatRequest parse_chat_request(std::string_view text, const RequestLimits& limits) {
    const Json body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) throw invalid("the body is not valid JSON");
    if (!body.is_object()) throw invalid("the body must be a JSON object");
    ChatRequest request;
    if (!body.contains("messages")) throw invalid("messages is required", "messages");
    read_messages(body["messages"], request);

    // What the server does not do is refused, never silently ignored.
    for (const char* name : {"tools", "functions", "tool_choice", "function_call"})
        if (present(body, name) && !(body[name].is_array() && body[name].empty()) &&
            !(body[name].is_string() && body[name] == "none"))
            throw unsupported(name, "tool calling");
    if (present(body, "n") && !(body["n"].is_number_integer() && body["n"] == 1))
        throw unsupported("n", "more than one choice (n > 1)");
    if (present(body, "logprobs") && !(body["logprobs"].is_boolean() && !body["logprobs"]))
        throw unsupported("logprobs", "logprobs");
    if (present(body, "response_format")) {
        const Json& format = body["response_format"];
        if (!format.is_object() || format.value("type", "") != "text")
            throw unsupported("response_format", "a response_format other than text");
    }

    for (const char* name : {"max_tokens", "max_completion_tokens"}) {
        if (!present(body, name)) continue;
        if (!body[name].is_number_integer() || body[name].get<int64_t>() < 1 ||
            body[name].get<int64_t>() > limits.max_tokens)
            throw invalid(std::string(name) + " must be an integer from 1 to " +
                              std::to_string(limits.max_tokens),
                          name);
        request.max_tokens = int(body[name].get<int64_t>());
    }
    if (present(body, "temperature")) {
        request.sampling.temperature = float(number(body, "temperature", 0, 2));
        request.sampling_given = true;
    }
    if (present(body, "top_p")) {
        request.sampling.top_p = float(number(body, "top_p", 0, 1));
        if (request.sampling.top_p <= 0) throw invalid("top_p must be above 0", "top_p");
        request.sampling_given = true;
    }
    if (present(body, "seed")) {
        if (!body["seed"].is_number_integer()) throw invalid("seed must be an integer", "seed");
        request.sampling.seed = body["seed"].is_number_unsigned()
                                    ? body["seed"].get<uint64_t>()
                                    : uint64_t(body["seed"].get<int64_t>());
    }
    if (present(body, "stop")) {
        const Json& stop = body["stop"];
        if (stop.is_string()) {
            request.stop.push_back(stop.get<std::string>());
        } else if (stop.is_array() && stop.size() <= 4) {
            for (const Json& s : stop) {
                if (!s.is_string()) throw invalid("stop must hold strings", "stop");
                request.stop.push_back(s.get<std::string>());
            }
        } else {
            throw invalid("stop must be a string or an array of up to 4 strings", "stop");
        }
        for (const std::string& s : request.stop)
            if (s.empty()) throw invalid("a stop sequence must not be empty", "stop");
    }
    if (present(body, "stream")) {
        if (!body["stream"].is_boolean()) throw invalid("stream must be true or false", "stream");
        request.stream = body["stream"].get<bool>();
    }
    if (present(body, "stream_options")) {
        const Json& options = body["stream_options"];
        if (!options.is_object())
            throw invalid("stream_options must be an object", "stream_options");
        if (options.contains("include_usage")) {
            if (!options["include_usage"].is_boolean())
                throw invalid("include_usage must be true or false", "stream_options");
            request.include_usage = options["include_usage"].get<bool>();
        }
    }
    if (present(body, "self_extend")) read_self_extend(body["self_extend"], request);
    if (present(body, "document")) {
        if (!body["document"].is_string() || body["document"].get<std::string>().empty())
            throw invalid("document must be the id of an uploaded document", "document");
        request.document_id = body["document"].get<std::string>();
    }
    return request;
}

}  // namespace server
