// One side of a talk about a document: its prompt within the limits, the session that keeps the
// document's KV, the disk cache, the streamed answer and where it came from.
#include "selfextend/document_conversation.h"

#include <algorithm>
#include <new>
#include <optional>

#include "progress/stopwatch.h"
#include "selfextend/error.h"
#include "selfextend/kv_disk_cache.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

PromptLimits prompt_limits(int64_t training_window, const AttentionMode& mode,
                           int64_t max_new_tokens, bool truncate) {
    const int64_t room =
        mode.is_vanilla() ? training_window : capacity(training_window, mode.group, mode.window);
    PromptLimits limits;
    if (truncate) limits.budget = std::max(room / 2, room - max_new_tokens);
    // Vanilla keeps its turns within the budget it has (none when overflowing on purpose);
    // Self-Extend keeps them while the prompt and the answer fit its capacity.
    limits.keep_turns_within = mode.is_vanilla() ? limits.budget : room - max_new_tokens;
    return limits;
}

DocumentConversation::DocumentConversation(std::shared_ptr<const Model> model,
                                           std::shared_ptr<const FramedDocument> document,
                                           AttentionMode mode, KvType kv_type)
    : model_(std::move(model)), document_(std::move(document)), mode_(mode), kv_type_(kv_type) {}

ConversationPrompt DocumentConversation::prompt(std::string_view question,
                                                const PromptLimits& limits) const {
    const FramedDocument& doc = *document_;
    ConversationPrompt p;
    std::span<const QuestionAnswer> earlier(turns_);
    const auto build = [&] {
        auto built = doc.prompt(earlier, question);
        p.tokens = std::move(built.tokens);
        p.document_prefix = built.document_prefix;
    };
    build();
    const int64_t whole = int64_t(p.tokens.size());
    // A follow-up keeps the earlier turns while they fit: the oldest go first.
    while (limits.keep_turns_within >= 0 && !earlier.empty() &&
           int64_t(p.tokens.size()) > limits.keep_turns_within) {
        earlier = earlier.subspan(1);
        ++p.dropped_turns;
        build();
    }
    p.earlier_turns = earlier.size();
    if (!limits.truncating() || int64_t(p.tokens.size()) <= limits.budget) return p;
    // Still too long: keep the question and the turns, drop tokens from the start of the
    // document. Decoding and encoding again can shift a token at the cut, so trim until the
    // whole fits; empty when the template, turns and question alone take the budget.
    p.truncated_from = whole;
    const ChatTemplate& chat = doc.chat();
    const auto build_with = [&](std::string_view document) {
        auto built = chat.document_prompt(doc.system(), document, earlier, question);
        p.tokens = std::move(built.tokens);
        p.document_prefix = built.document_prefix;
    };
    build_with({});
    const int64_t framing = int64_t(p.tokens.size());
    p.tokens.clear();
    if (framing + 1 >= limits.budget) return p;
    const std::vector<int32_t>& document_tokens = doc.tokens();
    int64_t keep = std::min<int64_t>(limits.budget - framing, int64_t(document_tokens.size()));
    do {
        build_with(chat.tokenizer().decode(
            std::span(document_tokens).last(size_t(std::max<int64_t>(keep, 0)))));
        keep -= std::max<int64_t>(1, int64_t(p.tokens.size()) - limits.budget);
    } while (int64_t(p.tokens.size()) > limits.budget && keep > 0);
    if (int64_t(p.tokens.size()) > limits.budget) p.tokens.clear();
    return p;
}

