// Commands about a model file: info and tokenize; and the flags every command shares.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "common.h"
#include "selfextend/quantize.h"
#include "selfextend/tokenizer.h"

namespace cli {

namespace {

selfextend::Device parse_device(const std::string& name) {
    if (name == "auto") return selfextend::Device::Auto;
    if (name == "cpu") return selfextend::Device::Cpu;
    if (name == "cuda") return selfextend::Device::Cuda;
    throw UsageError("--device: '" + name + "' is not one of auto, cpu, cuda");
}

std::string format_mib(uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
    return text;
}

}  // namespace

ModelFlags take_model_flags(Arguments& args) {
    ModelFlags flags;
    flags.path = args.take({"-m", "--model"}).value_or("");
    flags.load.threads = int(args.take_int({"-t", "--threads"}, 0, 0, 1024));
    flags.load.device = parse_device(args.take_or({"--device"}, "auto"));
    return flags;
}

std::shared_ptr<selfextend::Model> load_model(const Arguments& args, const ModelFlags& flags,
                                              const std::string& positional_model) {
    args.finish();
    if (!flags.path.empty() && !positional_model.empty())
        throw UsageError("the model is given twice");
    std::string path = !flags.path.empty() ? flags.path : positional_model;
    if (path.empty()) path = default_model_path();
    return selfextend::Model::load(path, flags.load);
}

AttentionFlags take_attention_flags(Arguments& args) {
    AttentionFlags flags;
    if (auto group = args.take({"-g", "--group"})) {
        flags.group = *group;
        flags.given = true;
        if (flags.group != "auto") parse_int(flags.group, "--group", 1, 1 << 20);
    }
    if (auto window = args.take({"-w", "--window"})) {
        flags.window = parse_int(*window, "--window", 0, int64_t(1) << 24);
        flags.given = true;
    }
    return flags;
}

selfextend::AttentionMode resolve_attention(const AttentionFlags& flags,
                                            const selfextend::ModelInfo& info, int64_t n_tokens) {
    const int64_t L = info.training_window;
    const int window = int(flags.window.value_or(L / 2));
    int group = 1;
    if (flags.group == "auto") {
        if (window >= L)
            throw UsageError("--group auto needs --window below the training window " +
                             std::to_string(L));
        group = selfextend::smallest_group(L, window, n_tokens);
    } else {
        group = int(parse_int(flags.group, "--group", 1, 1 << 20));
    }
    if (!flags.given || group == 1) return selfextend::AttentionMode::vanilla();
    const auto mode = selfextend::AttentionMode::self_extend(group, window);
    selfextend::validate(mode, L);
    return mode;
}

selfextend::SamplingParams take_sampling(Arguments& args) {
    selfextend::SamplingParams p;
    p.temperature = float(args.take_double({"--temp", "--temperature"}, 0.0, 0.0, 100.0));
    p.top_k = int(args.take_int({"--top-k"}, p.top_k, 0, 1 << 20));
    p.top_p = float(args.take_double({"--top-p"}, 1.0, 1e-6, 1.0));
    p.min_p = float(args.take_double({"--min-p"}, 0.0, 0.0, 0.999));
    p.repeat_penalty = float(args.take_double({"--repeat-penalty"}, 1.0, 0.01, 100.0));
    p.repeat_last_n = int(args.take_int({"--repeat-last-n"}, p.repeat_last_n, 0, 1 << 20));
    p.seed = uint64_t(args.take_int({"--seed"}, 0, 0, INT64_MAX));
    return p;
}

int command_info(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const AttentionFlags flags = take_attention_flags(args);
    const auto tokens = args.take_int({"--tokens"}, 0, 0, int64_t(1) << 30);
    const std::string positional = args.take_positional().value_or("");
    const auto model = load_model(args, model_flags, positional);
    const selfextend::ModelInfo& info = model->info();
    std::cout << "model         " << info.name << "\n"
              << "file          " << info.path << " (" << format_mib(info.file_bytes) << ")\n"
              << "architecture  " << info.architecture << "\n"
              << "parameters    " << format_count(info.parameter_count) << "\n"
              << "training window L  " << info.training_window << " tokens\n"
              << "dims          embedding " << info.embedding_length << ", " << info.layer_count
              << " layers, " << info.head_count << " heads (" << info.head_count_kv
              << " KV, head dim " << info.head_dim << "), FFN " << info.feed_forward_length
              << ", vocab " << info.vocab_size << "\n"
              << "RoPE          base " << info.rope_freq_base << ", linear scale "
              << info.rope_scale << "\n"
              << "dtype mix     " << info.dtype_mix() << "\n"
              << "weights       " << format_mib(info.weight_bytes) << "\n"
              << "device        " << info.device << "\n"
              << "KV cache      "
              << format_mib(info.kv_bytes_per_token() * uint64_t(info.training_window))
              << " for L tokens (vanilla)\n";
    if (flags.given) {
        const int64_t L = info.training_window;
        const int window = int(flags.window.value_or(L / 2));
        const int group = flags.group == "auto"
                              ? selfextend::smallest_group(L, window, std::max<int64_t>(tokens, 1))
                              : int(parse_int(flags.group, "--group", 1, 1 << 20));
        selfextend::validate(selfextend::AttentionMode::self_extend(group, window), L);
        std::cout << "Self-Extend   G=" << group << " W=" << window << ": capacity (L-W)*G+W = "
                  << format_count(selfextend::capacity(L, group, window)) << " tokens";
        if (tokens > 0)
            std::cout << "; " << format_count(tokens) << " tokens "
                      << (tokens <= selfextend::capacity(L, group, window) ? "fit" : "do NOT fit")
                      << ", rule of thumb W+(N-W)/G < 2/3 L "
                      << (selfextend::rule_of_thumb_holds(L, group, window, tokens) ? "holds"
                                                                                    : "fails");
        std::cout << "\n";
    }
    return 0;
}

int command_tokenize(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const auto file = args.take({"-f", "--file"});
    const bool ids_only = args.take_flag({"--ids-only"});
    const bool count_only = args.take_flag({"--count"});
    const bool no_bos = args.take_flag({"--no-bos"});
    // Positionals: [MODEL.gguf] TEXT, or [MODEL.gguf] with --file.
    std::string model_path;
    std::vector<std::string> positionals;
    while (auto positional = args.take_positional()) positionals.push_back(*positional);
    if (positionals.size() > (file ? 1u : 2u)) throw UsageError("tokenize: too many arguments");
    if (!positionals.empty() && (positionals.size() == 2 || file)) {
        model_path = positionals.front();
        positionals.erase(positionals.begin());
    }
    std::string text;
    if (file) {
        text = read_text_file(*file);
    } else {
        if (positionals.empty()) throw UsageError("tokenize: give TEXT or --file F");
        text = positionals.front();
    }
    const auto model = load_model(args, model_flags, model_path);
    const auto started = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids =
        model->tokenize(text, !no_bos && model->tokenizer().adds_bos());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (count_only) {
        // fall through to the summary only
    } else if (ids_only) {
        for (size_t k = 0; k < ids.size(); ++k) std::cout << (k ? " " : "") << ids[k];
        std::cout << "\n";
    } else {
        for (const int32_t id : ids)
            std::cout << id << "\t" << model->tokenizer().piece(id) << "\n";
    }
    if (!ids_only || count_only)
        std::fprintf(stderr, "%zu tokens from %zu bytes in %.3f s (%.1f MB/s)\n", ids.size(),
                     text.size(), seconds, double(text.size()) / 1e6 / std::max(seconds, 1e-9));
    return 0;
}

int command_quantize(Arguments& args) {
    const auto input = args.take_positional();
    const auto output = args.take_positional();
    const auto type = args.take_positional();
    args.finish();
    if (!input || !output || !type) throw UsageError("quantize: give INPUT.gguf OUTPUT.gguf TYPE");
    if (*input == *output)
        throw UsageError("quantize: the output must be another file than the input");
    const auto started = std::chrono::steady_clock::now();
    const selfextend::QuantizeResult result = selfextend::quantize_model(
        *input, *output, *type,
        [](double fraction) { std::fprintf(stderr, "\rquantizing %3.0f%%", 100 * fraction); });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fprintf(stderr, "\r%20s\r", "");
    std::printf("%s -> %s: %d matrices converted, %d tensors kept, %s -> %s in %.1f s\n",
                input->c_str(), output->c_str(), result.tensors_converted, result.tensors_kept,
                format_mib(result.input_bytes).c_str(), format_mib(result.output_bytes).c_str(),
                seconds);
    return 0;
}

}  // namespace cli
