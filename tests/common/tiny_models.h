// Tiny models of every family the engine runs, with random float32 weights: small enough that
// the float64 forward pass of reference_forward.h checks all their logits in milliseconds, and
// written to GGUF with the metadata keys and tensor names of the families' published converters
// (llama.cpp's convert_hf_to_gguf conventions), so the engine loads them as it loads real files.
//
// Weights are drawn so that activations stay of order 1: matrices N(0, 1/fan_in), norm weights
// near 1, biases small. Every family keeps its own quirks: GQA, head dims other than
// embedding / heads, partial rotary dims, fused projections, tied or untied output.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"

namespace testing {

enum class TinyArch { Llama, LlamaBpe, Mistral, Gemma3, Gemma, Qwen2, Phi2, Phi2Split, Phi3 };

inline constexpr TinyArch kTinyArchs[] = {
    TinyArch::Llama, TinyArch::LlamaBpe, TinyArch::Mistral,   TinyArch::Gemma3, TinyArch::Gemma,
    TinyArch::Qwen2, TinyArch::Phi2,     TinyArch::Phi2Split, TinyArch::Phi3,
};

inline const char* tiny_arch_name(TinyArch arch) {
    switch (arch) {
        case TinyArch::Llama:
            return "llama";
        case TinyArch::LlamaBpe:
            return "llama-bpe";
        case TinyArch::Mistral:
            return "mistral";
        case TinyArch::Gemma3:
            return "gemma3";
        case TinyArch::Gemma:
            return "gemma";
        case TinyArch::Qwen2:
            return "qwen2";
        case TinyArch::Phi2:
            return "phi2";
        case TinyArch::Phi2Split:
            return "phi2-split";
        case TinyArch::Phi3:
            return "phi3";
    }
    return "?";
}

struct TinyTensor {
    std::string name;
    std::vector<int64_t> dims;  // GGUF order: dims[0] is the row length
    std::vector<float> values;

    int64_t cols() const { return dims[0]; }
    int64_t rows() const { return dims.size() > 1 ? dims[1] : 1; }
};

// The tokenizer block of the file. Its content matters only for loading: the tests feed ids.
struct TinyVocabulary {
    std::string model;  // "llama" (SentencePiece) or "gpt2" (byte-level BPE)
    std::string pre;    // BPE pre-tokenizer name
    std::vector<std::string> tokens;
    std::vector<float> scores;  // SentencePiece only
    std::vector<int32_t> types;
    std::vector<std::string> merges;  // BPE only
    int32_t bos_id = -1;
    int32_t eos_id = -1;
    bool add_bos = true;
};

struct TinyModel {
    std::string architecture;  // general.architecture
    int64_t context_length = 32;
    int embedding_length = 0;
    int block_count = 0;
    int feed_forward_length = 0;
    int head_count = 0;
    int head_count_kv = 0;
    int head_dim = 0;
    int rope_dimensions = 0;  // leading dimensions of each head that rotate
    double rope_freq_base = 10000.0;
    double norm_eps = 1e-5;
    // Gemma 3: layer l is a sliding-window layer when l % sliding_window_period is not the last
    // of its period; those see keys j with i - j < sliding_window and rotate with base 1e4.
    int sliding_window = 0;
    int sliding_window_period = 6;
    double rope_freq_base_local = 10000.0;
    int vocab_size = 0;
    TinyVocabulary vocabulary;
    std::vector<TinyTensor> tensors;

