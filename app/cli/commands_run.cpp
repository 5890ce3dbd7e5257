// Commands that run the model: generate, ask, logits and bench.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <span>
#include <sstream>

#include "common.h"
#include "selfextend/answer_sources.h"
#include "selfextend/document.h"
#include "selfextend/document_conversation.h"
#include "selfextend/kv_disk_cache.h"

namespace cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// One line of a long prefill's progress, written over the last; the ETA a range when the latest
// chunks ran notably slower than predicted (a busy machine).
void print_prefill_progress(const selfextend::Progress& p) {
    if (p.eta_high_seconds > 1.15 * p.eta_seconds)
        std::fprintf(stderr, "\rprefill %lld/%lld tokens, %.0f tok/s, ETA %.1f-%.1f s ",
                     (long long)p.done, (long long)p.total, p.tokens_per_second, p.eta_seconds,
                     p.eta_high_seconds);
    else
        std::fprintf(stderr, "\rprefill %lld/%lld tokens, %.0f tok/s, ETA %.1f s ",
                     (long long)p.done, (long long)p.total, p.tokens_per_second, p.eta_seconds);
}

// Prompts shorter than this prefill too fast for a progress line to help.
constexpr int64_t kProgressFromTokens = 2048;

void clear_progress_line() {
    std::fprintf(stderr, "\r%60s\r", "");
}

// Prefills `tokens` with a progress line while it runs (long prompts only), cleared after.
void prefill_showing_progress(selfextend::Session& session, std::span<const int32_t> tokens) {
    session.prefill(tokens, [](const selfextend::Progress& p) {
        if (p.total >= kProgressFromTokens && p.done < p.total) print_prefill_progress(p);
    });
    if (int64_t(tokens.size()) >= kProgressFromTokens) clear_progress_line();
}

struct RunResult {
    std::string text;
    int64_t prompt_tokens = 0;
    double prefill_seconds = 0;
    selfextend::GenerateStats stats;
};

// Prefills the prompt and generates, streaming to stdout when `stream`.
RunResult run_prompt(selfextend::Model& model, const std::vector<int32_t>& prompt,
                     const selfextend::AttentionMode& mode, selfextend::KvType kv_type, int max_new,
                     const selfextend::SamplingParams& sampling, bool stream) {
    RunResult result;
    result.prompt_tokens = int64_t(prompt.size());
    auto session = model.new_session({int64_t(prompt.size()) + max_new, mode, kv_type});
    const auto started = Clock::now();
    prefill_showing_progress(*session, prompt);
    result.prefill_seconds = seconds_since(started);
    result.stats = session->generate(max_new, sampling, [&](const selfextend::Token& token) {
        result.text += token.text;
        if (stream) std::cout << token.text << std::flush;
        return true;
    });
    return result;
}

void print_timings(const RunResult& r) {
    std::fprintf(
        stderr,
        "prompt tokens %lld, prefill %.0f tok/s (%.2f s), decode %.0f tok/s (%lld tokens)\n",
        (long long)r.prompt_tokens, double(r.prompt_tokens) / std::max(r.prefill_seconds, 1e-9),
        r.prefill_seconds, r.stats.tokens_per_second(), (long long)r.stats.tokens);
}

}  // namespace

int command_generate(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto prompt_text = args.take({"-p", "--prompt"});
    const auto prompt_file = args.take({"-f", "--file"});
    const int max_new = int(args.take_int({"-n", "--tokens"}, 64, 0, 1 << 20));
    const AttentionFlags flags = take_attention_flags(args);
    const selfextend::KvType kv_type = take_kv_type(args);
    const selfextend::SamplingParams sampling = take_sampling(args);
    if (!prompt_text == !prompt_file)
        throw UsageError("generate: give exactly one of -p TEXT and -f FILE");
    const std::string text = prompt_text ? *prompt_text : read_text_file(*prompt_file);
    const auto model = load_model(args, model_flags);
    const std::vector<int32_t> prompt = model->tokenize(text, true);
    const auto mode = resolve_attention(flags, model->info(), int64_t(prompt.size()) + max_new);
    std::fprintf(stderr, "%s, %s, %s\n", model->info().name.c_str(), model->info().device.c_str(),
                 mode.describe().c_str());
    std::cout << text << std::flush;
    const RunResult result = run_prompt(*model, prompt, mode, kv_type, max_new, sampling, true);
    std::cout << std::endl;
    print_timings(result);
    return 0;
}

