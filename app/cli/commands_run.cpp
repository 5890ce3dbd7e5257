// Commands that run the model: generate, ask, logits and bench.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "common.h"
#include "selfextend/document.h"

namespace cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct RunResult {
    std::string text;
    int64_t prompt_tokens = 0;
    double prefill_seconds = 0;
    selfextend::GenerateStats stats;
};

// Prefills the prompt and generates, streaming to stdout when `stream`.
RunResult run_prompt(selfextend::Model& model, const std::vector<int32_t>& prompt,
                     const selfextend::AttentionMode& mode, int max_new,
                     const selfextend::SamplingParams& sampling, bool stream) {
    RunResult result;
    result.prompt_tokens = int64_t(prompt.size());
    auto session = model.new_session({int64_t(prompt.size()) + max_new, mode});
    const auto started = Clock::now();
    session->prefill(prompt, [&](const selfextend::Progress& p) {
        if (p.total >= 2048 && p.done < p.total)
            std::fprintf(stderr, "\rprefill %lld/%lld tokens, %.0f tok/s, ETA %.1f s ",
                         (long long)p.done, (long long)p.total, p.tokens_per_second, p.eta_seconds);
    });
    result.prefill_seconds = seconds_since(started);
    if (prompt.size() >= 2048) std::fprintf(stderr, "\r%60s\r", "");
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
    const RunResult result = run_prompt(*model, prompt, mode, max_new, sampling, true);
    std::cout << "\n";
    print_timings(result);
    return 0;
}

int command_ask(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto doc = args.take({"--doc", "-d"});
    const auto question = args.take({"--question", "-q"});
    const bool compare = args.take_flag({"--compare"});
    const int max_new = int(args.take_int({"-n", "--tokens"}, 32, 1, 1 << 20));
    AttentionFlags flags = take_attention_flags(args);
    const selfextend::SamplingParams sampling = take_sampling(args);
    if (!doc || !question) throw UsageError("ask: give --doc FILE and --question Q");
    const std::string document = read_text_file(*doc);
    const auto model = load_model(args, model_flags);
    const selfextend::ModelInfo& info = model->info();
    const std::vector<int32_t> prompt =
        model->tokenize(selfextend::question_prompt(document, *question), true);
    const int64_t needed = int64_t(prompt.size()) + max_new;
    // Without --group the document decides: Self-Extend with the smallest group when it is longer
    // than the training window.
    if (!flags.given && needed > info.training_window) {
        flags.group = "auto";
        flags.window = info.training_window / 2;
        flags.given = true;
    }
    const auto extended = resolve_attention(flags, info, needed);
    std::fprintf(stderr, "%s: %lld prompt tokens, training window %lld\n", info.name.c_str(),
                 (long long)prompt.size(), (long long)info.training_window);

    std::vector<selfextend::AttentionMode> modes;
    if (compare) modes.push_back(selfextend::AttentionMode::vanilla());
    if (!compare || !extended.is_vanilla()) modes.push_back(extended);
    for (const auto& mode : modes) {
        if (compare) std::cout << "== " << mode.describe() << " ==\n";
        const RunResult result = run_prompt(*model, prompt, mode, max_new, sampling, true);
        std::cout << "\n";
        print_timings(result);
    }
    return 0;
}

int command_logits(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto tokens_text = args.take({"--tokens"});
    const auto prompt_file = args.take({"--prompt-file"});
    const auto out = args.take({"-o", "--out"});
    const AttentionFlags flags = take_attention_flags(args);
    if (!tokens_text == !prompt_file)
        throw UsageError("logits: give exactly one of --tokens \"1 2 3\" and --prompt-file F");
    if (!out) throw UsageError("logits: give --out FILE");
    const auto model = load_model(args, model_flags);
    std::vector<int32_t> tokens;
    if (tokens_text) {
        std::istringstream items(*tokens_text);
        for (std::string item; items >> item;)
            tokens.push_back(int32_t(parse_int(item, "--tokens", 0, model->info().vocab_size - 1)));
    } else {
        tokens = model->tokenize(read_text_file(*prompt_file), true);
    }
    if (tokens.empty()) throw UsageError("logits: no tokens given");
    const auto mode = resolve_attention(flags, model->info(), int64_t(tokens.size()));
    auto session = model->new_session({int64_t(tokens.size()), mode});
    const std::vector<float> logits = session->logits_for(tokens);
    std::ofstream file(*out, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(logits.data()),
               std::streamsize(logits.size() * sizeof(float)));
    if (!file) throw selfextend::Error("cannot write '" + *out + "'");
    std::fprintf(stderr, "wrote %zu x %d float32 logits (%s) to %s\n", tokens.size(),
                 model->info().vocab_size, mode.describe().c_str(), out->c_str());
    return 0;
}

int command_bench(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const int64_t prompt_tokens = args.take_int({"--prompt", "-p"}, 512, 1, int64_t(1) << 24);
    const int gen_tokens = int(args.take_int({"--gen", "-n"}, 128, 0, 1 << 20));
    const int repeats = int(args.take_int({"--repeat", "-r"}, 3, 1, 100));
    const bool json = args.take_flag({"--json"});
    AttentionFlags flags = take_attention_flags(args);
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
    std::vector<Row> rows;
    for (const auto& mode : {selfextend::AttentionMode::vanilla(), extended}) {
        Row row{mode};
        for (int r = 0; r < repeats; ++r) {  // best of the repeats
            auto session = model->new_session({prompt_tokens + gen_tokens, mode});
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
        rows.push_back(row);
    }
    if (json) {
        std::cout << "{\"model\": \"" << json_escape(info.name) << "\", \"device\": \""
                  << json_escape(info.device) << "\", \"results\": [";
        for (size_t k = 0; k < rows.size(); ++k)
            std::cout << (k ? ", " : "") << "{" << json_mode_fields(rows[k].mode)
                      << ", \"prompt\": " << prompt_tokens << ", \"gen\": " << gen_tokens
                      << ", \"prefill_tok_s\": " << rows[k].prefill_tok_s
                      << ", \"decode_tok_s\": " << rows[k].decode_tok_s << "}";
        std::cout << "], \"self_extend_prefill_time_ratio\": "
                  << rows[0].prefill_tok_s / rows[1].prefill_tok_s << "}\n";
        return 0;
    }
    std::cout << info.name << " on " << info.device << ", prompt " << prompt_tokens << ", gen "
              << gen_tokens << ", best of " << repeats << "\n";
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
    return 0;
}

}  // namespace cli
