// Chat prompts: the turn markup an instruct model was trained with, recognised from the GGUF's
// tokenizer.chat_template (the known templates are matched; there is no Jinja engine), and the
// prompt for a question about a document built with it.
//
// Message text is always encoded as plain text: a document that contains "<|im_start|>" gets the
// characters, never the control token. Special tokens come only from the template's markup.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "selfextend/stop_strings.h"

namespace selfextend {

class Tokenizer;

enum class ChatRole { System, User, Assistant };

struct ChatMessage {
    ChatRole role = ChatRole::User;
    std::string content;
};

// The prompt formats the engine knows. Plain is "<document>\nQuestion: <q>\nAnswer:", for base
// models without a template (the demo model, Gemma 3 270M).
enum class ChatFormat { Plain, ChatML, Llama2, Llama3, Mistral, Gemma, Phi3 };
// Every format, in the order a chooser lists them.
inline constexpr ChatFormat kChatFormats[] = {
    ChatFormat::Plain,   ChatFormat::ChatML, ChatFormat::Llama2, ChatFormat::Llama3,
    ChatFormat::Mistral, ChatFormat::Gemma,  ChatFormat::Phi3};

std::string_view chat_format_name(ChatFormat format);  // "ChatML", "Llama-3", …
// Accepts the display names and short ones ("chatml", "llama2", "llama3", "mistral", "gemma",
// "phi3", "plain"), case-insensitively.
std::optional<ChatFormat> chat_format_from_name(std::string_view name);
std::string chat_format_names();  // "plain, chatml, llama2, …" for error messages

// The format a tokenizer.chat_template source describes; Plain when it is empty or unknown.
ChatFormat detect_chat_format(std::string_view jinja_source);

// The system prompt a template inserts when the conversation has none (SmolLM2's ChatML template
// does), read from the template's literal text; empty when it has none.
std::string default_system_prompt(std::string_view jinja_source);

// The repeat penalty answers get unless the user chooses one. Chat models loop on their own
// words without one ("It is very dark. It is very dark…"): 1.1, as in the common local-model
// apps. A base model on the plain format copies its document's wording, which a penalty would
// push it away from: 1 (off).
float default_repeat_penalty(ChatFormat format);

// A turn of a conversation about a document: a question and the answer it got.
struct QuestionAnswer {
    std::string question;
    std::string answer;
};

class ChatTemplate {
  public:
    // Throws Error when the tokenizer lacks a special token the format needs.
    ChatTemplate(ChatFormat format, const Tokenizer& tokenizer, std::string default_system = {});

    ChatFormat format() const { return format_; }
    std::string_view name() const { return chat_format_name(format_); }
    const std::string& default_system() const { return default_system_; }

    // The ids of the conversation (BOS first when the tokenizer adds one), followed by the start
    // of the assistant's turn when generation_prompt. A system message, when given, must come
    // first; formats without a system turn put it before the first user message.
    std::vector<int32_t> encode(std::span<const ChatMessage> messages,
                                bool generation_prompt = true) const;

    // The messages for a question about a document: the system prompt (the template's default
    // when empty), then the document and the first question in the first user turn, earlier
    // questions and answers in order, and the new question last. Plain gives the demo model's
    // "<document>\nQuestion: <q>\nAnswer:".
    std::vector<ChatMessage> document_conversation(std::string_view system_prompt,
                                                   std::string_view document,
                                                   std::span<const QuestionAnswer> earlier,
                                                   std::string_view question) const;

    // The ids of a conversation about a document (document_conversation, then the generation
    // prompt) and how many of them come before the first question: that prefix is the same for
    // every question about the document, so its KV can be kept and reused.
    struct DocumentPrompt {
        std::vector<int32_t> tokens;
        int64_t document_prefix = 0;
    };
    DocumentPrompt document_prompt(std::string_view system_prompt, std::string_view document,
                                   std::span<const QuestionAnswer> earlier,
                                   std::string_view question) const;

    // Tokens that end an assistant turn (the tokenizer's EOS among them): generation stops there.
    const std::vector<int32_t>& end_of_turn_tokens() const { return end_of_turn_; }

    // What encode() encodes: the conversation written out as special tokens and plain text, in
    // order (adjacent text merged into one part, as a template engine would hand it over).
    struct MarkupPart {
        int32_t id = -1;   // a special token, or -1 for plain text
        std::string text;  // the plain text
    };
    std::vector<MarkupPart> markup(std::span<const ChatMessage> messages,
                                   bool generation_prompt) const;
    // Appends the ids of parts; at_start: they begin the sequence (the tokenizer's BOS first
    // when it adds one).
    void encode_parts(std::span<const MarkupPart> parts, bool at_start,
                      std::vector<int32_t>& ids) const;
    const Tokenizer& tokenizer() const { return tokenizer_; }

  private:
    int32_t special_id(std::string_view piece) const;

    ChatFormat format_;
    const Tokenizer& tokenizer_;
    std::string default_system_;
    std::vector<int32_t> end_of_turn_;
};

// Where an answer ends in a format without an end-of-turn token. The plain format writes an
// answer on one line and the next turn as "Question: …", so a model that ends a sentence or a
// paragraph with a line break, starts the next "Question:", or writes the question again (a
// small base model's way of starting the next turn) has finished its answer (a line break inside
// a sentence is a hard wrap, as in the book it read: the answer goes on); the demo model otherwise
// goes on inventing turns until the token limit. Fed the streamed text piece by piece, it holds
// back what may be the start of a marker until the next piece decides. Every other format ends at
// its end-of-turn token and passes through unchanged.
class AnswerEnd {
  public:
    // `question`: the question being answered (ignored when shorter than 12 characters, where it
    // could be part of an answer); `enabled` false: every piece passes through.
    explicit AnswerEnd(ChatFormat format, std::string_view question = {}, bool enabled = true);
    // Another question whose words mark the next turn (the conversation's earlier ones: a small
    // model starts its invented next turn by asking one of them again). Ignored when shorter
    // than the question marker's minimum, as the question is.
    void add_question(std::string_view question);

    // The part of `piece` (with what was held back) that belongs to the answer and can be shown.
    std::string push(std::string_view piece);
    // Whether the answer has ended: stop generating; later pieces are dropped.
    bool ended() const { return ended_; }
    // What is still held back, when generation stops for another reason.
    std::string flush();

  private:
    bool plain_;
    bool ended_ = false;
    bool saw_text_ = false;  // a line break before the first word does not end the answer
    std::string last_text_;  // the last shown piece with a word (does it end a sentence?)
    StopStrings markers_;
    std::string held_;
};

}  // namespace selfextend
