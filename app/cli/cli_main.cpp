// selfextend-cli: the engine from the command line. Each command parses its flags, calls the
// engine and prints; errors are one line on stderr and a non-zero exit status.
#include <cstring>
#include <iostream>
#include <string_view>

#include "common.h"
#include "selfextend/document.h"

namespace {

struct Command {
    std::string_view name;
    cli::CommandFunction run;
    std::string_view usage;
};

constexpr Command kCommands[] = {
    {"info", cli::command_info,
     "info [MODEL.gguf] [--group G|auto --window W [--tokens N]]\n"
     "  architecture, parameters, training window L, dims, dtype mix, file size, KV bytes per\n"
     "  token for each --kv-type; with --group the Self-Extend capacity (L-W)*G+W (and whether\n"
     "  N tokens fit)"},
    {"tokenize", cli::command_tokenize,
     "tokenize [MODEL.gguf] (TEXT | --file F) [--ids-only | --count] [--no-bos]\n"
     "  token ids and pieces; the count and speed go to stderr"},
    {"quantize", cli::command_quantize,
     "quantize INPUT.gguf OUTPUT.gguf TYPE\n"
     "  rewrites a model with its matrices as TYPE, from any type it reads: F32 (an exact copy),\n"
     "  F16, BF16, Q8_0, Q6_K, Q5_K, Q5_1, Q5_0, Q4_K, Q4_1, Q4_0, Q3_K or Q2_K"},
    {"generate", cli::command_generate,
     "generate [-m MODEL] (-p TEXT | -f FILE) [-n N] [--group G|auto --window W]\n"
     "         [--temp T --top-k K --top-p P --min-p M --repeat-penalty R --seed S]\n"
     "  streams the continuation, then prompt tokens, prefill and decode tok/s"},
    {"ask", cli::command_ask,
     "ask [-m MODEL] --doc FILE (--question Q | --interactive) [-n N] [--group G|auto --window "
     "W]\n"
     "    [--compare] [--template plain|chatml|llama2|llama3|mistral|gemma|phi3] [--system TEXT]\n"
     "    [--no-cache] [--sources N]\n"
     "  answers a question about a document (Self-Extend with Auto's G and W when the "
     "document\n"
     "  is longer than the training window) in the model's chat template (recognised from "
     "the file,\n"
     "  or --template); --compare also runs vanilla. The document's KV is kept on disk\n"
     "  ($SE_CACHE_DIR, else ~/.cache/selfextend-studio/kv): asking again prefills only the "
     "question;\n"
     "  --interactive reads follow-up questions from stdin, one per line; --sources N lists up\n"
     "  to N passages each answer most likely came from (those holding its words, then by\n"
     "  attention)"},
    {"passkey", cli::command_passkey,
     "passkey [-m MODEL] --lengths 1024,2048 [--depths 0.1,0.5,0.9] [--trials N] [--seed S]\n"
     "        [--group G|auto (--window W | --windows W1,W2,...)] [--no-vanilla] [--json]\n"
     "        [--details]\n"
     "  pass-key retrieval accuracy, vanilla vs Self-Extend (default: Auto's G and W);\n"
     "  --windows compares several neighbour windows in one run, vanilla once; --no-vanilla\n"
     "  leaves vanilla out (past the window each of its trials is a whole prefill to fail)"},
    {"probe", cli::command_probe,
     "probe [-m MODEL] --doc FILE [--depths 0.1,0.3,0.5,0.7,0.9] [--candidates G:W,...|vanilla]\n"
     "      [--template NAME] [--system TEXT] [--max-tokens N] [--json] [--details]\n"
     "  plants an invented fact in your own document at each depth and asks about each in the\n"
     "  chat format, under Auto's G and W and the runner-up of the measured map (or\n"
     "  --candidates); each setting reads the document once; recommends the one that states most"},
    {"perplexity", cli::command_perplexity,
     "perplexity [-m MODEL] --file F --lengths 512,1024,2048 [--windows K] [--group G|auto "
     "--window W] [--json]\n"
     "  perplexity over K consecutive windows of L tokens (BOS first when the model uses one),\n"
     "  vanilla vs Self-Extend"},
    {"make-document", cli::command_make_document,
     "make-document [-m MODEL] --out FILE [--tokens N] [--depth D] [--needle SENTENCE]\n"
     "  writes a sample document: filler text of about N tokens with the needle at depth D"},
    {"logits", cli::command_logits,
     "logits [-m MODEL] (--tokens \"1 2 3\" | --tokens-file F | --prompt-file F) [--group G "
     "--window W]\n"
     "       [--last K] --out FILE\n"
     "  float32 little-endian logits of every position, [n_tokens x vocab] (no BOS added to "
     "the ids\n"
     "  of --tokens or --tokens-file, white-space separated); --last K: only the last K rows"},
    {"bench", cli::command_bench,
     "bench [-m MODEL] [--prompt N] [--gen N] [--threads T] [--group G --window W] [--repeat R] "
     "[--json]\n"
     "  prefill and decode tok/s, vanilla and Self-Extend in the same run"},
};

constexpr std::string_view kCommonOptions =
    "common options: -m/--model FILE.gguf (default: the bundled demo model), -t/--threads N,\n"
    "                --device auto|cpu|cuda, -h/--help;\n"
    "                --kv-type f32|f16|q8_0 for the commands that run the model (generate, ask,\n"
    "                passkey, perplexity, logits, bench): how the KV cache is stored (default f16)";

void print_usage(std::ostream& out) {
    out << "selfextend-cli: long-document inference with Self-Extend attention\n\nusage: "
           "selfextend-cli COMMAND [options] | --help | --version\n\n";
    for (const Command& command : kCommands) out << command.usage << "\n\n";
    out << kCommonOptions << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage(std::cerr);
        return 2;
    }
    const std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_usage(std::cout);
        return 0;
    }
    // What a package manager or a bug report asks first; the project version from CMake.
    if (name == "--version") {
        std::cout << "selfextend-cli " << SE_VERSION << "\n";
        return 0;
    }
    for (const Command& command : kCommands) {
        if (command.name != name) continue;
        cli::Arguments args(std::vector<std::string>(argv + 2, argv + argc));
        if (args.has_help()) {
            std::cout << "usage: selfextend-cli " << command.usage << "\n\n";
            if (std::string_view(command.usage).find("--doc") != std::string_view::npos)
                std::cout << "documents: " << selfextend::document_extensions_phrase()
                          << " files (read by their extension); any other file as plain text\n\n";
            std::cout << kCommonOptions << "\n";
            return 0;
        }
        try {
            return command.run(args);
        } catch (const cli::UsageError& e) {
            std::cerr << "selfextend-cli " << name << ": " << e.what() << " (see --help)\n";
            return 2;
        } catch (const selfextend::Cancelled&) {
            std::cerr << "selfextend-cli " << name << ": cancelled\n";
            return 130;
        } catch (const std::exception& e) {
            std::cerr << "selfextend-cli " << name << ": error: " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "selfextend-cli: unknown command '" << name << "' (see --help)\n";
    return 2;
}
