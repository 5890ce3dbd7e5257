// The one thread that runs the model for the server. Chat requests wait in a bounded queue and
// are answered one at a time by the engine's document conversation (the Ask of the studio and
// the CLI): the document's KV (and a conversation's turns) stays in memory between requests, so
// a second question prefills only the question, and an uploaded document's KV is also kept in
// the disk cache. A Job is what a request's HTTP thread and this worker share: the worker posts
// events, the HTTP thread waits for them and cancels the job when its client goes away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "chat_request.h"
#include "document_store.h"
#include "selfextend/cancel.h"
#include "selfextend/document_conversation.h"
#include "selfextend/engine.h"
#include "selfextend/kv_disk_cache.h"

namespace server {

// What a request is answered with, known before its prefill starts.
struct RunInfo {
    selfextend::AttentionMode mode;
    int64_t capacity = 0;          // tokens the mode holds: L, or (L - W)·G + W
    int64_t prompt_tokens = 0;     // the whole prompt, the document and earlier turns included
    int64_t document_tokens = -1;  // the uploaded document's own tokens; -1: none
    int max_tokens = 0;
};

struct RunResult {
    std::string finish_reason = "stop";  // "stop" (the end of the answer, a stop string), "length"
    int64_t prompt_tokens = 0;
    int64_t reused_tokens = 0;  // held already (the document, earlier turns): not prefilled
    bool from_disk_cache = false;
    int64_t completion_tokens = 0;
    double prefill_seconds = 0;
    double decode_tokens_per_second = 0;
    bool cancelled = false;  // the client went away
};

class Job {
  public:
    Job(ChatRequest chat, std::shared_ptr<const StoredDocument> about)
        : request(std::move(chat)), document(std::move(about)) {}

    const ChatRequest request;
    const std::shared_ptr<const StoredDocument> document;  // null: the messages hold everything
    selfextend::CancelToken cancel;                        // the HTTP thread cancels

    struct Event {
        enum class Kind { Started, Piece, Finished, Failed } kind;
        RunInfo info;
        std::string text;
        RunResult result;
        std::optional<ApiError> error;
    };
    // The worker's side.
    void started(const RunInfo& info);
    void piece(std::string text);
    void finished(const RunResult& result);
    void failed(const ApiError& error);
    // The HTTP thread's side: the next event, or none after `timeout`.
    std::optional<Event> next(std::chrono::milliseconds timeout);

  private:
    void post(Event event);

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<Event> events_;
};

struct ServiceOptions {
    size_t max_waiting = 4;  // requests queued behind the running one; more get 429
    int default_max_tokens = 512;
    selfextend::KvType kv_type = selfextend::KvType::F16;
    std::optional<std::string> disk_cache_folder;  // none: no disk cache
};

class GenerationService {
  public:
    GenerationService(std::shared_ptr<const selfextend::Model> model, ServiceOptions options);
    ~GenerationService();
    GenerationService(const GenerationService&) = delete;
    GenerationService& operator=(const GenerationService&) = delete;

    // Queues the job; false when the queue is full (the caller answers 429).
    bool submit(std::shared_ptr<Job> job);
    size_t waiting() const;

  private:
    // A conversation kept with its document's KV, for requests on the same document, system
    // prompt and mode.
    struct Held {
        std::string key;  // document id and system prompt
        selfextend::DocumentConversation conversation;
    };
    void work();
    void serve(Job& job);
    std::shared_ptr<const selfextend::FramedDocument> framed(const std::string& key,
                                                             const std::string& system,
                                                             const std::string& text);
    // The mode the request is answered with; throws ApiError when it cannot hold the prompt.
    selfextend::AttentionMode choose_mode(const Job& job, const std::string& key,
                                          int64_t needed) const;
    selfextend::DocumentConversation& conversation(
        const std::string& key, const std::shared_ptr<const selfextend::FramedDocument>& document,
        const selfextend::AttentionMode& mode);

    const std::shared_ptr<const selfextend::Model> model_;
    const ServiceOptions options_;
    std::optional<selfextend::KvDiskCache> disk_cache_;
    // Only the worker touches these.
    std::list<Held> held_;  // the most recent first; each holds a KV cache, so only a few
    std::list<std::pair<std::string, std::shared_ptr<const selfextend::FramedDocument>>> framed_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool stopping_ = false;
    std::thread worker_;  // last: it starts once everything above exists
};

}  // namespace server
