// selfextend-server: the engine's long-document conversation behind the OpenAI-compatible HTTP
// API that local tools speak (docs/server.md). One model, one generation thread with a bounded
// queue (generation_service.h), requests read by chat_request.h, answers written by
// openai_json.h. Loopback by default; another address only with an API key.
#include <httplib.h>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "chat_request.h"
#include "common.h"
#include "document_store.h"
#include "generation_service.h"
#include "openai_json.h"
#include "selfextend/error.h"

namespace server {
namespace {

constexpr auto kHeartbeat = std::chrono::milliseconds(1000);

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string api_key;
    int64_t max_body_bytes = int64_t(64) << 20;
    int64_t max_document_tokens = 0;  // 0: the model's largest capacity
    ServiceOptions service;
};

const char* const kUsage =
    "usage: selfextend-server [-m MODEL.gguf] [--host 127.0.0.1] [--port 8080] [--api-key KEY]\n"
    "                         [-t THREADS] [--device auto|cpu|cuda] [--kv-type f16|f32|q8_0]\n"
    "                         [--max-queue 4] [--max-tokens 512] [--max-body-mb 64]\n"
    "                         [--max-document-tokens N] [--no-disk-cache]\n"
    "\n"
    "Serves the model through the OpenAI-compatible API (GET /v1/models, POST\n"
    "/v1/chat/completions with stream, POST/GET/DELETE /v1/documents, GET /health), with exact\n"
    "Self-Extend for prompts past the model's training window (docs/server.md). Listens on\n"
    "loopback unless --host says otherwise; any other address needs --api-key (or\n"
    "SELFEXTEND_API_KEY), which clients send as 'Authorization: Bearer KEY'.\n";

bool is_loopback(const std::string& host) {
    return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

void send_json(httplib::Response& res, int status, const Json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) {
    send_json(res, error.status, error_body(error));
}

std::string new_completion_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char id[40];
    std::snprintf(id, sizeof id, "chatcmpl-%016llx", (unsigned long long)rng());
    return id;
}

Json document_json(const StoredDocument& document) {
    Json out{{"id", document.id},
             {"object", "document"},
             {"name", document.name},
             {"bytes", document.bytes},
             {"tokens", document.tokens}};
    if (!document.encoding.empty()) out["encoding"] = document.encoding;
    return out;
}

// Cancels the job when the response that streams it is dropped (its client gone, the server
// stopping) before it ended.
struct CancelOnDrop {
    explicit CancelOnDrop(std::shared_ptr<Job> j) : job(std::move(j)) {}
    ~CancelOnDrop() { job->cancel.cancel(); }
    CancelOnDrop(const CancelOnDrop&) = delete;
    CancelOnDrop& operator=(const CancelOnDrop&) = delete;
    const std::shared_ptr<Job> job;
};

class Server {
  public:
    Server(std::shared_ptr<const selfextend::Model> model, const ServerOptions& options)
        : model_(std::move(model)),
          options_(options),
          model_name_(model_->info().name),
          documents_(model_, options.max_document_tokens),
          service_(model_, options.service) {
        http_.set_payload_max_length(size_t(options.max_body_bytes));
        http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            if (options_.api_key.empty() || req.path.rfind("/v1/", 0) != 0)
                return httplib::Server::HandlerResponse::Unhandled;
            if (req.get_header_value("Authorization") == "Bearer " + options_.api_key)
                return httplib::Server::HandlerResponse::Unhandled;
            send_error(res, ApiError(401, "invalid_request_error",
                                     "a valid API key is required: send 'Authorization: Bearer "
                                     "KEY'",
                                     {}, "invalid_api_key"));
            return httplib::Server::HandlerResponse::Handled;
        });
        // Whatever httplib answers by itself (no route, a body too large) gets an error body too.
        http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return;
            const std::string message =
                res.status == 404   ? "no route " + req.method + " " + req.path
                : res.status == 413 ? std::string(
                                          "the request body is larger than the server "
                                          "takes (--max-body-mb)")
                                    : "the request cannot be served";
            send_error(res, ApiError(res.status, "invalid_request_error", message));
        });
        http_.set_exception_handler(
            [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
                try {
                    std::rethrow_exception(error);
                } catch (const ApiError& e) {
                    send_error(res, e);
                } catch (const std::exception& e) {
                    send_error(res, ApiError(500, "server_error", e.what()));
                }
            });
        routes();
    }

    bool listen() {
        if (!http_.bind_to_port(options_.host, options_.port)) return false;
        std::fprintf(stderr, "selfextend-server: %s (L = %lld) on http://%s:%d/v1\n",
                     model_name_.c_str(), (long long)model_->info().training_window,
                     options_.host.c_str(), options_.port);
        return http_.listen_after_bind();
    }
    void stop() { http_.stop(); }

  private:
    void routes() {
        http_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
            send_json(res, 200,
                      {{"status", "ok"},
                       {"model", model_name_},
                       {"training_window", model_->info().training_window},
                       {"waiting", service_.waiting()}});
        });
        http_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
            send_json(
                res, 200,
                {{"object", "list"},
                 {"data", Json::array({{{"id", model_name_},
                                        {"object", "model"},
                                        {"created", 0},
                                        {"owned_by", "selfextend-studio"},
                                        {"training_window", model_->info().training_window}}})}});
        });
        http_.Post("/v1/documents", [this](const httplib::Request& req, httplib::Response& res) {
            std::shared_ptr<const StoredDocument> document;
            if (req.is_multipart_form_data()) {
                if (!req.has_file("file"))
                    throw ApiError(400, "invalid_request_error", "send the document as 'file'",
                                   "file");
                const httplib::MultipartFormData file = req.get_file_value("file");
                document = documents_.add(file.filename, file.content);
            } else {
                const Json body = Json::parse(req.body, nullptr, false);
                if (!body.is_object() || !body.contains("text") || !body["text"].is_string())
                    throw ApiError(400, "invalid_request_error",
                                   "send {\"text\": …, \"name\": …} as JSON, or the file as "
                                   "multipart form data ('file')",
                                   "text");
                const std::string name =
                    body.contains("name") && body["name"].is_string() ? body["name"] : "text.txt";
                document = documents_.add(name, body["text"].get<std::string>());
            }
            send_json(res, 200, document_json(*document));
        });
        http_.Get("/v1/documents", [this](const httplib::Request&, httplib::Response& res) {
            Json data = Json::array();
            for (const auto& document : documents_.list()) data.push_back(document_json(*document));
            send_json(res, 200, {{"object", "list"}, {"data", data}});
        });
        http_.Get(R"(/v1/documents/([\w-]+))",
                  [this](const httplib::Request& req, httplib::Response& res) {
                      const auto document = documents_.find(req.matches[1]);
                      if (!document) throw not_found(req.matches[1]);
                      send_json(res, 200, document_json(*document));
                  });
        http_.Delete(R"(/v1/documents/([\w-]+))", [this](const httplib::Request& req,
                                                         httplib::Response& res) {
            if (!documents_.remove(req.matches[1])) throw not_found(req.matches[1]);
            send_json(res, 200,
                      {{"id", req.matches[1]}, {"object", "document"}, {"deleted", true}});
        });
        http_.Post("/v1/chat/completions",
                   [this](const httplib::Request& req, httplib::Response& res) { chat(req, res); });
    }

    static ApiError not_found(const std::string& id) {
        return ApiError(404, "invalid_request_error",
                        "no document '" + id + "' (upload it with POST /v1/documents)", "document",
                        "document_not_found");
    }

    void chat(const httplib::Request& req, httplib::Response& res) {
        ChatRequest request = parse_chat_request(req.body);
        std::shared_ptr<const StoredDocument> document;
        if (!request.document_id.empty() && !(document = documents_.find(request.document_id)))
            throw not_found(request.document_id);
        const bool stream = request.stream, include_usage = request.include_usage;
        auto job = std::make_shared<Job>(std::move(request), document);
        if (!service_.submit(job))
            throw ApiError(429, "rate_limit_error",
                           "the server is busy: " + std::to_string(service_.waiting()) +
                               " requests are waiting for the model; try again shortly",
                           {}, "queue_full");
        // The status is known once the worker has taken the request up: a refusal (a prompt
        // its mode cannot hold) is an HTTP error, anything later is written in the body.
        auto guard = std::make_shared<CancelOnDrop>(job);
        std::optional<Job::Event> first;
        while (!(first = job->next(kHeartbeat))) {
        }
        if (first->kind == Job::Event::Kind::Failed) throw *first->error;
        if (first->kind != Job::Event::Kind::Started)
            throw ApiError(500, "server_error", "the request ended before it started");
        const CompletionId id{new_completion_id(), int64_t(std::time(nullptr)), model_name_};
        const RunInfo info = first->info;
        if (stream)
            res.set_chunked_content_provider(
                "text/event-stream",
                [guard, id, info, include_usage](size_t, httplib::DataSink& sink) {
                    return stream_events(*guard->job, id, info, include_usage, sink);
                });
        else
            res.set_chunked_content_provider(
                "application/json", [guard, id, info](size_t, httplib::DataSink& sink) {
                    return write_completion(*guard->job, id, info, sink);
                });
    }

    // Server-sent events: the role, each piece as it comes, the finish reason (with which G
    // and W answered), the usage when asked, [DONE]. A comment line each second of silence
    // (a long prefill) finds out whether the client is still there.
    static bool stream_events(Job& job, const CompletionId& id, const RunInfo& info,
                              bool include_usage, httplib::DataSink& sink) {
        const auto write = [&](const std::string& text) {
            if (sink.write(text.data(), text.size())) return true;
            job.cancel.cancel();  // the client went away
            return false;
        };
        if (!write(server_sent_event(chunk(id, {{"role", "assistant"}, {"content", ""}}, ""))))
            return false;
        for (;;) {
            const std::optional<Job::Event> event = job.next(kHeartbeat);
            if (!event) {
                if (!write(": waiting\n\n")) return false;
                continue;
            }
            if (event->kind == Job::Event::Kind::Piece) {
                if (!write(server_sent_event(chunk(id, {{"content", event->text}}, ""))))
                    return false;
                continue;
            }
            if (event->kind == Job::Event::Kind::Failed) {
                if (!write(server_sent_event(error_body(*event->error)))) return false;
            } else {
                Json last = chunk(id, Json::object(), event->result.finish_reason);
                last["self_extend"] = extension(info, &event->result);
                if (!write(server_sent_event(last))) return false;
                if (include_usage) {
                    Json usage_chunk = chunk(id, Json::object(), "");
                    usage_chunk["choices"] = Json::array();
                    usage_chunk["usage"] = usage(event->result);
                    if (!write(server_sent_event(usage_chunk))) return false;
                }
            }
            if (!write("data: [DONE]\n\n")) return false;
            sink.done();
            return true;
        }
    }

    // One JSON object at the end; while the answer is made, a space each second (JSON allows
    // leading white space) finds out whether the client is still there.
    static bool write_completion(Job& job, const CompletionId& id, const RunInfo& info,
                                 httplib::DataSink& sink) {
        std::string text;
        for (;;) {
            const std::optional<Job::Event> event = job.next(kHeartbeat);
            if (!event) {
                if (!sink.write(" ", 1)) {
                    job.cancel.cancel();
                    return false;
                }
                continue;
            }
            if (event->kind == Job::Event::Kind::Piece) {
                text += event->text;
                continue;
            }
            const Json body = event->kind == Job::Event::Kind::Failed
                                  ? error_body(*event->error)
                                  : completion(id, info, event->result, text);
            const std::string bytes = body.dump(-1, ' ', false, Json::error_handler_t::replace);
            if (!sink.write(bytes.data(), bytes.size())) return false;
            sink.done();
            return true;
        }
    }

    const std::shared_ptr<const selfextend::Model> model_;
    const ServerOptions options_;
    const std::string model_name_;
    DocumentStore documents_;
    GenerationService service_;
    httplib::Server http_;
};

