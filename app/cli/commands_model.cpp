// Commands about a model file: info and tokenize; and the flags every command shares.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common.h"
#include "selfextend/quantize.h"
#include "selfextend/tokenizer.h"

namespace cli {

namespace {

// The builds of the CPU kernels this program holds: the one in use, the others this CPU runs
// (SE_CPU_KERNELS chooses), and those it cannot.
std::string describe_cpu_kernels() {
    std::string in_use = "none (SE_CPU_KERNELS names no build this CPU runs)", runs, cannot;
    for (const selfextend::CpuKernelBuild& build : selfextend::cpu_kernel_builds()) {
        if (build.in_use)
            in_use = build.name + " (" + build.instructions + ")";
        else
            (build.runs_here ? runs : cannot) +=
                (build.runs_here ? runs : cannot).empty() ? build.name : ", " + build.name;
    }
    return in_use + (runs.empty() ? "" : "; also runs " + runs) +
           (cannot.empty() ? "" : "; not on this CPU: " + cannot);
}

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

// The model file a command names: -m, else the positional, else the bundled demo model. Checks
// first that every argument was used.
std::string model_path(const Arguments& args, const ModelFlags& flags,
                       const std::string& positional_model) {
    args.finish();
    if (!flags.path.empty() && !positional_model.empty())
        throw UsageError("the model is given twice");
    std::string path = !flags.path.empty() ? flags.path : positional_model;
    return path.empty() ? default_model_path() : path;
}

// "1 '<|im_start|>'", or "none".
std::string token_label(const selfextend::Tokenizer& tokenizer, int32_t id) {
    if (id < 0) return "none";
    return std::to_string(id) + " '" + tokenizer.piece(id) + "'";
}

// "byte-level BPE (pre-tokenizer smollm), 49 152 tokens, BOS 1 '<|im_start|>' (not added), ..."
std::string describe_tokenizer(const selfextend::Tokenizer& tokenizer) {
    std::string text(tokenizer.kind_name());
    if (!tokenizer.pre_tokenizer_name().empty())
        text += " (pre-tokenizer " + std::string(tokenizer.pre_tokenizer_name()) + ")";
    return text + ", " + format_count(tokenizer.vocab_size()) + " tokens, BOS " +
           token_label(tokenizer, tokenizer.bos_id()) +
           (tokenizer.adds_bos() ? " (added)" : " (not added)") + ", EOS " +
           token_label(tokenizer, tokenizer.eos_id());
}

// info for a GGUF that holds a vocabulary and no tensors (llama.cpp's ggml-vocab-*.gguf).
void print_vocabulary(const std::string& path, const selfextend::Tokenizer& tokenizer) {
    std::error_code error;
    const auto bytes = std::filesystem::file_size(path, error);
    std::cout << "file          " << path << " (" << format_mib(error ? 0 : bytes) << ")\n"
              << "contents      a vocabulary only, no tensors: tokenize works, running needs a "
                 "model\n"
              << "tokenizer     " << tokenizer.kind_name() << "\n";
    if (!tokenizer.pre_tokenizer_name().empty())
        std::cout << "pre-tokenizer " << tokenizer.pre_tokenizer_name() << "\n";
    std::cout << "vocabulary    " << format_count(tokenizer.vocab_size()) << " tokens\n"
              << "BOS           " << token_label(tokenizer, tokenizer.bos_id())
              << (tokenizer.adds_bos() ? ", added to every text" : ", not added") << "\n"
              << "EOS           " << token_label(tokenizer, tokenizer.eos_id()) << "\n";
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
    return selfextend::Model::load(model_path(args, flags, positional_model), flags.load);
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

std::string auto_reason(const AttentionFlags& flags, const selfextend::ModelInfo& info,
                        int64_t n_tokens) {
    if (!flags.given || flags.group != "auto" || flags.window) return {};
    return selfextend::choose_attention(info.auto_profile(), n_tokens).explanation;
}

selfextend::AttentionMode resolve_attention(const AttentionFlags& flags,
                                            const selfextend::ModelInfo& info, int64_t n_tokens) {
    const int64_t L = info.training_window;
    int window = int(flags.window.value_or(selfextend::auto_window(info.auto_profile())));
    int group = 1;
    if (flags.group == "auto") {
        if (window >= L)
            throw UsageError("--group auto needs --window below the training window " +
                             std::to_string(L));
        // The studio's Auto: G and W together, or G alone for a --window the user gave (with no
        // upper bound on G then: the user chose that W).
        const selfextend::AutoChoice choice =
            flags.window ? selfextend::choose_group(L, window, n_tokens, 1 << 20)
                         : selfextend::choose_attention(info.auto_profile(), n_tokens);
        if (!choice.fits) throw selfextend::Error(choice.explanation);
        group = choice.group;
        window = choice.window;
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

selfextend::KvType take_kv_type(Arguments& args) {
    const std::string name = args.take_or({"--kv-type"}, "f16");
    if (const auto type = selfextend::kv_type_from_name(name)) return *type;
    throw UsageError("--kv-type: '" + name + "' is not one of f32, f16, q8_0");
}

namespace {

std::string layer_list(const std::vector<int>& layers) {
    std::string text;
    for (const int layer : layers) text += (text.empty() ? "" : ", ") + std::to_string(layer);
    return text;
}

// "all 30 layers global (Self-Extend applies to each)", or the local/global split of a model
// with sliding-window layers.
std::string describe_layers(const selfextend::ModelInfo& info) {
    const int global = int(info.self_extend_layers.size());
    if (info.sliding_window == 0)
        return "all " + std::to_string(info.layer_count) +
               " layers global (Self-Extend applies to each)" +
               (info.attention_note.empty() ? "" : "; " + info.attention_note);
    std::ostringstream text;
    text << info.layer_count - global << " local layers (sliding window " << info.sliding_window
         << " keys, RoPE base " << info.rope_freq_base_local << ", kept as trained), " << global
         << " global (" << layer_list(info.self_extend_layers) << "; Self-Extend applies to these)";
    return text.str();
}

}  // namespace

int command_info(Arguments& args) {
    const ModelFlags model_flags = take_model_flags(args);
    const AttentionFlags flags = take_attention_flags(args);
    const auto tokens = args.take_int({"--tokens"}, 0, 0, int64_t(1) << 30);
    const std::string positional = args.take_positional().value_or("");
    const std::string path = model_path(args, model_flags, positional);
    const selfextend::GgufVocabulary vocabulary = selfextend::load_gguf_vocabulary(path);
    if (vocabulary.vocabulary_only) {
        if (flags.given)
            throw UsageError("--group and --window need a model; '" + path +
                             "' holds only a vocabulary");
        print_vocabulary(path, *vocabulary.tokenizer);
        return 0;
    }
    const auto model = selfextend::Model::load(path, model_flags.load);
    const selfextend::ModelInfo& info = model->info();
    std::cout << "model         " << info.name
              << (info.chat_format == "plain" ? " (a base model: no chat template)"
                                              : " (a chat model, " + info.chat_format + ")")
              << "\n";
    if (!info.stated_name.empty() && info.stated_name != info.name)
        std::cout << "general.name  " << info.stated_name << "\n";
    std::cout << "file          " << info.path << " (" << format_mib(info.file_bytes) << ")\n"
              << "architecture  " << info.architecture << " (" << info.family << " graph)\n"
              << "parameters    " << format_count(info.parameter_count) << "\n"
              << "training window L  " << info.training_window << " tokens\n"
              << "dims          embedding " << info.embedding_length << ", " << info.layer_count
              << " layers, " << info.head_count << " heads (" << info.head_count_kv
              << " KV, head dim " << info.head_dim << "), FFN " << info.feed_forward_length
              << ", vocab " << info.vocab_size << "\n"
              << "tokenizer     " << describe_tokenizer(model->tokenizer()) << "\n"
              << "RoPE          base " << info.rope_freq_base << ", linear scale "
              << info.rope_scale << "\n"
              << "attention     " << describe_layers(info) << "\n"
              << "dtype mix     " << info.dtype_mix() << "\n"
              << "chat template " << info.chat_format
              << (info.chat_note.empty() ? "" : " (" + info.chat_note + ")") << "\n"
              << "weights       " << format_mib(info.weight_bytes) << "\n"
              << "device        " << info.device
              << (info.device_note.empty() ? "" : " (auto: " + info.device_note + ")") << "\n"
              << "CPU kernels   " << describe_cpu_kernels() << "\n"
              << "KV cache      ";
    // Per type and mode, as this model's backend stores it (Self-Extend keeps grouped keys too,
    // whatever G and W are).
    const selfextend::KvType types[] = {selfextend::KvType::F32, selfextend::KvType::F16,
                                        selfextend::KvType::Q8_0};
    const selfextend::AttentionMode modes[] = {selfextend::AttentionMode::vanilla(),
                                               selfextend::AttentionMode::self_extend(2, 1)};
    for (const auto& mode : modes) {
        std::cout << (mode.is_vanilla() ? "vanilla      " : "              Self-Extend  ");
        for (const auto type : types)
            std::cout << (type == types[0] ? "" : ", ") << selfextend::kv_type_name(type) << " "
                      << format_count(int64_t(model->kv_bytes_per_token(type, mode)));
        std::cout << " bytes per token\n                           L tokens:";
        for (const auto type : types)
            std::cout << (type == types[0] ? " " : ", ") << selfextend::kv_type_name(type) << " "
                      << format_mib(model->kv_bytes_per_token(type, mode) *
                                    uint64_t(info.training_window));
        std::cout << "\n";
    }
    if (flags.given) {
        const int64_t L = info.training_window;
        int window = int(flags.window.value_or(L / 2));
        int group = 1;
        if (flags.group == "auto") {
            const selfextend::AttentionMode chosen =
                resolve_attention(flags, info, std::max<int64_t>(tokens, 1));
            group = chosen.group;
            if (!chosen.is_vanilla()) window = chosen.window;
        } else {
            group = int(parse_int(flags.group, "--group", 1, 1 << 20));
        }
        selfextend::validate(selfextend::AttentionMode::self_extend(group, window), L);
        std::cout << "Self-Extend   G=" << group << " W=" << window << ": capacity (L-W)*G+W = "
                  << format_count(selfextend::capacity(L, group, window)) << " tokens";
        if (info.sliding_window > 0) {
            std::cout << "; on the global layers " << layer_list(info.self_extend_layers)
                      << " only";
            if (window < info.sliding_window)
                std::cout << " (W < " << info.sliding_window
                          << ": the local layers still attend to their " << info.sliding_window
                          << " keys as trained)";
        }
        if (tokens > 0)
            std::cout << "; " << format_count(tokens) << " tokens "
                      << (tokens <= selfextend::capacity(L, group, window) ? "fit" : "do NOT fit")
                      << ", rule of thumb W+(N-W)/G < 2/3 L "
                      << (selfextend::rule_of_thumb_holds(L, group, window, tokens) ? "holds"
                                                                                    : "fails");
        std::cout << "\n";
        if (const std::string why = auto_reason(flags, info, tokens); tokens > 0 && !why.empty())
            std::cout << why << "\n";
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
    std::string positional_model;
    std::vector<std::string> positionals;
    while (auto positional = args.take_positional()) positionals.push_back(*positional);
    if (positionals.size() > (file ? 1u : 2u)) throw UsageError("tokenize: too many arguments");
    if (!positionals.empty() && (positionals.size() == 2 || file)) {
        positional_model = positionals.front();
        positionals.erase(positionals.begin());
    }
    std::string text;
    if (file) {
        // The file's bytes exactly: a tokenizer is checked on them as they are.
        text = read_file_bytes(*file);
        if (!selfextend::is_valid_utf8(text))
            std::cerr << "warning: '" << *file
                      << "' is not valid UTF-8; its bytes are tokenized as they are\n";
    } else {
        if (positionals.empty()) throw UsageError("tokenize: give TEXT or --file F");
        text = positionals.front();
    }
    // Only the tokenizer is needed: vocabulary-only files work, and no weights are loaded.
    const selfextend::GgufVocabulary vocabulary =
        selfextend::load_gguf_vocabulary(model_path(args, model_flags, positional_model));
    const selfextend::Tokenizer& tokenizer = *vocabulary.tokenizer;
    const auto started = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = tokenizer.encode(text, !no_bos && tokenizer.adds_bos());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (count_only) {
        // fall through to the summary only
    } else if (ids_only) {
        for (size_t k = 0; k < ids.size(); ++k) std::cout << (k ? " " : "") << ids[k];
        std::cout << "\n";
    } else {
        for (const int32_t id : ids) std::cout << id << "\t" << tokenizer.piece(id) << "\n";
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
