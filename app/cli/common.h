// What the selfextend-cli commands share: model loading flags, the attention flags and output.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arguments.h"
#include "selfextend/engine.h"

namespace cli {

using CommandFunction = int (*)(Arguments&);

// -m/--model (default: the bundled demo model), --threads, --device. Commands take these first,
// so that an option's value is never mistaken for a positional argument.
struct ModelFlags {
    std::string path;
    selfextend::LoadOptions load;
};
ModelFlags take_model_flags(Arguments& args);
// Checks that every argument was used, then loads (positional_model when no -m was given).
std::shared_ptr<selfextend::Model> load_model(const Arguments& args, const ModelFlags& flags,
                                              const std::string& positional_model = {});
std::string default_model_path();

// --group G|auto and --window W. "auto" chooses G and W together as the studio's Auto does
// (selfextend::choose_attention), or only G for a given --window, and throws the explanation
// when nothing holds n_tokens. Without --group the mode is vanilla; a number without --window
// takes Auto's W (selfextend::auto_window, L/8).
struct AttentionFlags {
    std::string group = "1";
    std::optional<int64_t> window;
    bool given = false;
};
AttentionFlags take_attention_flags(Arguments& args);
// Why Auto chose its G and W ("Auto: W = …"), when --group auto chose both; empty otherwise.
std::string auto_reason(const AttentionFlags& flags, const selfextend::ModelInfo& info,
                        int64_t n_tokens);
selfextend::AttentionMode resolve_attention(const AttentionFlags& flags,
                                            const selfextend::ModelInfo& info, int64_t n_tokens);

selfextend::SamplingParams take_sampling(Arguments& args);

// --kv-type f32|f16|q8_0: how sessions store their KV cache (default f16).
selfextend::KvType take_kv_type(Arguments& args);

// Reads a whole text file (documents, prompts), with the engine's checks.
std::string read_text_file(const std::string& path);
// Reads a file's bytes exactly as they are: no line-ending or encoding changes (tokenize).
std::string read_file_bytes(const std::string& path);

// Output helpers. JSON objects keep their fields in the order written, for people reading them.
using Json = nlohmann::ordered_json;
// {"mode": "vanilla"|"self-extend", "group": G, "window": W}: the fields every result starts with.
Json json_mode_fields(const selfextend::AttentionMode& mode);
// One line of JSON on stdout: doubles in full (shortest round-trip) precision, NaN and infinity
// as null, bytes that are not UTF-8 (a model's name, say) replaced rather than thrown on.
void print_json(const Json& value);
std::string format_count(int64_t n);                                  // 12 345
void print_table(const std::vector<std::vector<std::string>>& rows);  // first row: header

// Command entry points.
int command_info(Arguments& args);
int command_tokenize(Arguments& args);
int command_generate(Arguments& args);
int command_ask(Arguments& args);
int command_logits(Arguments& args);
int command_bench(Arguments& args);
int command_passkey(Arguments& args);
int command_probe(Arguments& args);
int command_perplexity(Arguments& args);
int command_make_document(Arguments& args);
int command_quantize(Arguments& args);

}  // namespace cli