int run(int argc, char** argv) {
    cli::Arguments args(std::vector<std::string>(argv + 1, argv + argc));
    if (args.has_help()) {
        std::cout << kUsage;
        return 0;
    }
    const cli::ModelFlags model_flags = cli::take_model_flags(args);
    ServerOptions options;
    options.host = args.take_or({"--host"}, options.host);
    options.port = int(args.take_int({"--port"}, options.port, 0, 65535));
    options.api_key = args.take_or({"--api-key"}, "");
    if (options.api_key.empty())
        if (const char* key = std::getenv("SELFEXTEND_API_KEY")) options.api_key = key;
    options.service.max_waiting = size_t(args.take_int({"--max-queue"}, 4, 0, 1024));
    options.service.default_max_tokens = int(args.take_int({"--max-tokens"}, 512, 1, 1 << 20));
    options.max_body_bytes = args.take_int({"--max-body-mb"}, 64, 1, 4096) << 20;
    options.max_document_tokens = args.take_int({"--max-document-tokens"}, 0, 0, int64_t(1) << 30);
    options.service.kv_type = cli::take_kv_type(args);
    if (!args.take_flag({"--no-disk-cache"}))
        options.service.disk_cache_folder = selfextend::KvDiskCache::default_folder();
    if (!is_loopback(options.host) && options.api_key.empty())
        throw cli::UsageError("--host " + options.host +
                              " is reachable from other machines: give --api-key KEY (or "
                              "SELFEXTEND_API_KEY) so that only your clients can use the model");

    // SIGINT and SIGTERM are waited for by a thread of their own (below), which stops the server;
    // every other thread inherits the blocked mask. SIGPIPE: a client gone is a failed write.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    const std::shared_ptr<selfextend::Model> model = cli::load_model(args, model_flags);
    if (options.max_document_tokens == 0) {
        const int64_t L = model->info().training_window;
        options.max_document_tokens = selfextend::capacity(
            L, selfextend::kLargestAutoGroup, int(L / 16));  // Auto's largest: W = L/16, G = 64
    }
    Server server(model, options);
    std::thread waiter([&] {
        int signal = 0;
        sigwait(&stop_signals, &signal);
        server.stop();
    });
    const bool served = server.listen();
    if (!served) {
        std::fprintf(stderr, "selfextend-server: cannot listen on %s:%d (in use?)\n",
                     options.host.c_str(), options.port);
        pthread_kill(waiter.native_handle(), SIGTERM);
    }
    waiter.join();
    return served ? 0 : 1;
}

}  // namespace
}  // namespace server

int main(int argc, char** argv) {
    try {
        return server::run(argc, argv);
    } catch (const cli::UsageError& e) {
        std::fprintf(stderr, "selfextend-server: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "selfextend-server: %s\n", e.what());
        return 1;
    }
}
