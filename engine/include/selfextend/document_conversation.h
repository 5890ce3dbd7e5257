// A conversation about a document: the Ask use case of the studio and of `selfextend-cli ask`,
// in one place. The app's worker and the CLI only present what it reports.
//
// FramedDocument is the document in a chat format's first user turn, with its ids encoded once:
// every question (either side's, follow-ups too) encodes only the question, the earlier turns and
// the document's last lines. DocumentConversation is one side of the talk: an attention mode, a
// session that keeps the document's KV (and the turns so far) between questions, the disk cache,
// the prompt budget (which turns to drop, when to cut the document, saying so) and the answer's
// sources.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "selfextend/answer_sources.h"
#include "selfextend/attention_mode.h"
#include "selfextend/cancel.h"
#include "selfextend/chat.h"
#include "selfextend/engine.h"
#include "selfextend/progress.h"
#include "selfextend/sampling.h"

namespace selfextend {

class KvDiskCache;

class FramedDocument {
  public:
    // The document asked about in `chat`'s format with a system prompt (empty: the template's
    // default). Encodes the document (all of it up to its last lines) here, once.
    FramedDocument(ChatTemplate chat, std::string system, std::string document);

    const ChatTemplate& chat() const { return chat_; }
    const std::string& system() const { return system_; }
    const std::string& text() const { return document_; }

    // The ids of the conversation with earlier turns and a new question, as
    // chat().document_prompt(system(), text(), earlier, question) gives them, the document's part
    // taken from the ids encoded once (the whole is encoded again only where the vocabulary
    // cannot be cut near the document's end).
    ChatTemplate::DocumentPrompt prompt(std::span<const QuestionAnswer> earlier,
                                        std::string_view question) const;

    // The document's own ids (no BOS, no markup), encoded on first use: its token count, and
    // the text a prompt cut to a budget keeps the end of.
    const std::vector<int32_t>& tokens() const;

  private:
    // The ids before a cut in the document's markup part, and what a question's ids are
    // compared with to find where the document's part ends (see prompt()).
    struct Head {
        size_t part = 0;               // the markup part the document is in
        size_t newline = 0;            // the newline of that part's text the cut is near
        size_t cut = 0;                // the byte of that part's text the ids end before
        std::string text;              // that part's text before the cut
        std::vector<int32_t> tokens;   // the ids of the markup before the cut
        std::vector<int32_t> after_a;  // the ids after the cut for a first question "A"
        int64_t shared = 0;            // ids that questions "A" and "Z" share, from the start
    };
    void encode_head();
    // The ids after the head for the conversation's markup, or false where the head does not
    // apply to it.
    bool encode_after_head(std::span<const ChatTemplate::MarkupPart> parts,
                           std::vector<int32_t>& ids) const;