namespace {

// What every question of an `ask` run shares.
struct AskSettings {
    selfextend::AnswerOptions answer;
    int sources = 0;  // > 0: print the answer's top passages of the document
};

// The passages of the document the answer came from (`ask --sources N`), one per line with its
// share of the answer's attention on the document.
void print_sources(const selfextend::DocumentConversation& c, const std::string& answer,
                   int count) {
    if (!c.sources_available()) {
        std::cout << "sources: not available on this device (the CUDA backend does not report "
                     "attention)\n";
        return;
    }
    const auto ranked = c.sources(count, answer);
    if (ranked.empty()) {
        std::cout << "sources: none (the answer states nothing found in the document)\n";
        return;
    }
    std::cout << "sources (share of the answer's attention on the document):\n";
    constexpr size_t kShown = 100;  // bytes of a passage shown
    for (size_t k = 0; k < ranked.size(); ++k)
        std::printf(
            "  %zu. %4.1f%%  %s\n", k + 1, 100.0 * ranked[k].share,
            selfextend::passage_preview(c.document().text(), ranked[k].bytes, kShown).c_str());
    std::fflush(stdout);
}

// Asks one question in one conversation, streaming the answer to stdout.
void ask_in(selfextend::DocumentConversation& c, int64_t training_window,
            const std::string& question, const AskSettings& settings) {
    const auto started = Clock::now();
    const auto limits =
        selfextend::prompt_limits(training_window, c.mode(), settings.answer.max_new_tokens, false);
    const selfextend::ConversationPrompt prompt = c.prompt(question, limits);
    if (prompt.dropped_turns > 0)
        std::fprintf(stderr, "(%lld oldest turn(s) left out to fit the capacity)\n",
                     (long long)prompt.dropped_turns);
    double first_token_seconds = -1;
    bool progress_shown = false;
    selfextend::AnswerCallbacks callbacks;
    callbacks.on_prefill = [&](int64_t, int64_t, const selfextend::Progress& p) {
        if (p.total >= kProgressFromTokens && p.done < p.total) {
            print_prefill_progress(p);
            progress_shown = true;
        }
    };
    callbacks.on_piece = [&](std::string_view piece, int64_t) {
        if (progress_shown) clear_progress_line();
        progress_shown = false;
        if (first_token_seconds < 0) first_token_seconds = seconds_since(started);
        std::cout << piece << std::flush;
        return true;
    };
    callbacks.on_warning = [](const std::string& warning) {
        std::fprintf(stderr, "warning: %s\n", warning.c_str());
    };
    selfextend::AnswerOptions options = settings.answer;
    options.collect_sources = settings.sources > 0;
    const selfextend::AnswerOutcome out = c.answer(prompt, question, options, callbacks);
    if (progress_shown) clear_progress_line();
    std::cout << std::endl;
    if (!out.error.empty()) throw selfextend::Error(out.error);
    char first_token[80];
    if (first_token_seconds >= 0 && !out.answer.empty())
        std::snprintf(first_token, sizeof first_token, "first token after %.2f s",
                      first_token_seconds);
    else
        std::snprintf(first_token, sizeof first_token, "no answer token (%s)",
                      out.generation.stopped_by_context_full ? "no room left in the context"
                                                             : "the model ended its turn at once");
    std::fprintf(stderr,
                 "prompt %lld tokens (%lld reused%s), prefill %.2f s, %s, decode %.0f tok/s "
                 "(%lld tokens)\n",
                 (long long)out.prompt_tokens, (long long)out.reused_tokens,
                 out.from_disk_cache ? ", document from the disk cache" : "", out.prefill_seconds,
                 first_token, out.generation.tokens_per_second(), (long long)out.generation.tokens);
    if (settings.sources > 0) print_sources(c, out.answer, settings.sources);
}

}  // namespace