    const TinyTensor* find(const std::string& name) const {
        for (const TinyTensor& t : tensors)
            if (t.name == name) return &t;
        return nullptr;
    }
    const TinyTensor& tensor(const std::string& name) const {
        const TinyTensor* t = find(name);
        if (!t) throw std::runtime_error("tiny model: no tensor " + name);
        return *t;
    }
    bool is_local(int layer) const {
        return sliding_window > 0 && layer % sliding_window_period < sliding_window_period - 1;
    }
};

namespace tiny_detail {

// The byte-level BPE alphabet (GPT-2): printable bytes stand for themselves, the others for the
// code points from U+0100 on, in byte order.
inline std::string byte_level_piece(int byte) {
    const auto printable = [](int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t cp = uint32_t(byte);
    if (!printable(byte)) {
        cp = 256;
        for (int b = 0; b < byte; ++b) cp += !printable(b);
    }
    std::string utf8;
    if (cp < 0x80) {
        utf8 += char(cp);
    } else {
        utf8 += char(0xC0 | (cp >> 6));
        utf8 += char(0x80 | (cp & 0x3F));
    }
    return utf8;
}

// SentencePiece: <unk> <s> </s>, the 256 byte pieces, then a few words and their parts.
inline TinyVocabulary sentencepiece_vocabulary() {
    TinyVocabulary v{.model = "llama", .bos_id = 1, .eos_id = 2, .add_bos = true};
    const auto add = [&](std::string piece, float score, int32_t type) {
        v.tokens.push_back(std::move(piece));
        v.scores.push_back(score);
        v.types.push_back(type);
    };
    add("<unk>", 0, 2);
    add("<s>", 0, 3);
    add("</s>", 0, 3);
    for (int b = 0; b < 256; ++b) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        add(hex, 0, 6);
    }
    const char* pieces[] = {"\u2581the", "\u2581a", "\u2581t", "he", "th", "in",       "er", "on",
                            "\u2581",    "t",       "h",       "e",  "a",  "i",        "n",  "r",
                            "o",         "s",       "\u2581k", "k",  "y",  "\u2581key"};
    float score = -1;
    for (const char* piece : pieces) add(piece, score--, 1);
    return v;
}

// Byte-level BPE: the 256 byte characters, a few merges, and an end-of-text token.
inline TinyVocabulary bpe_vocabulary(const std::string& pre) {
    TinyVocabulary v{.model = "gpt2", .pre = pre, .add_bos = false};
    for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_level_piece(b));
    v.merges = {"\u0120 t", "h e", "i n", "e r", "\u0120 a", "o n", "\u0120t he"};
    for (const std::string& merge : v.merges) {
        const size_t space = merge.find(' ');
        v.tokens.push_back(merge.substr(0, space) + merge.substr(space + 1));
    }
    v.types.assign(v.tokens.size(), 1);
    v.tokens.push_back("<|endoftext|>");
    v.types.push_back(3);
    v.bos_id = v.eos_id = int32_t(v.tokens.size() - 1);
    return v;
}

// Draws the weights of one model, tensor by tensor.
class WeightDrawer {
  public:
    WeightDrawer(TinyModel& model, uint32_t seed) : model_(model), rng_(seed) {}

    // A matrix of `rows` outputs by `cols` inputs, N(0, 1/cols).
    void matrix(const std::string& name, int64_t cols, int64_t rows, double scale = 1.0) {
        add(name, {cols, rows}, 0.0, scale / std::sqrt(double(cols)));
    }
    // Norm weights near 1.
    void norm(const std::string& name, int64_t n) { add(name, {n}, 1.0, 0.1); }
    // Small biases.
    void bias(const std::string& name, int64_t n) { add(name, {n}, 0.0, 0.05); }

  private:
    void add(const std::string& name, std::vector<int64_t> dims, double mean, double stddev) {
        std::normal_distribution<double> normal(mean, stddev);
        int64_t count = 1;
        for (const int64_t d : dims) count *= d;
        std::vector<float> values(static_cast<size_t>(count));
        for (float& value : values) value = float(normal(rng_));
        model_.tensors.push_back({name, std::move(dims), std::move(values)});
    }

    TinyModel& model_;
    std::mt19937 rng_;
};

}  // namespace tiny_detail