    ChatTemplate chat_;
    std::string system_;
    std::string document_;
    std::vector<ChatTemplate::MarkupPart> head_parts_;  // the markup parts before head_.part
    std::optional<Head> head_;                          // none: every prompt is encoded whole
    mutable std::once_flag tokens_once_;
    mutable std::vector<int32_t> tokens_;
};

// How long a conversation's prompt may grow. Earlier turns are left out, oldest first, while the
// prompt is longer than keep_turns_within; then, past `budget`, the document's start is dropped.
struct PromptLimits {
    int64_t keep_turns_within = -1;  // -1: no limit
    int64_t budget = -1;             // -1: the document is never cut
    bool truncating() const { return budget >= 0; }
};

// The one policy both front ends follow. `truncate`: cut the document to fit (vanilla: its
// training window; Self-Extend: its capacity), keeping at least half of it for the prompt and the
// rest for the answer; else a vanilla prompt runs whole (past its window, "overflowing") and a
// Self-Extend one keeps earlier turns while the prompt and the answer fit its capacity.
PromptLimits prompt_limits(int64_t training_window, const AttentionMode& mode,
                           int64_t max_new_tokens, bool truncate);

// A question's prompt in a conversation.
struct ConversationPrompt {
    std::vector<int32_t> tokens;  // empty: the question alone does not fit the budget
    int64_t document_prefix = 0;  // ids before the first question (the document's part)
    size_t earlier_turns = 0;     // the conversation's turns it holds (its last ones)
    int64_t dropped_turns = 0;    // the oldest turns left out to fit
    int64_t truncated_from = 0;   // > 0: the document was cut from a prompt this long
    bool follow_up() const { return earlier_turns > 0 || dropped_turns > 0; }
};

struct AnswerOptions {
    int max_new_tokens = 64;
    SamplingParams sampling;
    // The plain format's answers end with their line (see AnswerEnd); false: only at EOS.
    bool stop_at_line_break = true;
    // Collect the attention the answer gives the prompt, for sources() (where the device can).
    bool collect_sources = true;
    const KvDiskCache* disk_cache = nullptr;  // the document's KV read from and saved to disk
};

struct AnswerCallbacks {
    // The prompt's prefill: done and total count the prompt's tokens (the reused ones done).
    std::function<void(int64_t done, int64_t total, const Progress& run)> on_prefill;
    // Each piece of the answer as it is shown; generated counts the tokens so far. Returns
    // false to stop.
    std::function<bool(std::string_view piece, int64_t generated)> on_piece;
    // A warning worth showing that does not stop the answer (the disk cache's).
    std::function<void(const std::string& warning)> on_warning;
};

struct AnswerOutcome {
    std::string answer;  // the text shown, as far as it went
    int64_t prompt_tokens = 0;
    int64_t reused_tokens = 0;     // held by the session already (the document, earlier turns)
    int64_t prefilled_tokens = 0;  // fewer than prompt_tokens when stopped during the prefill
    bool from_disk_cache = false;  // the document's KV was read from the disk cache
    double prefill_seconds = 0;
    GenerateStats generation;
    bool cancelled = false;
    bool cut_by_token_limit = false;  // the answer reached max_new_tokens before it ended
    bool out_of_memory = false;       // the session was dropped to give the memory back
    std::string error;                // a failure, in plain words (empty: none)
};

class DocumentConversation {
  public:
    DocumentConversation(std::shared_ptr<const Model> model,
                         std::shared_ptr<const FramedDocument> document, AttentionMode mode,
                         KvType kv_type = KvType::F16);

    const AttentionMode& mode() const { return mode_; }
    KvType kv_type() const { return kv_type_; }
    const FramedDocument& document() const { return *document_; }
    std::span<const QuestionAnswer> turns() const { return turns_; }

    // A new conversation on the same document: the turns go, the document's KV stays.
    void clear_turns() {
        turns_.clear();
        last_cut_ = false;
    }
    // Turns from an earlier run of the app: the next question follows up on them (the session
    // prefills them with it).
    void restore_turns(std::vector<QuestionAnswer> turns) {
        turns_ = std::move(turns);
        last_cut_ = false;
    }

    // The prompt for the next question within the limits. Throws Error where the template cannot
    // write it.
    ConversationPrompt prompt(std::string_view question, const PromptLimits& limits) const;

    // Answers the question with its prompt (from prompt()), streaming through the callbacks. The
    // turn joins the conversation when the answer has started (a stopped answer as far as it
    // went). Never throws for a failed run: the outcome says what happened.
    AnswerOutcome answer(const ConversationPrompt& prompt, std::string_view question,
                         const AnswerOptions& options, const AnswerCallbacks& callbacks = {},
                         const CancelToken* cancel = nullptr);

    // Whether the last answer was cut by the token limit and can go on where it stopped.
    bool can_continue() const;
    // Generates more of that answer (up to options.max_new_tokens more), streaming only the new
    // text; the turn then holds the whole answer. The outcome's answer is the new text.
    AnswerOutcome continue_answer(const AnswerOptions& options,
                                  const AnswerCallbacks& callbacks = {},
                                  const CancelToken* cancel = nullptr);

    // Whether the last answer's attention was collected (false on devices that cannot).
    bool sources_available() const { return collecting_; }
    // The `count` passages the answer came from, best first (rank_passages; during an answer
    // too, from on_piece, for the answer so far). Empty when not available.
    std::vector<RankedPassage> sources(int count, std::string_view answer) const;

  private:
    // Generates the answer after the session's tokens into out (answer, generation, cut).
    void generate(std::string_view question, const AnswerOptions& options,
                  const AnswerCallbacks& callbacks, const CancelToken* cancel, AnswerOutcome& out);

    std::shared_ptr<const Model> model_;
    std::shared_ptr<const FramedDocument> document_;
    AttentionMode mode_;
    KvType kv_type_;
    std::unique_ptr<Session> session_;
    std::vector<QuestionAnswer> turns_;
    bool collecting_ = false;
    bool last_cut_ = false;                   // the last answer reached the token limit
    std::vector<ByteRange> document_ranges_;  // the last prompt's tokens in the document
};

}  // namespace selfextend
