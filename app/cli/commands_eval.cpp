// The tuning measurements: pass key and perplexity, as tables or JSON.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include "common.h"
#include "selfextend/evaluation.h"
#include "selfextend/probe.h"

namespace cli {

namespace {

void progress_line(const selfextend::Progress& p, const char* what) {
    std::fprintf(stderr, "\r%s %lld/%lld ", what, (long long)p.done, (long long)p.total);
    if (p.done == p.total) std::fprintf(stderr, "\r%40s\r", "");
}

// The Self-Extend mode an evaluation compares with vanilla: the flags, or when none are given
// the smallest group covering `length` with W = default_window. G = 1 when nothing needs extending.
selfextend::AttentionMode extended_mode(const AttentionFlags& flags,
                                        const selfextend::ModelInfo& info, int64_t length) {
    AttentionFlags f = flags;
    if (!f.given) {  // Auto's G and W, as the studio and `ask` choose them
        f.group = "auto";
        f.given = true;
    }
    const auto mode = resolve_attention(f, info, length);
    return mode.is_vanilla() ? selfextend::AttentionMode::self_extend(1, mode.window) : mode;
}

}  // namespace

int command_passkey(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto lengths = args.take_int_list({"--lengths"}, {1024, 2048});
    const auto depths = args.take_double_list({"--depths"}, {0.1, 0.3, 0.5, 0.7, 0.9});
    const int trials = int(args.take_int({"--trials"}, 1, 1, 1000));
    const auto seed = uint64_t(args.take_int({"--seed"}, 1234, 0, INT64_MAX));
    const bool json = args.take_flag({"--json"});
    const bool details = args.take_flag({"--details"});
    // Past the window vanilla only shows that it fails, and each of its trials costs a whole
    // prefill: a long run can leave it out (and measure it once, at one depth, separately).
    const bool with_vanilla = !args.take_flag({"--no-vanilla"});
    // Several windows in one run: vanilla once, then Self-Extend with each W (and the group the
    // flags give, else the smallest that covers the length).
    const auto windows = args.take_int_list({"--windows"}, {});
    AttentionFlags flags = take_attention_flags(args);
    if (!windows.empty() && flags.window)
        throw UsageError("passkey: give --window W or --windows W1,W2,…, not both");
    const selfextend::KvType kv_type = take_kv_type(args);
    const auto model = load_model(args, model_flags);
    const selfextend::ModelInfo& info = model->info();

    std::vector<selfextend::PasskeyResult> results;
    size_t modes_per_length = 0;
    for (const int64_t length : lengths) {  // each length may need its own group
        selfextend::PasskeyOptions options;
        options.lengths = {length};
        options.depths = depths;
        options.trials_per_depth = trials;
        options.seed = seed;
        options.kv_type = kv_type;
        // The group must cover the answer too: a few tokens past the prompt.
        constexpr int64_t kAnswerRoom = 8;
        options.modes.clear();
        if (with_vanilla) options.modes.push_back(selfextend::AttentionMode::vanilla());
        if (windows.empty())
            options.modes.push_back(extended_mode(flags, info, length + kAnswerRoom));
        for (const int64_t window : windows) {
            AttentionFlags f = flags;
            f.window = window;
            f.given = true;
            if (f.group == "1") f.group = "auto";
            options.modes.push_back(extended_mode(f, info, length + kAnswerRoom));
        }
        modes_per_length = options.modes.size();
        if (details)  // each trial as it ends: a long run shows what it has found so far
            options.on_trial = [](const selfextend::AttentionMode& mode,
                                  const selfextend::PasskeyTrial& t) {
                std::printf("%s len=%lld depth=%.2f key=%s answer=\"%s\" %s\n",
                            mode.describe().c_str(), (long long)t.length, t.depth, t.key.c_str(),
                            t.answer.c_str(), t.correct ? "ok" : "wrong");
                std::fflush(stdout);
            };
        auto part = selfextend::run_passkey(
            *model, options, [](const selfextend::Progress& p) { progress_line(p, "pass key"); });
        results.insert(results.end(), part.begin(), part.end());
    }

    if (json) {
        Json out{{"model", info.name}, {"results", Json::array()}};
        for (const auto& r : results) {
            Json row{{"length", r.length}};
            row.update(json_mode_fields(r.mode));
            row["trials"] = r.trials;
            row["correct"] = r.correct;
            row["accuracy"] = r.accuracy();
            row["prompt_tokens"] = r.details.empty() ? 0 : r.details.front().length;
            // Each trial, so that a long run's table can be rebuilt and checked afterwards.
            row["details"] = Json::array();
            for (const selfextend::PasskeyTrial& t : r.details)
                row["details"].push_back({{"length", t.length},
                                          {"depth", t.depth},
                                          {"key", t.key},
                                          {"answer", t.answer},
                                          {"correct", t.correct}});
            out["results"].push_back(std::move(row));
        }
        print_json(out);
        return 0;
    }
    const auto percent = [](const selfextend::PasskeyResult& r) {
        char text[32];
        std::snprintf(text, sizeof text, "%.0f%%", 100 * r.accuracy());
        return std::string(text);
    };
    std::vector<std::vector<std::string>> table;
    const size_t first_extended = with_vanilla ? 1 : 0;  // results per length: [vanilla,] extended…
    const auto vanilla_cell = [&](size_t k) { return with_vanilla ? percent(results[k]) : "-"; };
    if (windows.empty()) {
        table.push_back({"length", "tokens", "vanilla", "self-extend", "G", "W"});
        for (size_t k = 0; k + modes_per_length <= results.size(); k += modes_per_length) {
            const auto& s = results[k + first_extended];
            table.push_back({std::to_string(s.length), std::to_string(s.details.front().length),
                             vanilla_cell(k), percent(s), std::to_string(s.mode.group),
                             std::to_string(s.mode.window)});
        }
    } else {  // a column per window, each cell with the group it used
        table.push_back({"length", "tokens", "vanilla"});
        for (const int64_t window : windows) table[0].push_back("W=" + std::to_string(window));
        for (size_t k = 0; k + modes_per_length <= results.size(); k += modes_per_length) {
            std::vector<std::string> row{std::to_string(results[k].length),
                                         std::to_string(results[k].details.front().length),
                                         vanilla_cell(k)};
            for (size_t m = first_extended; m < modes_per_length; ++m)
                row.push_back(percent(results[k + m]) + " G" +
                              std::to_string(results[k + m].mode.group));
            table.push_back(std::move(row));
        }
    }
    print_table(table);
    return 0;
}

int command_probe(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto doc = args.take({"--doc", "-d"});
    const auto depths = args.take_double_list({"--depths"}, selfextend::ProbeOptions{}.depths);
    const auto candidate_list = args.take({"--candidates"});
    const int64_t max_tokens = args.take_int({"--max-tokens"}, 0, 0, int64_t(1) << 24);
    const auto template_name = args.take({"--template"});
    const std::string system = args.take({"--system"}).value_or("");
    const bool json = args.take_flag({"--json"});
    const bool details = args.take_flag({"--details"});
    const selfextend::KvType kv_type = take_kv_type(args);
    if (!doc) throw UsageError("probe: give --doc FILE");
    for (const double d : depths)
        if (d < 0.0 || d > 1.0) throw UsageError("probe: depths are fractions from 0 to 1");
    if (depths.empty() || depths.size() > selfextend::probe_facts().size())
        throw UsageError("probe: give 1 to " + std::to_string(selfextend::probe_facts().size()) +
                         " depths (one invented fact each)");
    std::optional<selfextend::ChatFormat> format;
    if (template_name && !(format = selfextend::chat_format_from_name(*template_name)))
        throw UsageError("probe: unknown --template '" + *template_name +
                         "' (known: " + selfextend::chat_format_names() + ")");
    const std::string document = read_text_file(*doc);
    const auto model = load_model(args, model_flags);
    const selfextend::ModelInfo& info = model->info();

    // What the candidates must hold: the document (cut to --max-tokens), the chat format's markup
    // and the probe's facts, question and answer.
    int64_t document_tokens = int64_t(model->tokenize(document, false).size());
    if (max_tokens > 0) document_tokens = std::min(document_tokens, max_tokens);
    const selfextend::ChatTemplate chat =
        format ? model->chat_template(*format) : model->chat_template();
    const int64_t needed = document_tokens +
                           int64_t(chat.document_prompt(system, "", {}, "?").tokens.size()) +
                           selfextend::kProbeFramingTokens;
    const selfextend::AutoChoice automatic =
        selfextend::choose_attention(info.auto_profile(), needed);
    const selfextend::AttentionMode preferred =
        automatic.group > 1
            ? selfextend::AttentionMode::self_extend(automatic.group, automatic.window)
            : selfextend::AttentionMode::vanilla();

    selfextend::ProbeOptions options;
    options.depths = depths;
    options.max_document_tokens = max_tokens;
    options.chat.emplace(chat);
    options.system = system;
    options.kv_type = kv_type;
    if (candidate_list) {  // G:W pairs; 1:0 (or "vanilla") is vanilla
        std::string rest = *candidate_list;
        while (!rest.empty()) {
            const size_t comma = rest.find(',');
            const std::string item = rest.substr(0, comma);
            rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
            if (item == "vanilla") {
                options.candidates.push_back(selfextend::AttentionMode::vanilla());
                continue;
            }
            const size_t colon = item.find(':');
            char* end = nullptr;
            const long group = std::strtol(item.c_str(), &end, 10);
            const long window =
                colon == std::string::npos ? -1 : std::strtol(item.c_str() + colon + 1, &end, 10);
            if (colon == std::string::npos || *end != '\0' || group < 1 || window < 0)
                throw UsageError(
                    "probe: --candidates takes G:W pairs such as 4:1024,8:512 (or "
                    "vanilla), not '" +
                    item + "'");
            options.candidates.push_back(
                group == 1 ? selfextend::AttentionMode::vanilla()
                           : selfextend::AttentionMode::self_extend(int(group), int(window)));
        }
    } else {
        options.candidates = selfextend::probe_candidates(info.auto_profile(), needed);
    }
    std::fprintf(stderr, "%s: %lld document tokens, training window %lld, Auto: %s\n",
                 info.name.c_str(), (long long)document_tokens, (long long)info.training_window,
                 preferred.describe().c_str());
    // What it will cost, before it starts: one reading of the document per setting (every
    // depth's needle is in the same prompt).
    std::fprintf(stderr, "probe: %zu settings × one reading of the document (%s tokens in all)\n",
                 options.candidates.size(),
                 format_count(int64_t(options.candidates.size()) * needed).c_str());
    selfextend::ProbeTrialCallback on_trial;
    if (details)
        on_trial = [](const selfextend::AttentionMode& mode, const selfextend::ProbeTrial& t) {
            std::printf("%s depth=%.2f question=\"%.*s\" expected=\"%.*s\" answer=\"%s\" %s\n",
                        mode.describe().c_str(), t.depth, int(t.fact.question.size()),
                        t.fact.question.data(), int(t.fact.answer.size()), t.fact.answer.data(),
                        t.answer.c_str(), t.correct ? "ok" : "wrong");
            std::fflush(stdout);
        };
    const auto results = selfextend::run_probe(
        model, document, options, [](const selfextend::Progress& p) { progress_line(p, "probe"); },
        on_trial);
    const size_t best = selfextend::recommend_probe(results, preferred);

    if (json) {
        Json out{{"model", info.name},
                 {"document_tokens", document_tokens},
                 {"depths", depths},
                 {"results", Json::array()}};
        for (size_t k = 0; k < results.size(); ++k) {
            Json row = json_mode_fields(results[k].mode);
            row["found"] = results[k].found();
            row["recommended"] = k == best;
            row["answers"] = Json::array();
            for (const auto& t : results[k].trials)
                row["answers"].push_back({{"depth", t.depth},
                                          {"question", std::string(t.fact.question)},
                                          {"expected", std::string(t.fact.answer)},
                                          {"answer", t.answer},
                                          {"correct", t.correct}});
            out["results"].push_back(std::move(row));
        }
        print_json(out);
        return 0;
    }
    std::vector<std::vector<std::string>> table{{"setting"}};
    for (const double d : depths) {
        char head[32];
        std::snprintf(head, sizeof head, "depth %.2f", d);
        table[0].push_back(head);
    }
    table[0].push_back("found");
    for (size_t k = 0; k < results.size(); ++k) {
        std::vector<std::string> row{results[k].mode.describe() + (k == best ? " *" : "")};
        for (const auto& t : results[k].trials) row.push_back(t.correct ? "yes" : "no");
        row.push_back(std::to_string(results[k].found()) + "/" +
                      std::to_string(results[k].trials.size()));
        table.push_back(std::move(row));
    }
    print_table(table);
    std::printf("recommended (*): %s\n", results[best].mode.describe().c_str());
    return 0;
}

int command_make_document(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const int64_t tokens = args.take_int({"--tokens"}, 1500, 64, int64_t(1) << 24);
    const double depth = args.take_double({"--depth"}, 0.25, 0.0, 1.0);
    const std::string needle = args.take_or({"--needle"}, "Remember this: the door code is 4821.");
    const auto out = args.take({"-o", "--out"});
    if (!out) throw UsageError("make-document: give --out FILE");
    const auto model = load_model(args, model_flags);
    const std::string text =
        selfextend::build_filler_document(model->tokenizer(), tokens, depth, needle);
    std::ofstream file(*out, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file) throw selfextend::Error("cannot write '" + *out + "'");
    std::fprintf(stderr, "wrote %zu tokens to %s\n", model->tokenize(text, true).size(),
                 out->c_str());
    return 0;
}

int command_perplexity(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto file = args.take({"-f", "--file"});
    const auto lengths = args.take_int_list({"--lengths"}, {512, 1024, 2048});
    const int64_t windows = args.take_int({"--windows"}, 1, 0, int64_t(1) << 30);
    const bool json = args.take_flag({"--json"});
    AttentionFlags flags = take_attention_flags(args);
    const selfextend::KvType kv_type = take_kv_type(args);
    if (!file) throw UsageError("perplexity: give --file F");
    const std::string text = read_text_file(*file);
    const auto model = load_model(args, model_flags);
    const selfextend::ModelInfo& info = model->info();
    const std::vector<int32_t> tokens = model->tokenize(text, false);

    std::vector<selfextend::PerplexityResult> results;
    for (const int64_t length : lengths) {
        const auto vanilla = selfextend::AttentionMode::vanilla();
        const auto extended = extended_mode(flags, info, length);
        for (const auto& mode : {vanilla, extended})
            results.push_back(selfextend::run_perplexity(
                *model, tokens, length, windows, mode,
                [](const selfextend::Progress& p) { progress_line(p, "perplexity"); }, nullptr,
                kv_type));
    }
    if (json) {
        Json out{{"model", info.name}, {"results", Json::array()}};
        for (const auto& r : results) {
            Json row{{"length", r.length}};
            row.update(json_mode_fields(r.mode));
            row["windows"] = r.windows;
            row["tokens_scored"] = r.tokens_scored;
            row["ppl"] = r.perplexity;  // NaN (nothing scored) is written as null
            out["results"].push_back(std::move(row));
        }
        print_json(out);
        return 0;
    }
    std::vector<std::vector<std::string>> table{
        {"length", "windows", "vanilla PPL", "self-extend PPL", "G", "W"}};
    for (size_t k = 0; k + 1 < results.size(); k += 2) {
        char a[32], b[32];
        std::snprintf(a, sizeof a, "%.2f", results[k].perplexity);
        std::snprintf(b, sizeof b, "%.2f", results[k + 1].perplexity);
        table.push_back({std::to_string(results[k].length), std::to_string(results[k].windows), a,
                         b, std::to_string(results[k + 1].mode.group),
                         std::to_string(results[k + 1].mode.window)});
    }
    print_table(table);
    return 0;
}

}  // namespace cli