// The shapes of each family's tiny model (head dims are multiples of 16, as the CPU backend
// needs), its vocabulary, and random weights under the converter's tensor names.
inline TinyModel make_tiny_model(TinyArch arch, uint32_t seed) {
    using namespace tiny_detail;
    TinyModel m;
    bool tied = false;
    // embedding, layers, heads, KV heads, head dim, FFN, RoPE base, RMS eps.
    const auto shape = [&](const char* architecture, int e, int layers, int heads, int kv, int d,
                           int ffn, double base, double eps) {
        m.architecture = architecture;
        m.embedding_length = e;
        m.block_count = layers;
        m.head_count = heads;
        m.head_count_kv = kv;
        m.head_dim = d;
        m.rope_dimensions = d;
        m.feed_forward_length = ffn;
        m.rope_freq_base = base;
        m.norm_eps = eps;
    };
    switch (arch) {
        case TinyArch::Llama:
            shape("llama", 64, 2, 4, 2, 16, 128, 10000.0, 1e-5);
            m.vocabulary = sentencepiece_vocabulary();
            break;
        case TinyArch::LlamaBpe:  // Llama 3 style: byte-level BPE, a large base, tied output
            shape("llama", 128, 2, 4, 2, 32, 192, 500000.0, 1e-5);
            m.vocabulary = bpe_vocabulary("llama-bpe");
            m.vocabulary.add_bos = true;
            tied = true;
            break;
        case TinyArch::Mistral:  // a llama file: GQA 4:1, no sliding window under Self-Extend
            shape("llama", 64, 3, 4, 1, 16, 160, 1000000.0, 1e-5);
            m.vocabulary = sentencepiece_vocabulary();
            break;
        case TinyArch::Gemma3:  // head dim 32 on an embedding of 64: the file states key_length
            shape("gemma3", 64, 6, 4, 2, 32, 128, 1000000.0, 1e-6);
            m.sliding_window = 8;
            m.vocabulary = sentencepiece_vocabulary();
            tied = true;
            break;
        case TinyArch::Gemma:  // Gemma 2B style: one KV head
            shape("gemma", 64, 2, 4, 1, 32, 128, 10000.0, 1e-6);
            m.vocabulary = sentencepiece_vocabulary();
            tied = true;
            break;
        case TinyArch::Qwen2:
            shape("qwen2", 64, 2, 4, 2, 16, 128, 1000000.0, 1e-6);
            m.vocabulary = bpe_vocabulary("qwen2");
            tied = true;
            break;
        case TinyArch::Phi2:
        case TinyArch::Phi2Split:  // multi-head, half the head dims rotate
            shape("phi2", 128, 2, 4, 4, 32, 256, 10000.0, 1e-5);
            m.rope_dimensions = 16;
            m.vocabulary = bpe_vocabulary("gpt2");
            break;
        case TinyArch::Phi3:
            shape("phi3", 64, 2, 4, 2, 16, 128, 10000.0, 1e-5);
            m.vocabulary = sentencepiece_vocabulary();
            break;
    }
    m.vocab_size = int(m.vocabulary.tokens.size());

    WeightDrawer draw(m, seed);
    const int64_t e = m.embedding_length, f = m.feed_forward_length;
    const int64_t q = int64_t(m.head_count) * m.head_dim,
                  kv = int64_t(m.head_count_kv) * m.head_dim;
    const bool gemma = m.architecture == "gemma" || m.architecture == "gemma3";
    const bool phi2 = m.architecture == "phi2";
    // Gemma scales the embedding by sqrt(e) on the way in: store it N(0, 1/e).
    draw.matrix("token_embd.weight", e, m.vocab_size, gemma ? 1.0 : std::sqrt(double(e)));
    for (int l = 0; l < m.block_count; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        draw.norm(p + "attn_norm.weight", e);
        if (phi2) draw.bias(p + "attn_norm.bias", e);
        if (arch == TinyArch::Phi2 || arch == TinyArch::Phi3) {  // fused rows: q, then k, then v
            draw.matrix(p + "attn_qkv.weight", e, q + 2 * kv);
            if (phi2) draw.bias(p + "attn_qkv.bias", q + 2 * kv);
        } else {
            draw.matrix(p + "attn_q.weight", e, q);
            draw.matrix(p + "attn_k.weight", e, kv);
            draw.matrix(p + "attn_v.weight", e, kv);
            if (phi2 || m.architecture == "qwen2") {
                draw.bias(p + "attn_q.bias", q);
                draw.bias(p + "attn_k.bias", kv);
                draw.bias(p + "attn_v.bias", kv);
            }
        }
        if (m.architecture == "gemma3") {
            draw.norm(p + "attn_q_norm.weight", m.head_dim);
            draw.norm(p + "attn_k_norm.weight", m.head_dim);
        }
        draw.matrix(p + "attn_output.weight", q, e);
        if (phi2) draw.bias(p + "attn_output.bias", e);
        if (m.architecture == "gemma3") draw.norm(p + "post_attention_norm.weight", e);
        if (phi2) {  // the MLP reads the attention's input norm: no norm of its own
            draw.matrix(p + "ffn_up.weight", e, f);
            draw.bias(p + "ffn_up.bias", f);
            draw.matrix(p + "ffn_down.weight", f, e);
            draw.bias(p + "ffn_down.bias", e);
            continue;
        }
        draw.norm(p + "ffn_norm.weight", e);
        if (m.architecture == "phi3") {  // fused rows: gate, then up
            draw.matrix(p + "ffn_up.weight", e, 2 * f);
        } else {
            draw.matrix(p + "ffn_gate.weight", e, f);
            draw.matrix(p + "ffn_up.weight", e, f);
        }
        draw.matrix(p + "ffn_down.weight", f, e);
        if (m.architecture == "gemma3") draw.norm(p + "post_ffw_norm.weight", e);
    }
    draw.norm("output_norm.weight", e);
    if (phi2) draw.bias("output_norm.bias", e);
    if (!tied) draw.matrix("output.weight", e, m.vocab_size);
    if (phi2) draw.bias("output.bias", m.vocab_size);
    return m;
}