AnswerOutcome DocumentConversation::answer(const ConversationPrompt& prompt,
                                           std::string_view question, const AnswerOptions& options,
                                           const AnswerCallbacks& callbacks,
                                           const CancelToken* cancel) {
    const std::span<const int32_t> tokens(prompt.tokens);
    AnswerOutcome out;
    out.prompt_tokens = int64_t(tokens.size());
    collecting_ = false;
    last_cut_ = false;
    document_ranges_.clear();
    const Stopwatch started;
    bool prefilling = true;
    const auto warn = [&](const std::string& warning) {
        if (!warning.empty() && callbacks.on_warning) callbacks.on_warning(warning);
    };
    // The document's own KV is worth keeping on disk only when the prompt holds all of it.
    const bool whole_document = prompt.document_prefix > 0 && prompt.truncated_from == 0;
    const auto document_part = tokens.first(size_t(std::max<int64_t>(prompt.document_prefix, 0)));
    try {
        if (tokens.empty()) throw Error("the question alone does not fit the prompt's budget");
        if (cancel && cancel->cancelled()) throw Cancelled();
        const int64_t needed = out.prompt_tokens + options.max_new_tokens;
        if (!session_) {
            session_ = model_->new_session({needed, mode_, kv_type_});
            // The document read before, in this run or another: its KV from disk.
            if (whole_document && options.disk_cache) {
                std::string warning;
                out.from_disk_cache = options.disk_cache->load(*session_, document_part, &warning);
                warn(warning);
            }
        }
        // The engine runs only what the session does not hold already (the document, earlier
        // turns): the rest of the prompt is what it reuses.
        const auto on_progress = [&](const Progress& p) {
            out.reused_tokens = out.prompt_tokens - p.total;
            out.prefilled_tokens = out.reused_tokens + p.done;
            if (callbacks.on_prefill)
                callbacks.on_prefill(out.reused_tokens + p.done, out.prompt_tokens, p);
        };
        try {
            out.reused_tokens =
                session_->prefill_reusing(tokens, on_progress, cancel, options.max_new_tokens);
        } catch (const Cancelled&) {
            throw;
        } catch (const Error&) {
            // A backend that cannot grow its cache: a new session for the longer conversation.
            if (session_->position() + out.prompt_tokens <= needed) throw;
            out.reused_tokens = 0;
            session_ = model_->new_session({needed, mode_, kv_type_});
            session_->prefill(tokens, on_progress, cancel);
        }
        prefilling = false;
        out.prefill_seconds = started.seconds();
        out.prefilled_tokens = out.prompt_tokens;
        if (whole_document && options.disk_cache && !out.from_disk_cache &&
            out.reused_tokens < prompt.document_prefix) {
            std::string warning;
            if (!options.disk_cache->save(*session_, document_part, &warning))
                warn("the document cache was not saved: " + warning);
        }

        // Where the answer came from: the attention its tokens give the prompt (cheap; the
        // mass of an earlier answer in the conversation is dropped).
        collecting_ = options.collect_sources && session_->collect_attention_mass(true);
        if (collecting_)
            document_ranges_ = document_token_ranges(model_->tokenizer(), tokens,
                                                     prompt.document_prefix, document_->text());
        generate(question, options, callbacks, cancel, out);
        // The turn joins the conversation; the next question's prompt holds it as the template
        // writes it, so the session's generated tokens are reused as far as they agree.
        turns_.push_back({std::string(question), out.answer});
    } catch (const Cancelled&) {
        out.cancelled = true;
        // Stopped while answering: the turn stays, as far as it went.
        if (!prefilling) turns_.push_back({std::string(question), out.answer});
    } catch (const std::bad_alloc&) {
        session_.reset();  // give the memory back
        collecting_ = false;
        out.out_of_memory = true;
        out.error = "out of memory";
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    if (prefilling) out.prefill_seconds = started.seconds();
    return out;
}

void DocumentConversation::generate(std::string_view question, const AnswerOptions& options,
                                    const AnswerCallbacks& callbacks, const CancelToken* cancel,
                                    AnswerOutcome& out) {
    // The plain format has no end-of-turn token: its answer ends with its sentence's line (a
    // small base model otherwise goes on inventing turns).
    AnswerEnd answer_end(document_->chat().format(), question, options.stop_at_line_break);
    for (const QuestionAnswer& turn : turns_) answer_end.add_question(turn.question);
    bool stopped_by_caller = false;
    int64_t generated = 0;
    const auto show = [&](const std::string& piece) {
        out.answer += piece;
        if (callbacks.on_piece && !callbacks.on_piece(piece, generated)) stopped_by_caller = true;
    };
    out.generation = session_->generate(
        options.max_new_tokens, options.sampling,
        [&](const Token& token) {
            ++generated;
            show(answer_end.push(token.text));
            return !stopped_by_caller && !(cancel && cancel->cancelled()) && !answer_end.ended();
        },
        cancel);
    if (const std::string held_back = answer_end.flush(); !held_back.empty()) show(held_back);
    out.cancelled = (cancel && cancel->cancelled()) || stopped_by_caller;
    out.cut_by_token_limit = !out.cancelled && !out.generation.stopped_by_eos &&
                             !answer_end.ended() && out.generation.tokens >= options.max_new_tokens;
    last_cut_ = out.cut_by_token_limit;
}

bool DocumentConversation::can_continue() const {
    return last_cut_ && session_ && !turns_.empty();
}

AnswerOutcome DocumentConversation::continue_answer(const AnswerOptions& options,
                                                    const AnswerCallbacks& callbacks,
                                                    const CancelToken* cancel) {
    AnswerOutcome out;
    if (!can_continue()) {
        out.error = "there is no answer cut by the token limit to continue";
        return out;
    }
    QuestionAnswer& turn = turns_.back();
    const std::string before = turn.answer;
    try {
        // The session holds the prompt and the answer so far: only the new tokens run (its
        // last token is run again for its logits, with room for the rest of the answer).
        const std::vector<int32_t> held(session_->tokens().begin(), session_->tokens().end());
        out.prompt_tokens = int64_t(held.size());
        out.reused_tokens = session_->prefill_reusing(held, {}, cancel, options.max_new_tokens);
        out.prefilled_tokens = out.prompt_tokens;
        last_cut_ = false;
        generate(turn.question, options, callbacks, cancel, out);
    } catch (const Cancelled&) {
        out.cancelled = true;
    } catch (const std::bad_alloc&) {
        session_.reset();
        collecting_ = false;
        out.out_of_memory = true;
        out.error = "out of memory";
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    turn.answer = before + out.answer;  // the turn holds the whole answer, as far as it went
    return out;
}

std::vector<RankedPassage> DocumentConversation::sources(int count, std::string_view answer) const {
    if (!collecting_ || !session_) return {};
    return rank_passages(document_->text(), document_ranges_, session_->attention_mass(), count,
                         answer);
}

}  // namespace selfextend