int command_ask(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto doc = args.take({"--doc", "-d"});
    auto question = args.take({"--question", "-q"});
    const bool interactive = args.take_flag({"--interactive", "-i"});
    const bool compare = args.take_flag({"--compare"});
    const bool no_cache = args.take_flag({"--no-cache"});
    const int max_new = int(args.take_int({"-n", "--tokens"}, 64, 1, 1 << 20));
    const int sources = int(args.take_int({"--sources"}, 0, 0, 100));
    const auto template_name = args.take({"--template"});
    const std::string system = args.take({"--system"}).value_or("");
    AttentionFlags flags = take_attention_flags(args);
    const selfextend::KvType kv_type = take_kv_type(args);
    const selfextend::SamplingParams sampling = take_sampling(args);
    if (!doc || (!question && !interactive))
        throw UsageError("ask: give --doc FILE and --question Q (or --interactive)");
    std::optional<selfextend::ChatFormat> format;
    if (template_name && !(format = selfextend::chat_format_from_name(*template_name)))
        throw UsageError("ask: unknown --template '" + *template_name +
                         "' (known: " + selfextend::chat_format_names() + ")");
    std::string document_text = read_text_file(*doc);
    const std::shared_ptr<selfextend::Model> model = load_model(args, model_flags);
    const selfextend::ModelInfo& info = model->info();
    const auto document = std::make_shared<const selfextend::FramedDocument>(
        format ? model->chat_template(*format) : model->chat_template(), system,
        std::move(document_text));
    // The attention mode is chosen once, for the document and the first question (with room for
    // follow-ups when interactive).
    const auto first = document->prompt({}, question.value_or("?"));
    const int64_t needed =
        int64_t(first.tokens.size()) + max_new + (interactive ? int64_t(4) * max_new + 256 : 0);
    // Without --group the document decides: Self-Extend with Auto's G and W when it is longer
    // than the training window.
    if (!flags.given && needed > info.training_window) {
        flags.group = "auto";
        flags.given = true;
    }
    const auto extended = resolve_attention(flags, info, needed);
    std::fprintf(stderr, "%s: %lld document tokens (%s template), training window %lld, %s\n",
                 info.name.c_str(), (long long)first.document_prefix,
                 std::string(document->chat().name()).c_str(), (long long)info.training_window,
                 extended.describe().c_str());
    if (const std::string why = auto_reason(flags, info, needed); !why.empty())
        std::fprintf(stderr, "%s\n", why.c_str());
    const std::optional<selfextend::KvDiskCache> cache =
        no_cache ? std::nullopt : std::optional<selfextend::KvDiskCache>(std::in_place);

    std::vector<selfextend::DocumentConversation> conversations;
    if (compare)
        conversations.emplace_back(model, document, selfextend::AttentionMode::vanilla(), kv_type);
    if (!compare || !extended.is_vanilla())
        conversations.emplace_back(model, document, extended, kv_type);
    AskSettings settings;
    settings.answer.max_new_tokens = max_new;
    settings.answer.sampling = sampling;
    settings.answer.disk_cache = cache ? &*cache : nullptr;
    settings.sources = sources;
    const auto ask_all = [&](const std::string& q) {
        for (selfextend::DocumentConversation& c : conversations) {
            if (compare) std::cout << "== " << c.mode().describe() << " ==\n";
            ask_in(c, info.training_window, q, settings);
        }
    };
    if (question) ask_all(*question);
    if (interactive) {
        // One question per line on stdin, until an empty line or the end of input.
        std::string line;
        while (std::fputs("> ", stderr), std::getline(std::cin, line) && !line.empty())
            ask_all(line);
    }
    return 0;
}

int command_logits(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto tokens_text = args.take({"--tokens"});
    const auto tokens_file = args.take({"--tokens-file"});
    const auto prompt_file = args.take({"--prompt-file"});
    const auto out = args.take({"-o", "--out"});
    const int64_t last = args.take_int({"--last"}, 0, 0, int64_t(1) << 24);
    const AttentionFlags flags = take_attention_flags(args);
    const selfextend::KvType kv_type = take_kv_type(args);
    if (int(bool(tokens_text)) + int(bool(tokens_file)) + int(bool(prompt_file)) != 1)
        throw UsageError(
            "logits: give exactly one of --tokens \"1 2 3\", --tokens-file F and --prompt-file F");
    if (!out) throw UsageError("logits: give --out FILE");
    const auto model = load_model(args, model_flags);
    std::vector<int32_t> tokens;
    if (prompt_file) {
        tokens = model->tokenize(read_text_file(*prompt_file), true);
    } else {
        // Ids as text, separated by white space: a long prompt's ids do not fit on a command line.
        std::istringstream items(tokens_text ? *tokens_text : read_text_file(*tokens_file));
        const char* flag = tokens_text ? "--tokens" : "--tokens-file";
        for (std::string item; items >> item;)
            tokens.push_back(int32_t(parse_int(item, flag, 0, model->info().vocab_size - 1)));
    }
    if (tokens.empty()) throw UsageError("logits: no tokens given");
    const int64_t n = int64_t(tokens.size());
    // --last K: the rows of the last K positions only (all of a 40 000-token prompt's rows would
    // be 40 GB for a 262 144-token vocabulary); the positions before them are only prefilled.
    const int64_t rows = last > 0 ? std::min(last, n) : n;
    const auto mode = resolve_attention(flags, model->info(), n);
    auto session = model->new_session({n, mode, kv_type});
    const std::span<const int32_t> all(tokens);
    if (rows < n) prefill_showing_progress(*session, all.first(size_t(n - rows)));
    const std::vector<float> logits = session->logits_for(all.last(size_t(rows)));
    std::ofstream file(*out, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(logits.data()),
               std::streamsize(logits.size() * sizeof(float)));
    if (!file) throw selfextend::Error("cannot write '" + *out + "'");
    std::fprintf(stderr, "wrote %lld x %d float32 logits of %lld positions (%s, %s KV) to %s\n",
                 static_cast<long long>(rows), model->info().vocab_size, static_cast<long long>(n),
                 mode.describe().c_str(), std::string(selfextend::kv_type_name(kv_type)).c_str(),
                 out->c_str());
    return 0;
}