// The model as a GGUF file of F32 tensors, with the metadata keys its family's converter writes.
inline void write_gguf(const TinyModel& m, const std::string& path) {
    using selfextend::DType;
    selfextend::GgufWriter w;
    const std::string a = m.architecture + ".";
    w.set_string("general.architecture", m.architecture);
    w.set_string("general.name", "tiny " + m.architecture);
    w.set_uint32(a + "context_length", uint32_t(m.context_length));
    w.set_uint32(a + "embedding_length", uint32_t(m.embedding_length));
    w.set_uint32(a + "block_count", uint32_t(m.block_count));
    w.set_uint32(a + "feed_forward_length", uint32_t(m.feed_forward_length));
    w.set_uint32(a + "attention.head_count", uint32_t(m.head_count));
    w.set_uint32(a + "attention.head_count_kv", uint32_t(m.head_count_kv));
    if (m.architecture == "phi2")
        w.set_float32(a + "attention.layer_norm_epsilon", float(m.norm_eps));
    else
        w.set_float32(a + "attention.layer_norm_rms_epsilon", float(m.norm_eps));
    if (m.architecture == "gemma" || m.architecture == "gemma3") {
        w.set_uint32(a + "attention.key_length", uint32_t(m.head_dim));
        w.set_uint32(a + "attention.value_length", uint32_t(m.head_dim));
    } else if (m.head_dim * m.head_count != m.embedding_length) {
        throw std::runtime_error("tiny model: head dim must be embedding / heads");
    }
    if (m.architecture == "llama" || m.architecture == "phi2" || m.architecture == "phi3")
        w.set_uint32(a + "rope.dimension_count", uint32_t(m.rope_dimensions));
    if (m.architecture != "gemma" && m.architecture != "phi2")  // they use the default 1e4
        w.set_float32(a + "rope.freq_base", float(m.rope_freq_base));
    if (m.sliding_window > 0) {
        w.set_uint32(a + "attention.sliding_window", uint32_t(m.sliding_window));
        if (m.sliding_window_period != 6)
            w.set_uint32(a + "attention.sliding_window_pattern", uint32_t(m.sliding_window_period));
    }
    if (m.architecture == "llama") w.set_uint32(a + "vocab_size", uint32_t(m.vocab_size));

    const TinyVocabulary& v = m.vocabulary;
    w.set_string("tokenizer.ggml.model", v.model);
    if (!v.pre.empty()) w.set_string("tokenizer.ggml.pre", v.pre);
    w.set_string_array("tokenizer.ggml.tokens", v.tokens);
    if (!v.scores.empty()) w.set_float32_array("tokenizer.ggml.scores", v.scores);
    w.set_int32_array("tokenizer.ggml.token_type", v.types);
    if (!v.merges.empty()) w.set_string_array("tokenizer.ggml.merges", v.merges);
    if (v.bos_id >= 0) w.set_uint32("tokenizer.ggml.bos_token_id", uint32_t(v.bos_id));
    if (v.eos_id >= 0) w.set_uint32("tokenizer.ggml.eos_token_id", uint32_t(v.eos_id));
    w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);

    for (const TinyTensor& t : m.tensors)
        w.add_tensor_from_floats(t.name, DType::F32, t.dims, t.values);
    w.write(path);
}

}  // namespace testing
