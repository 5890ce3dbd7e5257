// The known chat formats, written out as markup: special tokens (looked up by their piece) and
// plain text (encoded as text, so it can never become a special token). Adjacent plain text is
// merged and encoded in one piece, as a template engine followed by a tokenizer would see it.
#include <algorithm>
#include <array>
#include <cctype>

#include "selfextend/chat.h"
#include "selfextend/error.h"
#include "selfextend/tokenizer.h"
#include "text/plain_text.h"

namespace selfextend {

namespace {

struct FormatName {
    ChatFormat format;
    std::string_view display;
    std::string_view short_name;
};

constexpr std::array kFormatNames = {
    FormatName{ChatFormat::Plain, "plain", "plain"},
    FormatName{ChatFormat::ChatML, "ChatML", "chatml"},
    FormatName{ChatFormat::Llama2, "Llama-2", "llama2"},
    FormatName{ChatFormat::Llama3, "Llama-3", "llama3"},
    FormatName{ChatFormat::Mistral, "Mistral", "mistral"},
    FormatName{ChatFormat::Gemma, "Gemma", "gemma"},
    FormatName{ChatFormat::Phi3, "Phi-3", "phi3"},
};

// The piece that ends an assistant turn, besides EOS (empty: EOS alone).
std::string_view end_of_turn_piece(ChatFormat format) {
    switch (format) {
        case ChatFormat::ChatML:
            return "<|im_end|>";
        case ChatFormat::Llama3:
            return "<|eot_id|>";
        case ChatFormat::Gemma:
            return "<end_of_turn>";
        case ChatFormat::Phi3:
            return "<|end|>";
        case ChatFormat::Plain:
        case ChatFormat::Llama2:
        case ChatFormat::Mistral:
            break;
    }
    return {};
}

std::string lowercase(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return lower;
}

std::string_view role_name(ChatRole role) {
    switch (role) {
        case ChatRole::System:
            return "system";
        case ChatRole::User:
            return "user";
        case ChatRole::Assistant:
            return "assistant";
    }
    return "user";
}

}  // namespace

std::string_view chat_format_name(ChatFormat format) {
    for (const FormatName& f : kFormatNames)
        if (f.format == format) return f.display;
    return "plain";
}

std::optional<ChatFormat> chat_format_from_name(std::string_view name) {
    const std::string lower = lowercase(name);
    for (const FormatName& f : kFormatNames)
        if (lower == f.short_name || lower == lowercase(f.display)) return f.format;
    return std::nullopt;
}

std::string chat_format_names() {
    std::string names;
    for (const FormatName& f : kFormatNames)
        names.append(names.empty() ? "" : ", ").append(f.short_name);
    return names;
}

ChatFormat detect_chat_format(std::string_view source) {
    const auto has = [&](std::string_view marker) {
        return source.find(marker) != std::string_view::npos;
    };
    if (has("<|im_start|>")) return ChatFormat::ChatML;
    if (has("<|start_header_id|>")) return ChatFormat::Llama3;
    if (has("<start_of_turn>")) return ChatFormat::Gemma;
    if (has("<|user|>") && has("<|end|>")) return ChatFormat::Phi3;
    if (has("[INST]")) return has("<<SYS>>") ? ChatFormat::Llama2 : ChatFormat::Mistral;
    return ChatFormat::Plain;
}

std::string default_system_prompt(std::string_view source) {
    // ChatML templates with a default write it as one literal: '<|im_start|>system\n…<|im_end|>'.
    constexpr std::string_view kOpen = "<|im_start|>system\n";
    const size_t open = source.find(kOpen);
    if (open == std::string_view::npos) return {};
    const size_t start = open + kOpen.size();
    const size_t end = source.find("<|im_end|>", start);
    if (end == std::string_view::npos) return {};
    const std::string_view text = source.substr(start, end - start);
    // Only a literal counts: anything with template syntax or quotes is not a fixed prompt.
    if (text.find_first_of("{}'\"") != std::string_view::npos) return {};
    return std::string(text);
}

ChatTemplate::ChatTemplate(ChatFormat format, const Tokenizer& tokenizer,
                           std::string default_system)
    : format_(format), tokenizer_(tokenizer), default_system_(std::move(default_system)) {
    // Every special piece the format writes must be in the vocabulary: render a conversation
    // once to look them all up now rather than at the first question.
    const std::array<ChatMessage, 3> probe = {ChatMessage{ChatRole::System, "s"},
                                              ChatMessage{ChatRole::User, "u"},
                                              ChatMessage{ChatRole::Assistant, "a"}};
    (void)markup(probe, true);
    end_of_turn_.push_back(tokenizer.eos_id());
    if (const std::string_view piece = end_of_turn_piece(format); !piece.empty())
        end_of_turn_.push_back(special_id(piece));
}

int32_t ChatTemplate::special_id(std::string_view piece) const {
    const std::optional<int32_t> id = tokenizer_.find_token(piece);
    if (!id)
        throw Error("chat template " + std::string(name()) + ": the vocabulary has no '" +
                    std::string(piece) + "' token");
    return *id;
}

std::vector<ChatTemplate::MarkupPart> ChatTemplate::markup(std::span<const ChatMessage> messages,
                                                           bool generation_prompt) const {
    std::vector<MarkupPart> out;
    const auto special = [&](std::string_view piece) { out.push_back({special_id(piece), {}}); };
    const auto token = [&](int32_t id) { out.push_back({id, {}}); };
    const auto text = [&](std::string_view t) {
        if (t.empty()) return;
        if (!out.empty() && out.back().id < 0)
            out.back().text += t;
        else
            out.push_back({-1, std::string(t)});
    };

    // The system prompt: the conversation's own, else the template's default.
    std::string system = default_system_;
    if (!messages.empty() && messages.front().role == ChatRole::System) {
        system = messages.front().content;
        messages = messages.subspan(1);
    }
    for (const ChatMessage& m : messages)
        if (m.role == ChatRole::System)
            throw Error("chat: a system message may only open the conversation");

    switch (format_) {
        case ChatFormat::Plain:
            if (!system.empty()) text(system + "\n\n");
            for (const ChatMessage& m : messages) {
                if (m.role == ChatRole::User) {
                    text(m.content);
                    text("\nAnswer:");
                } else {
                    text(" " + m.content + "\n");
                }
            }
            break;
        case ChatFormat::ChatML: {
            const auto turn = [&](std::string_view role, std::string_view content) {
                special("<|im_start|>");
                text(std::string(role) + "\n" + std::string(content));
                special("<|im_end|>");
                text("\n");
            };
            if (!system.empty()) turn("system", system);
            for (const ChatMessage& m : messages) turn(role_name(m.role), m.content);
            if (generation_prompt) {
                special("<|im_start|>");
                text("assistant\n");
            }
            break;
        }
        case ChatFormat::Llama3: {
            const auto header = [&](std::string_view role) {
                special("<|start_header_id|>");
                text(role);
                special("<|end_header_id|>");
                text("\n\n");
            };
            if (!system.empty()) {
                header("system");
                text(selfextend::text::trimmed(system));
                special("<|eot_id|>");
            }
            for (const ChatMessage& m : messages) {
                header(role_name(m.role));
                text(selfextend::text::trimmed(m.content));
                special("<|eot_id|>");
            }
            if (generation_prompt) header("assistant");
            break;
        }
        case ChatFormat::Llama2:
        case ChatFormat::Mistral: {
            // [INST] user [/INST] answer </s><s>[INST] … ; the first BOS is the tokenizer's own.
            bool first = true;
            for (const ChatMessage& m : messages) {
                if (m.role == ChatRole::User) {
                    if (!first) token(tokenizer_.bos_id());
                    std::string content = m.content;
                    if (first && !system.empty())
                        content = format_ == ChatFormat::Llama2
                                      ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content
                                      : system + "\n\n" + content;
                    text("[INST] " + content + " [/INST]");
                    first = false;
                } else {
                    text(format_ == ChatFormat::Llama2 ? " " + m.content + " " : m.content);
                    token(tokenizer_.eos_id());
                }
            }
            break;
        }
        case ChatFormat::Gemma: {
            bool first = true;
            for (const ChatMessage& m : messages) {
                special("<start_of_turn>");
                const bool user = m.role == ChatRole::User;
                std::string content = m.content;
                if (user && first && !system.empty()) content = system + "\n\n" + content;
                if (user) first = false;
                text(std::string(user ? "user" : "model") + "\n" + content);
                special("<end_of_turn>");
                text("\n");
            }
            if (generation_prompt) {
                special("<start_of_turn>");
                text("model\n");
            }
            break;
        }
        case ChatFormat::Phi3: {
            const auto turn = [&](std::string_view role_piece, std::string_view content) {
                special(role_piece);
                text("\n");
                text(content);
                special("<|end|>");
                text("\n");
            };
            if (!system.empty()) turn("<|system|>", system);
            for (const ChatMessage& m : messages)
                turn(m.role == ChatRole::User ? "<|user|>" : "<|assistant|>", m.content);
            if (generation_prompt) {
                special("<|assistant|>");
                text("\n");
            }
            break;
        }
    }
    return out;
}

std::vector<int32_t> ChatTemplate::encode(std::span<const ChatMessage> messages,
                                          bool generation_prompt) const {
    std::vector<int32_t> ids;
    encode_parts(markup(messages, generation_prompt), true, ids);
    return ids;
}

void ChatTemplate::encode_parts(std::span<const MarkupPart> parts, bool at_start,
                                std::vector<int32_t>& ids) const {
    for (const MarkupPart& part : parts) {
        if (part.id >= 0) {
            if (at_start && tokenizer_.adds_bos()) ids.push_back(tokenizer_.bos_id());
            ids.push_back(part.id);
        } else {
            const std::vector<int32_t> encoded = tokenizer_.encode(part.text, at_start);
            ids.insert(ids.end(), encoded.begin(), encoded.end());
        }
        at_start = false;
    }
}

ChatTemplate::DocumentPrompt ChatTemplate::document_prompt(std::string_view system_prompt,
                                                           std::string_view document,
                                                           std::span<const QuestionAnswer> earlier,
                                                           std::string_view question) const {
    DocumentPrompt prompt;
    prompt.tokens = encode(document_conversation(system_prompt, document, earlier, question));
    // Where the first question starts: the part two different questions share. (Tokenizers may
    // merge across the boundary, so it is found rather than computed from the text.)
    const auto first_question = [&](std::string_view q) {
        return encode(document_conversation(system_prompt, document, {}, q), false);
    };
    const std::vector<int32_t> a = first_question("A");
    const std::vector<int32_t> b = first_question("Z");
    const auto shared = std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin();
    const auto with_prompt =
        std::mismatch(a.begin(), a.begin() + shared, prompt.tokens.begin(), prompt.tokens.end())
            .first -
        a.begin();
    prompt.document_prefix = int64_t(std::min(shared, with_prompt));
    return prompt;
}

float default_repeat_penalty(ChatFormat format) {
    return format == ChatFormat::Plain ? 1.0f : 1.1f;
}

std::vector<ChatMessage> ChatTemplate::document_conversation(
    std::string_view system_prompt, std::string_view document,
    std::span<const QuestionAnswer> earlier, std::string_view question) const {
    std::vector<ChatMessage> messages;
    if (!system_prompt.empty()) messages.push_back({ChatRole::System, std::string(system_prompt)});
    // Plain is the demo model's card: "<document>\nQuestion: <q>\nAnswer:".
    const bool plain = format_ == ChatFormat::Plain;
    const auto ask = [&](std::string_view q, bool first) {
        std::string content;
        // (No document: a plain chat, the question alone, as the server's requests without one.)
        if (first && !document.empty()) content.append(document).append(plain ? "\n" : "\n\n");
        if (plain) content.append("Question: ");
        content.append(q);
        messages.push_back({ChatRole::User, std::move(content)});
    };
    bool first = true;
    for (const QuestionAnswer& turn : earlier) {
        ask(turn.question, first);
        messages.push_back({ChatRole::Assistant, turn.answer});
        first = false;
    }
    ask(question, first);
    return messages;
}

}  // namespace selfextend