int command_bench(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const int64_t prompt_tokens = args.take_int({"--prompt", "-p"}, 512, 1, int64_t(1) << 24);
    const int gen_tokens = int(args.take_int({"--gen", "-n"}, 128, 0, 1 << 20));
    const int repeats = int(args.take_int({"--repeat", "-r"}, 3, 1, 100));
    const bool json = args.take_flag({"--json"});
    AttentionFlags flags = take_attention_flags(args);
    const selfextend::KvType kv_type = take_kv_type(args);
    const auto model = load_model(args, model_flags);
    const selfextend::ModelInfo& info = model->info();
    if (!flags.given) {  // compare against Self-Extend with the group the prompt needs
        flags.group = "auto";
        flags.window = info.training_window / 2;
        flags.given = true;
    }
    auto extended = resolve_attention(flags, info, prompt_tokens + gen_tokens);
    if (extended.is_vanilla())
        extended = selfextend::AttentionMode::self_extend(2, int(info.training_window / 2));

    // A fixed pseudo-random prompt: timing does not depend on the text.
    std::mt19937 rng(42);
    std::uniform_int_distribution<int32_t> pick(3, info.vocab_size - 1);
    std::vector<int32_t> prompt{model->bos_id()};
    while (int64_t(prompt.size()) < prompt_tokens) prompt.push_back(pick(rng));

    struct Row {
        selfextend::AttentionMode mode;
        double prefill_tok_s = 0, decode_tok_s = 0;
    };
    std::vector<Row> rows{{selfextend::AttentionMode::vanilla()}, {extended}};
    // An untimed warm-up first, as llama-bench does: the first pass pages the weights in and
    // starts the threads, which would otherwise fall on the first mode's prefill only.
    {
        auto warm_up = model->new_session({64, rows[0].mode, kv_type});
        warm_up->prefill(std::span(prompt).first(std::min<size_t>(prompt.size(), 32)));
    }
    // Best of the repeats, the modes taking turns so that a busy moment of the machine does not
    // fall on one mode only (their ratio is the figure that matters).
    for (int r = 0; r < repeats; ++r)
        for (Row& row : rows) {
            auto session = model->new_session({prompt_tokens + gen_tokens, row.mode, kv_type});
            const auto started = Clock::now();
            session->prefill(prompt);
            row.prefill_tok_s =
                std::max(row.prefill_tok_s, double(prompt_tokens) / seconds_since(started));
            if (gen_tokens > 0) {
                const auto decode_started = Clock::now();
                for (int k = 0; k < gen_tokens; ++k) {  // greedy decode that never stops at EOS
                    const auto logits = session->last_logits();
                    const int32_t next =
                        int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
                    session->prefill(std::span<const int32_t>(&next, 1));
                }
                row.decode_tok_s =
                    std::max(row.decode_tok_s, gen_tokens / seconds_since(decode_started));
            }
        }
    if (json) {
        Json out{{"model", info.name},
                 {"device", info.device},
                 {"kv_type", std::string(selfextend::kv_type_name(kv_type))},
                 {"results", Json::array()}};
        for (const Row& row : rows) {
            Json result = json_mode_fields(row.mode);
            result["prompt"] = prompt_tokens;
            result["gen"] = gen_tokens;
            result["prefill_tok_s"] = row.prefill_tok_s;
            result["decode_tok_s"] = row.decode_tok_s;
            out["results"].push_back(std::move(result));
        }
        out["self_extend_prefill_time_ratio"] = rows[0].prefill_tok_s / rows[1].prefill_tok_s;
        // Always present, so that readers see one shape: with --gen 0 nothing was decoded and
        // 0/0 is written as null.
        out["self_extend_decode_time_ratio"] = rows[0].decode_tok_s / rows[1].decode_tok_s;
        print_json(out);
        return 0;
    }
    std::cout << info.name << " on " << info.device << ", " << selfextend::kv_type_name(kv_type)
              << " KV, prompt " << prompt_tokens << ", gen " << gen_tokens << ", best of "
              << repeats << "\n";
    std::vector<std::vector<std::string>> table{{"mode", "prefill tok/s", "decode tok/s"}};
    char a[32], b[32];
    for (const Row& row : rows) {
        std::snprintf(a, sizeof a, "%.0f", row.prefill_tok_s);
        std::snprintf(b, sizeof b, "%.0f", row.decode_tok_s);
        table.push_back({row.mode.describe(), a, b});
    }
    print_table(table);
    std::printf("Self-Extend / vanilla prefill time: %.2fx\n",
                rows[0].prefill_tok_s / rows[1].prefill_tok_s);
    if (gen_tokens > 0)
        std::printf("Self-Extend / vanilla decode time: %.2fx\n",
                    rows[0].decode_tok_s / rows[1].decode_tok_s);
    return 0;
}

}  // namespace cli
