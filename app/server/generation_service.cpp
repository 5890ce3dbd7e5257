#include "generation_service.h"

#include <algorithm>
#include <cstdio>

#include "selfextend/error.h"
#include "stop_sequences.h"

namespace server {
namespace {

constexpr size_t kHeldConversations = 2;  // KV caches kept in memory
constexpr size_t kFramedDocuments = 4;

ApiError too_long(const std::string& message) {
    return ApiError(400, "invalid_request_error", message, "messages", "context_length_exceeded");
}

}  // namespace

void Job::post(Event event) {
    {
        const std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
    }
    ready_.notify_all();
}

void Job::started(const RunInfo& info) {
    Event event{Event::Kind::Started, info, {}, {}, std::nullopt};
    post(std::move(event));
}

void Job::piece(std::string text) {
    Event event{Event::Kind::Piece, {}, std::move(text), {}, std::nullopt};
    post(std::move(event));
}

void Job::finished(const RunResult& result) {
    Event event{Event::Kind::Finished, {}, {}, result, std::nullopt};
    post(std::move(event));
}

void Job::failed(const ApiError& error) {
    Event event{Event::Kind::Failed, {}, {}, RunResult{}, error};
    post(std::move(event));
}

std::optional<Job::Event> Job::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
}

GenerationService::GenerationService(std::shared_ptr<const selfextend::Model> model,
                                     ServiceOptions options)
    : model_(std::move(model)), options_(std::move(options)) {
    if (options_.disk_cache_folder) disk_cache_.emplace(*options_.disk_cache_folder);
    worker_ = std::thread([this] { work(); });
}

GenerationService::~GenerationService() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const auto& job : queue_) job->cancel.cancel();
    }
    wake_.notify_all();
    worker_.join();
}

bool GenerationService::submit(std::shared_ptr<Job> job) {
    {
        const std::lock_guard lock(mutex_);
        if (queue_.size() >= options_.max_waiting) return false;
        queue_.push_back(std::move(job));
    }
    wake_.notify_all();
    return true;
}

size_t GenerationService::waiting() const {
    const std::lock_guard lock(mutex_);
    return queue_.size();
}

void GenerationService::work() {
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        serve(*job);
    }
}

std::shared_ptr<const selfextend::FramedDocument> GenerationService::framed(
    const std::string& key, const std::string& system, const std::string& text) {
    const auto it = std::find_if(framed_.begin(), framed_.end(),
                                 [&](const auto& entry) { return entry.first == key; });
    if (it != framed_.end()) {
        framed_.splice(framed_.begin(), framed_, it);
        return framed_.front().second;
    }
    // The document is encoded once here; every question on it encodes only the question.
    framed_.emplace_front(key, std::make_shared<const selfextend::FramedDocument>(
                                   model_->chat_template(), system, text));
    if (framed_.size() > kFramedDocuments) framed_.pop_back();
    return framed_.front().second;
}

selfextend::AttentionMode GenerationService::choose_mode(const Job& job, const std::string& key,
                                                         int64_t needed) const {
    const int64_t L = model_->info().training_window;
    const SelfExtendChoice& choice = job.request.self_extend;
    switch (choice.kind) {
        case SelfExtendChoice::Kind::Off:
            if (needed > L)
                throw too_long("the prompt and max_tokens need " + std::to_string(needed) +
                               " tokens, more than the model's training window L = " +
                               std::to_string(L) + " without Self-Extend (self_extend: \"off\")");
            return selfextend::AttentionMode::vanilla();
        case SelfExtendChoice::Kind::Given: {
            try {
                selfextend::validate(choice.mode, L);
            } catch (const selfextend::Error& e) {
                throw ApiError(400, "invalid_request_error", e.what(), "self_extend");
            }
            const int64_t capacity = selfextend::capacity(L, choice.mode.group, choice.mode.window);
            if (needed > capacity)
                throw too_long(
                    "the prompt and max_tokens need " + std::to_string(needed) +
                    " tokens, more than the capacity of G = " + std::to_string(choice.mode.group) +
                    ", W = " + std::to_string(choice.mode.window) + ": " +
                    std::to_string(capacity));
            return choice.mode;
        }
        case SelfExtendChoice::Kind::Auto:
            break;
    }
    if (needed <= L) return selfextend::AttentionMode::vanilla();
    // A conversation already held for this document whose mode holds the request: its KV is
    // reused (Auto's choice for a longer conversation would read the document again).
    for (const Held& held : held_) {
        const auto& mode = held.conversation.mode();
        if (held.key == key && !mode.is_vanilla() &&
            selfextend::capacity(L, mode.group, mode.window) >= needed)
            return mode;
    }
    const selfextend::AutoChoice automatic =
        selfextend::choose_attention(model_->info().auto_profile(), needed);
    if (!automatic.fits) throw too_long(automatic.explanation);
    return selfextend::AttentionMode::self_extend(automatic.group, automatic.window);
}

selfextend::DocumentConversation& GenerationService::conversation(
    const std::string& key, const std::shared_ptr<const selfextend::FramedDocument>& document,
    const selfextend::AttentionMode& mode) {
    const auto it = std::find_if(held_.begin(), held_.end(), [&](const Held& held) {
        return held.key == key && held.conversation.mode() == mode;
    });
    if (it != held_.end()) {
        held_.splice(held_.begin(), held_, it);
    } else {
        held_.push_front(
            {key, selfextend::DocumentConversation(model_, document, mode, options_.kv_type)});
        while (held_.size() > kHeldConversations) held_.pop_back();  // its KV goes
    }
    return held_.front().conversation;
}

void GenerationService::serve(Job& job) {
    if (job.cancel.cancelled()) {  // its client left while it waited
        RunResult result;
        result.cancelled = true;
        job.finished(result);
        return;
    }
    try {
        const ChatRequest& request = job.request;
        const std::string text = job.document ? job.document->text : std::string();
        const std::string key =
            (job.document ? job.document->id : std::string()) + '\n' + request.system;
        const auto document = framed(key, request.system, text);
        const int max_tokens = request.max_tokens.value_or(options_.default_max_tokens);
        const int64_t prompt_tokens =
            int64_t(document->prompt(request.earlier, request.question).tokens.size());
        const selfextend::AttentionMode mode = choose_mode(job, key, prompt_tokens + max_tokens);
        selfextend::DocumentConversation& conversation = this->conversation(key, document, mode);
        conversation.restore_turns(request.earlier);
        const selfextend::ConversationPrompt prompt =
            conversation.prompt(request.question, selfextend::PromptLimits{});

        const int64_t L = model_->info().training_window;
        job.started({mode, mode.is_vanilla() ? L : selfextend::capacity(L, mode.group, mode.window),
                     int64_t(prompt.tokens.size()), job.document ? job.document->tokens : -1,
                     max_tokens});

        selfextend::AnswerOptions options;
        options.max_new_tokens = max_tokens;
        options.sampling = request.sampling;
        options.sampling.repeat_penalty =
            selfextend::default_repeat_penalty(model_->chat_template().format());
        options.collect_sources = false;
        options.disk_cache = job.document && disk_cache_ ? &*disk_cache_ : nullptr;
        StopSequences stops(request.stop);
        selfextend::AnswerCallbacks callbacks;
        callbacks.on_piece = [&](std::string_view piece, int64_t) {
            std::string shown = stops.push(piece);
            if (!shown.empty()) job.piece(std::move(shown));
            return !stops.stopped();
        };
        const selfextend::AnswerOutcome outcome =
            conversation.answer(prompt, request.question, options, callbacks, &job.cancel);
        if (std::string rest = stops.flush(); !rest.empty()) job.piece(std::move(rest));
        if (outcome.out_of_memory)
            throw ApiError(503, "server_error", "out of memory: try a shorter prompt");
        if (!outcome.error.empty()) throw ApiError(500, "server_error", outcome.error);
        RunResult result;
        result.finish_reason = outcome.cut_by_token_limit && !stops.stopped() ? "length" : "stop";
        result.prompt_tokens = outcome.prompt_tokens;
        result.reused_tokens = outcome.reused_tokens;
        result.from_disk_cache = outcome.from_disk_cache;
        result.completion_tokens = outcome.generation.tokens;
        result.prefill_seconds = outcome.prefill_seconds;
        result.decode_tokens_per_second = outcome.generation.tokens_per_second();
        result.cancelled = outcome.cancelled && !stops.stopped();
        // One line per request on the server's console.
        std::fprintf(
            stderr, "selfextend-server: %lld prompt tokens (%lld reused), %s, %lld tokens, %s\n",
            (long long)result.prompt_tokens, (long long)result.reused_tokens,
            mode.describe().c_str(), (long long)result.completion_tokens,
            result.cancelled ? "cancelled (the client went away)" : result.finish_reason.c_str());
        job.finished(result);
    } catch (const ApiError& e) {
        job.failed(e);
    } catch (const std::bad_alloc&) {
        held_.clear();  // give the memory back
        job.failed(ApiError(503, "server_error", "out of memory: try a shorter prompt"));
    } catch (const std::exception& e) {
        // The template cannot write the conversation, and the like: the request's fault.
        job.failed(ApiError(400, "invalid_request_error", e.what()));
    }
}

}  // namespace server
