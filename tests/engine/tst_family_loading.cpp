// Loading the families the engine runs besides llama and gemma3 (qwen2, gemma, phi2, phi3, and
// the Llama-3 and Mistral flavours of llama) from tiny GGUFs written here with the tensor names
// and metadata keys of llama.cpp's converter: what info reports, the errors that name an unknown
// architecture or a missing tensor, what the CUDA graph refuses and why, and self-consistency
// checks that need no reference: a fused tensor gives the logits of the same weights split,
// decode gives prefill's logits, and the layer observer's last residual stream gives the logits
// through the output norm and matrix (in float64 here). The logits themselves are checked against
// a float64 reference forward pass in tst_families.cpp.
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/cuda_graph_support.h"
#include "engine_internals.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/hyper_params.h"
#include "model/model_weights.h"
#include "selfextend/engine.h"
#include "selfextend/error.h"
#include "test_paths.h"
#include "vocab_cases.h"

using namespace selfextend;

namespace {

// The shape and layout of one tiny model. head_dim 0: embedding / heads, not stated in the file.
struct Spec {
    std::string architecture = "llama";
    int embedding = 64;
    int layers = 2;
    int heads = 4;
    int kv_heads = 2;
    int head_dim = 0;
    int rope_dimensions = 0;  // 0: not stated (the whole head rotates)
    int ffn = 96;
    int sliding_window = 0;           // <arch>.attention.sliding_window when > 0
    std::string tokenizer = "llama";  // "llama" (SentencePiece) or "gpt2" (byte-level BPE)
    std::string pre;                  // tokenizer.ggml.pre for BPE
    bool fused_qkv = false;           // one attn_qkv tensor (Phi) instead of attn_q/k/v
    bool fused_gate_up = false;       // Phi-3: one ffn_up of gate rows, then up rows
    bool tied_output = false;         // no output.weight
    // A real vocabulary: the tokenizer.* keys of this GGUF replace the tiny vocabulary.
    std::string vocabulary_file;

    int head_size() const { return head_dim ? head_dim : embedding / heads; }
    int q_dim() const { return heads * head_size(); }
    int kv_dim() const { return kv_heads * head_size(); }
    bool layer_norm() const { return architecture == "phi2"; }
    bool qkv_bias() const { return architecture == "phi2" || architecture == "qwen2"; }
    bool phi2() const { return architecture == "phi2"; }
};

struct Tensor {
    std::vector<int64_t> dims;  // GGUF order: dims[0] is the row length
    std::vector<float> values;
};

// SentencePiece: <unk> <s> </s>, the byte pieces and a few words.
void write_sentencepiece(GgufWriter& w) {
    std::vector<std::string> tokens{"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types{2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        tokens.push_back(hex);
        types.push_back(6);
    }
    for (const char* piece : {"\u2581the", "\u2581a", "t", "h", "e", "a"}) {
        tokens.push_back(piece);
        types.push_back(1);
    }
    std::vector<float> scores(tokens.size());
    for (size_t k = 0; k < scores.size(); ++k) scores[k] = -float(k);
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_float32_array("tokenizer.ggml.scores", scores);
    w.set_int32_array("tokenizer.ggml.token_type", types);
    w.set_uint32("tokenizer.ggml.bos_token_id", 1);
    w.set_uint32("tokenizer.ggml.eos_token_id", 2);
}

// Byte-level BPE: the characters GPT-2's byte table gives printable ASCII (themselves) and the
// whitespace bytes (U+0100 + byte), two merges and an end-of-text token.
void write_bpe(GgufWriter& w, const std::string& pre) {
    std::vector<std::string> tokens;
    for (char c = '!'; c <= '~'; ++c) tokens.push_back(std::string(1, c));
    for (const char* space : {"\u0109", "\u010A", "\u010D", "\u0120"}) tokens.push_back(space);
    tokens.push_back("he");
    tokens.push_back("\u0120t");
    tokens.push_back("<|endoftext|>");
    std::vector<int32_t> types(tokens.size(), 1);
    types.back() = 3;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_int32_array("tokenizer.ggml.token_type", types);
    w.set_string_array("tokenizer.ggml.merges", {"h e", "\u0120 t"});
    w.set_uint32("tokenizer.ggml.bos_token_id", uint32_t(tokens.size() - 1));
    w.set_uint32("tokenizer.ggml.eos_token_id", uint32_t(tokens.size() - 1));
}

int vocabulary_size(const Spec& spec) {
    if (!spec.vocabulary_file.empty()) {
        const GgufFile file = GgufFile::open(spec.vocabulary_file);
        return int(file.find("tokenizer.ggml.tokens")->items.size());
    }
    return spec.tokenizer == "llama" ? 3 + 256 + 6 : 94 + 4 + 3;
}

// A tiny model of a spec: metadata, vocabulary and random weights under the converter's names.
// The weights are drawn per logical matrix (q, k, v, gate, up) and only concatenated when the
// file fuses them, so two specs that differ in fusion only hold the same model.
class TinyModel {
  public:
    explicit TinyModel(Spec spec, uint32_t seed = 7) : spec_(std::move(spec)), rng_(seed) {
        const int e = spec_.embedding, q = spec_.q_dim(), kv = spec_.kv_dim(), ff = spec_.ffn;
        const int vocab = vocabulary_size(spec_);
        matrix("token_embd.weight", e, vocab, 1.0);
        for (int l = 0; l < spec_.layers; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            norm(p + "attn_norm.weight", e);
            if (spec_.layer_norm()) bias(p + "attn_norm.bias", e);
            const Tensor wq = draw_matrix(e, q), wk = draw_matrix(e, kv), wv = draw_matrix(e, kv);
            if (spec_.fused_qkv) {
                tensors_.emplace_back(p + "attn_qkv.weight", stack({wq, wk, wv}));
            } else {
                tensors_.emplace_back(p + "attn_q.weight", wq);
                tensors_.emplace_back(p + "attn_k.weight", wk);
                tensors_.emplace_back(p + "attn_v.weight", wv);
            }
            if (spec_.qkv_bias()) {
                const Tensor bq = draw_bias(q), bk = draw_bias(kv), bv = draw_bias(kv);
                if (spec_.fused_qkv) {
                    tensors_.emplace_back(p + "attn_qkv.bias", stack({bq, bk, bv}));
                } else {
                    tensors_.emplace_back(p + "attn_q.bias", bq);
                    tensors_.emplace_back(p + "attn_k.bias", bk);
                    tensors_.emplace_back(p + "attn_v.bias", bv);
                }
            }
            matrix(p + "attn_output.weight", q, e);
            if (spec_.phi2()) {
                bias(p + "attn_output.bias", e);
                matrix(p + "ffn_up.weight", e, ff);
                bias(p + "ffn_up.bias", ff);
            } else {
                norm(p + "ffn_norm.weight", e);
                const Tensor gate = draw_matrix(e, ff), up = draw_matrix(e, ff);
                if (spec_.fused_gate_up) {
                    tensors_.emplace_back(p + "ffn_up.weight", stack({gate, up}));
                } else {
                    tensors_.emplace_back(p + "ffn_gate.weight", gate);
                    tensors_.emplace_back(p + "ffn_up.weight", up);
                }
            }
            matrix(p + "ffn_down.weight", ff, e);
            if (spec_.phi2()) bias(p + "ffn_down.bias", e);
        }
        norm("output_norm.weight", e);
        if (spec_.layer_norm()) bias("output_norm.bias", e);
        if (!spec_.tied_output) matrix("output.weight", e, vocab);
        if (spec_.phi2()) bias("output.bias", vocab);
    }

    const Spec& spec() const { return spec_; }
    const Tensor& tensor(const std::string& name) const {
        for (const auto& [n, t] : tensors_)
            if (n == name) return t;
        throw Error("test: no tensor " + name);
    }
    void drop(const std::string& name) {
        std::erase_if(tensors_, [&](const auto& entry) { return entry.first == name; });
    }
    void add(const std::string& name, Tensor t) { tensors_.emplace_back(name, std::move(t)); }

    // Extra metadata set after the defaults (and may replace them).
    std::vector<std::pair<std::string, GgufValue>> extra;

    std::vector<uint8_t> bytes() const {
        const std::string a = spec_.architecture + ".";
        GgufWriter w;
        w.set_string("general.architecture", spec_.architecture);
        w.set_string("general.name", "tiny " + spec_.architecture);
        w.set_uint32(a + "context_length", 256);
        w.set_uint32(a + "embedding_length", uint32_t(spec_.embedding));
        w.set_uint32(a + "block_count", uint32_t(spec_.layers));
        w.set_uint32(a + "feed_forward_length", uint32_t(spec_.ffn));
        w.set_uint32(a + "attention.head_count", uint32_t(spec_.heads));
        w.set_uint32(a + "attention.head_count_kv", uint32_t(spec_.kv_heads));
        if (spec_.head_dim) {
            w.set_uint32(a + "attention.key_length", uint32_t(spec_.head_dim));
            w.set_uint32(a + "attention.value_length", uint32_t(spec_.head_dim));
        }
        if (spec_.rope_dimensions)
            w.set_uint32(a + "rope.dimension_count", uint32_t(spec_.rope_dimensions));
        if (spec_.layer_norm())
            w.set_float32(a + "attention.layernorm_epsilon", 2e-5f);
        else
            w.set_float32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
        if (spec_.sliding_window)
            w.set_uint32(a + "attention.sliding_window", uint32_t(spec_.sliding_window));
        if (!spec_.vocabulary_file.empty()) {
            const GgufFile file = GgufFile::open(spec_.vocabulary_file);
            for (const auto& [key, value] : file.metadata())
                if (key.starts_with("tokenizer.")) w.set(key, value);
        } else if (spec_.tokenizer == "llama")
            write_sentencepiece(w);
        else
            write_bpe(w, spec_.pre);
        for (const auto& [key, value] : extra) w.set(key, value);
        for (const auto& [name, t] : tensors_)
            w.add_tensor_from_floats(name, DType::F32, t.dims, t.values);
        return w.to_bytes();
    }

    std::string write(const QTemporaryDir& dir, const QString& name) const {
        const std::string path = dir.filePath(name).toStdString();
        const std::vector<uint8_t> data = bytes();
        QFile file(QString::fromStdString(path));
        if (!file.open(QIODevice::WriteOnly) ||
            file.write(reinterpret_cast<const char*>(data.data()), qint64(data.size())) !=
                qint64(data.size()))
            throw Error("test: cannot write " + path);
        return path;
    }

  private:
    Tensor draw(std::vector<int64_t> dims, double mean, double spread) {
        std::uniform_real_distribution<double> uniform(mean - spread, mean + spread);
        int64_t count = 1;
        for (const int64_t d : dims) count *= d;
        Tensor t{std::move(dims), std::vector<float>(size_t(count))};
        for (float& v : t.values) v = float(uniform(rng_));
        return t;
    }
    // Rows of N inputs with variance about 1/N: activations stay of order one.
    Tensor draw_matrix(int cols, int rows, double scale = 1.0) {
        return draw({cols, rows}, 0.0, scale * std::sqrt(3.0 / cols));
    }
    Tensor draw_bias(int n) { return draw({n}, 0.0, 0.1); }
    void matrix(const std::string& name, int cols, int rows, double scale = 1.0) {
        tensors_.emplace_back(name, draw_matrix(cols, rows, scale));
    }
    void norm(const std::string& name, int n) { tensors_.emplace_back(name, draw({n}, 1.0, 0.2)); }
    void bias(const std::string& name, int n) { tensors_.emplace_back(name, draw_bias(n)); }
    // Matrices (or vectors) of one row length, their rows one after the other.
    static Tensor stack(const std::vector<Tensor>& parts) {
        Tensor t{parts[0].dims, {}};
        int64_t rows = 0;
        for (const Tensor& part : parts) {
            rows += part.dims.size() > 1 ? part.dims[1] : part.dims[0];
            t.values.insert(t.values.end(), part.values.begin(), part.values.end());
        }
        t.dims.back() = rows;
        return t;
    }

    Spec spec_;
    std::mt19937 rng_;
    std::vector<std::pair<std::string, Tensor>> tensors_;
};

// The families' tiny specs, with the quirk each must exercise.
Spec llama_spm() {
    return {};
}
Spec llama3() {  // Llama-3: a BPE vocabulary with the llama-bpe pre-tokenizer
    Spec s;
    s.tokenizer = "gpt2";
    s.pre = "llama-bpe";
    return s;
}
Spec mistral() {  // llama with a stated sliding window, which the engine ignores
    Spec s;
    s.sliding_window = 4096;
    return s;
}
Spec qwen2() {  // biases on q, k, v; tied output as in the small Qwen2 models
    Spec s;
    s.architecture = "qwen2";
    s.tokenizer = "gpt2";
    s.pre = "qwen2";
    s.tied_output = true;
    return s;
}
Spec gemma() {  // head dim stated (32 x 4 heads on an embedding of 64), tied output
    Spec s;
    s.architecture = "gemma";
    s.kv_heads = 1;
    s.head_dim = 32;
    s.tied_output = true;
    return s;
}
Spec phi2(bool fused) {  // LayerNorm, biases, partial rotary (16 of 32), fused or split q/k/v
    Spec s;
    s.architecture = "phi2";
    s.heads = 2;
    s.kv_heads = 2;
    s.rope_dimensions = 16;
    s.tokenizer = "gpt2";
    s.pre = "phi-2";
    s.fused_qkv = fused;
    return s;
}
Spec phi3(bool fused) {  // fused attn_qkv and gate/up, a stated sliding window
    Spec s;
    s.architecture = "phi3";
    s.kv_heads = 4;
    s.sliding_window = 2047;
    s.fused_qkv = fused;
    s.fused_gate_up = fused;
    return s;
}

LoadOptions cpu_options() {
    LoadOptions options;
    options.device = Device::Cpu;
    options.threads = 2;
    return options;
}

std::vector<int32_t> some_tokens(int vocab, int n) {
    std::vector<int32_t> tokens;
    for (int k = 0; k < n; ++k) tokens.push_back(int32_t((k * 37 + 5) % vocab));
    return tokens;
}

std::vector<float> prefill_logits(const Model& model, const std::vector<int32_t>& tokens,
                                  const AttentionMode& mode = AttentionMode::vanilla()) {
    SessionOptions options;
    options.context_length = int64_t(tokens.size());
    options.attention = mode;
    options.kv_type = KvType::F32;
    return model.new_session(options)->logits_for(tokens);
}

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return HUGE_VAL;
    double worst = 0;
    for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, double(std::abs(a[k] - b[k])));
    return worst;
}

double max_abs(const std::vector<float>& a) {
    double largest = 0;
    for (const float v : a) largest = std::max(largest, double(std::abs(v)));
    return largest;
}

}  // namespace

class TestFamilyLoading : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;

  private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void eachFamilyLoads_data() {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("tokenizer");
        QTest::addColumn<QString>("pre");
        QTest::newRow("llama (SentencePiece)") << 0 << "Llama"
                                               << "SentencePiece"
                                               << "";
        QTest::newRow("llama (Llama-3 BPE)") << 1 << "Llama"
                                             << "byte-level BPE"
                                             << "llama-bpe";
        QTest::newRow("mistral") << 2 << "Llama"
                                 << "SentencePiece"
                                 << "";
        QTest::newRow("qwen2") << 3 << "Qwen2"
                               << "byte-level BPE"
                               << "qwen2";
        QTest::newRow("gemma") << 4 << "Gemma"
                               << "SentencePiece"
                               << "";
        QTest::newRow("phi2 (fused qkv)") << 5 << "Phi-2"
                                          << "byte-level BPE"
                                          << "phi-2";
        QTest::newRow("phi2 (split qkv)") << 6 << "Phi-2"
                                          << "byte-level BPE"
                                          << "phi-2";
        QTest::newRow("phi3") << 7 << "Phi-3"
                              << "SentencePiece"
                              << "";
    }

    // What info reports for each family, and a forward pass whose decode matches its prefill.
    void eachFamilyLoads() {
        QFETCH(int, which);
        QFETCH(QString, family);
        QFETCH(QString, tokenizer);
        QFETCH(QString, pre);
        const Spec specs[] = {llama_spm(), llama3(),   mistral(),   qwen2(),
                              gemma(),     phi2(true), phi2(false), phi3(true)};
        const Spec& spec = specs[which];
        const TinyModel tiny(spec);
        const std::string path = tiny.write(dir_, QString("family-%1.gguf").arg(which));
        const auto model = Model::load(path, cpu_options());
        const ModelInfo& info = model->info();

        QCOMPARE(QString::fromStdString(info.architecture),
                 QString::fromStdString(spec.architecture));
        QCOMPARE(QString::fromStdString(info.family), family);
        QCOMPARE(info.layer_count, spec.layers);
        QCOMPARE(info.embedding_length, spec.embedding);
        QCOMPARE(info.head_count, spec.heads);
        QCOMPARE(info.head_count_kv, spec.kv_heads);
        QCOMPARE(info.head_dim, spec.head_size());
        QCOMPARE(info.feed_forward_length, spec.ffn);
        QCOMPARE(info.training_window, int64_t(256));
        QCOMPARE(info.vocab_size, vocabulary_size(spec));
        QCOMPARE(info.norm_eps, spec.layer_norm() ? 2e-5f : 1e-6f);
        // No family here has local layers: Self-Extend applies to every layer.
        QCOMPARE(info.sliding_window, 0);
        QCOMPARE(int(info.self_extend_layers.size()), spec.layers);
        QCOMPARE(info.ignored_sliding_window, spec.sliding_window);
        QCOMPARE(info.attention_note.empty(), spec.sliding_window == 0);
        QCOMPARE(QString::fromStdString(std::string(model->tokenizer().kind_name())), tokenizer);
        QCOMPARE(QString::fromStdString(std::string(model->tokenizer().pre_tokenizer_name())), pre);
        // A build without CUDA says so for --device auto; the graph's own refusal is checked
        // below with the pure function.
        QVERIFY(info.device.starts_with("CPU"));

        // Prefill and token-by-token decode agree (the cache, RoPE layout and biases are applied
        // alike on both paths), and the logits are finite and not all alike.
        const std::vector<int32_t> tokens = some_tokens(info.vocab_size, 24);
        const std::vector<float> prefill = prefill_logits(*model, tokens);
        QCOMPARE(prefill.size(), tokens.size() * size_t(info.vocab_size));
        for (const float v : prefill) QVERIFY(std::isfinite(v));
        QVERIFY(max_abs(prefill) > 0.1);
        SessionOptions options;
        options.context_length = int64_t(tokens.size());
        options.kv_type = KvType::F32;
        const auto session = model->new_session(options);
        double worst = 0;
        for (size_t t = 0; t < tokens.size(); ++t) {
            session->prefill(std::span(tokens).subspan(t, 1));
            const std::span<const float> row = session->last_logits();
            for (size_t k = 0; k < row.size(); ++k)
                worst = std::max(
                    worst, double(std::abs(row[k] - prefill[t * size_t(info.vocab_size) + k])));
        }
        QVERIFY2(worst < 1e-4 * std::max(1.0, max_abs(prefill)),
                 qPrintable(QString("decode vs prefill: %1").arg(worst)));

        // Self-Extend with a neighbour window longer than the text changes nothing.
        const std::vector<float> extended =
            prefill_logits(*model, tokens, AttentionMode::self_extend(4, 32));
        QVERIFY(max_abs_difference(extended, prefill) < 1e-4 * std::max(1.0, max_abs(prefill)));
    }

    // The same weights, fused into one tensor or split into several, give the same logits: the
    // row ranges of attn_qkv are q, k, v in that order, and Phi-3's ffn_up holds the gate first.
    void fusedTensorsMatchSplitOnes_data() {
        QTest::addColumn<QString>("architecture");
        QTest::newRow("phi2") << "phi2";
        QTest::newRow("phi3") << "phi3";
    }
    void fusedTensorsMatchSplitOnes() {
        QFETCH(QString, architecture);
        const bool is_phi2 = architecture == "phi2";
        const TinyModel fused(is_phi2 ? phi2(true) : phi3(true));
        const TinyModel split(is_phi2 ? phi2(false) : phi3(false));
        const auto a = Model::load(fused.write(dir_, architecture + "-fused.gguf"), cpu_options());
        const auto b = Model::load(split.write(dir_, architecture + "-split.gguf"), cpu_options());
        const std::vector<int32_t> tokens = some_tokens(a->info().vocab_size, 16);
        const std::vector<float> la = prefill_logits(*a, tokens), lb = prefill_logits(*b, tokens);
        QVERIFY(max_abs(la) > 0.1);
        QVERIFY2(max_abs_difference(la, lb) < 1e-5 * std::max(1.0, max_abs(la)),
                 qPrintable(QString("fused vs split: %1").arg(max_abs_difference(la, lb))));

        // Swapping the gate and up halves of Phi-3's fused ffn_up must change the logits (the
        // check above would not see an order that is wrong on both sides).
        if (!is_phi2) {
            TinyModel swapped(phi3(true));
            const Tensor& gate_up = swapped.tensor("blk.0.ffn_up.weight");
            Tensor other = gate_up;
            const size_t half = gate_up.values.size() / 2;
            std::rotate(other.values.begin(), other.values.begin() + long(half),
                        other.values.end());
            swapped.drop("blk.0.ffn_up.weight");
            swapped.add("blk.0.ffn_up.weight", other);
            const auto c = Model::load(swapped.write(dir_, "phi3-swapped.gguf"), cpu_options());
            QVERIFY(max_abs_difference(prefill_logits(*c, tokens), la) > 1e-3);
        }
    }

    // The observer sees every layer of every chunk with the chunk's first position, and its
    // last residual stream gives the logits through the output norm and matrix.
    void layerObserverSeesTheResidualStream_data() {
        QTest::addColumn<int>("which");
        QTest::newRow("qwen2 (RMSNorm, tied output)") << 0;
        QTest::newRow("phi2 (LayerNorm, output bias)") << 1;
    }
    void layerObserverSeesTheResidualStream() {
        QFETCH(int, which);
        const TinyModel tiny(which == 0 ? qwen2() : phi2(true));
        const Spec& spec = tiny.spec();
        const auto model =
            Model::load(tiny.write(dir_, QString("observed-%1.gguf").arg(which)), cpu_options());
        const int e = spec.embedding, vocab = model->info().vocab_size;
        SessionOptions options;
        options.context_length = 32;
        options.kv_type = KvType::F32;
        const auto session = model->new_session(options);

        struct Call {
            int layer;
            int64_t first, n;
        };
        std::vector<Call> calls;
        std::vector<float> last_residual;
        QVERIFY(detail::Internals::observe_layers(
            *session, [&](int layer, int64_t first, int64_t n, const float* residual) {
                calls.push_back({layer, first, n});
                if (layer == spec.layers - 1) last_residual.assign(residual, residual + n * e);
            }));
        const std::vector<int32_t> tokens = some_tokens(vocab, 11);
        session->prefill(std::span(tokens).first(10));
        session->prefill(std::span(tokens).last(1));
        QCOMPARE(int(calls.size()), 2 * spec.layers);
        for (int k = 0; k < 2 * spec.layers; ++k) {
            QCOMPARE(calls[size_t(k)].layer, k % spec.layers);
            QCOMPARE(calls[size_t(k)].first, k < spec.layers ? int64_t(0) : int64_t(10));
            QCOMPARE(calls[size_t(k)].n, k < spec.layers ? int64_t(10) : int64_t(1));
        }

        // The logits of the last token from its residual row, in float64.
        const std::vector<float>& w = tiny.tensor("output_norm.weight").values;
        std::vector<double> h(static_cast<size_t>(e));
        double mean = 0, squares = 0;
        if (spec.layer_norm())
            for (const float v : last_residual) mean += v / e;
        for (const float v : last_residual) squares += (v - mean) * (v - mean);
        const double scale = 1.0 / std::sqrt(squares / e + (spec.layer_norm() ? 2e-5 : 1e-6));
        for (int k = 0; k < e; ++k) {
            h[size_t(k)] = (last_residual[size_t(k)] - mean) * scale * w[size_t(k)];
            if (spec.layer_norm())
                h[size_t(k)] += tiny.tensor("output_norm.bias").values[size_t(k)];
        }
        const Tensor& output =
            tiny.tensor(spec.tied_output ? "token_embd.weight" : "output.weight");
        const std::span<const float> logits = session->last_logits();
        double worst = 0, largest = 0;
        for (int r = 0; r < vocab; ++r) {
            double y = spec.phi2() ? tiny.tensor("output.bias").values[size_t(r)] : 0.0;
            for (int k = 0; k < e; ++k) y += output.values[size_t(r * e + k)] * h[size_t(k)];
            worst = std::max(worst, std::abs(y - logits[size_t(r)]));
            largest = std::max(largest, std::abs(y));
        }
        QVERIFY(largest > 0.1);
        QVERIFY2(worst < 1e-4 * largest, qPrintable(QString("observer vs logits: %1").arg(worst)));

        // An empty observer stops the calls.
        QVERIFY(detail::Internals::observe_layers(*session, {}));
        session->prefill(std::span(tokens).first(1));
        QCOMPARE(int(calls.size()), 2 * spec.layers);
    }

    void unknownArchitectureIsNamed() {
        TinyModel tiny(llama_spm());
        tiny.extra.emplace_back("general.architecture", gguf_string("mamba"));
        const QString error =
            testing::error_of([&] { Model::load(tiny.write(dir_, "mamba.gguf"), cpu_options()); });
        QVERIFY2(error.contains("'mamba'"), qPrintable(error));
        QVERIFY2(error.contains("supported: llama, qwen2, gemma, gemma3, phi2, phi3"),
                 qPrintable(error));
        QCOMPARE(QString::fromStdString(supported_architectures()),
                 QString("llama, qwen2, gemma, gemma3, phi2, phi3"));
    }

    // Phi-3 with its real vocabulary (../shared/vocab, 32 064 pieces, 53 padding pieces typed
    // UNKNOWN besides <unk>): the model loads, its SentencePiece tokenizer gives the reference
    // tokenizer's ids for llama.cpp's test texts, and the chat format and end-of-turn token come
    // from the file.
    void phi3WithItsRealVocabulary() {
        SKIP_WITHOUT_SHARED();
        Spec spec = phi3(true);
        spec.vocabulary_file = testing::shared_path("vocab/ggml-vocab-phi-3.gguf").toStdString();
        spec.tied_output = true;  // 32 064 x 64 once is enough
        const auto model =
            Model::load(TinyModel(spec).write(dir_, "phi3-vocab.gguf"), cpu_options());
        QCOMPARE(model->info().vocab_size, 32064);
        QCOMPARE(QString::fromStdString(model->info().family), QString("Phi-3"));
        QCOMPARE(QString::fromStdString(std::string(model->tokenizer().kind_name())),
                 QString("SentencePiece"));
        QCOMPARE(QString::fromStdString(model->info().chat_format), QString("Phi-3"));
        const std::optional<int32_t> end = model->tokenizer().find_token("<|end|>");
        QVERIFY(end && *end == 32007);
        QVERIFY(model->ends_generation(32007));
        QVERIFY(model->ends_generation(32000));  // EOS, <|endoftext|>

        const testing::VocabCases cases =
            testing::read_vocab_cases(testing::shared_path("vocab/ggml-vocab-phi-3.gguf.inp"),
                                      testing::shared_path("vocab/ggml-vocab-phi-3.gguf.out"));
        QVERIFY2(cases.problem.isEmpty(), qPrintable(cases.problem));
        QVERIFY(cases.texts.size() > 40);
        QStringList mismatches;
        for (size_t k = 0; k < cases.texts.size(); ++k) {
            const std::vector<int32_t> ids = model->tokenize(cases.texts[k], false);
            if (ids != cases.ids[k]) mismatches << QString("case %1").arg(k);
        }
        QVERIFY2(mismatches.isEmpty(), qPrintable(mismatches.join(", ")));
    }

    // A missing tensor's error names it.
    void missingTensorIsNamed_data() {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("tensor");
        QTest::newRow("qwen2 q bias") << 0 << "blk.0.attn_q.bias";
        QTest::newRow("phi3 fused qkv") << 1 << "blk.1.attn_qkv.weight";
        QTest::newRow("phi3 fused gate/up") << 1 << "blk.0.ffn_up.weight";
        QTest::newRow("phi2 output bias") << 2 << "output.bias";
        QTest::newRow("phi2 norm bias") << 2 << "blk.1.attn_norm.bias";
        QTest::newRow("phi2 fused qkv bias") << 2 << "blk.0.attn_qkv.bias";
        QTest::newRow("gemma k") << 3 << "blk.1.attn_k.weight";
    }
    void missingTensorIsNamed() {
        QFETCH(int, which);
        QFETCH(QString, tensor);
        const Spec specs[] = {qwen2(), phi3(true), phi2(true), gemma()};
        TinyModel tiny(specs[which]);
        tiny.drop(tensor.toStdString());
        const QString error = testing::error_of(
            [&] { Model::load(tiny.write(dir_, "missing.gguf"), cpu_options()); });
        QVERIFY2(error.contains("missing tensor '" + tensor + "'"), qPrintable(error));
    }

    // A fused tensor of the wrong height names itself and the shape expected.
    void fusedShapeIsChecked() {
        TinyModel tiny(phi3(true));
        const Tensor& qkv = tiny.tensor("blk.0.attn_qkv.weight");
        Tensor shorter{{qkv.dims[0], qkv.dims[1] - 16}, {}};
        shorter.values.assign(qkv.values.begin(), qkv.values.end() - 16 * qkv.dims[0]);
        tiny.drop("blk.0.attn_qkv.weight");
        tiny.add("blk.0.attn_qkv.weight", shorter);
        const QString error =
            testing::error_of([&] { Model::load(tiny.write(dir_, "short.gguf"), cpu_options()); });
        QVERIFY2(error.contains("'blk.0.attn_qkv.weight' has shape [64, 176], expected [64, 192]"),
                 qPrintable(error));
    }

    // Phi-3's 128k models rescale RoPE by stored factors, which this engine does not do.
    void longRopeIsRefused() {
        TinyModel tiny(phi3(true));
        tiny.add("rope_factors_long.weight", Tensor{{8}, std::vector<float>(8, 1.0f)});
        const QString error = testing::error_of(
            [&] { Model::load(tiny.write(dir_, "longrope.gguf"), cpu_options()); });
        QVERIFY2(error.contains("rope_factors_long.weight") && error.contains("not supported"),
                 qPrintable(error));
    }

    // Mistral's window is stated in plain words: ignored, every key attended to.
    void mistralWindowIsStated() {
        const auto model =
            Model::load(TinyModel(mistral()).write(dir_, "mistral.gguf"), cpu_options());
        const ModelInfo& info = model->info();
        QCOMPARE(info.ignored_sliding_window, 4096);
        const QString note = QString::fromStdString(info.attention_note);
        QVERIFY2(note.contains("sliding window of 4096") && note.contains("ignores it") &&
                     note.contains("every layer attends to all keys"),
                 qPrintable(note));
        QCOMPARE(info.sliding_window, 0);
        // The same model without the key says nothing.
        const auto plain =
            Model::load(TinyModel(llama_spm()).write(dir_, "plain.gguf"), cpu_options());
        QVERIFY(plain->info().attention_note.empty());

        // The CLI's info prints the note on its attention line.
        if (!QFileInfo::exists(SE_CLI_PATH)) QSKIP("selfextend-cli is not built");
        QProcess cli;
        cli.start(SE_CLI_PATH, {"info", QString::fromStdString(info.path), "--device", "cpu"});
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 0);
        const QString out = QString::fromUtf8(cli.readAllStandardOutput());
        const qsizetype line = out.indexOf("attention ");
        QVERIFY2(line >= 0, qPrintable(out));
        QVERIFY2(out.mid(line, out.indexOf('\n', line) - line)
                     .contains("sliding window of 4096 keys; this engine ignores it"),
                 qPrintable(out));
    }

    // What the CUDA graph refuses, and why (the pure function make_backend asks before it tries
    // a GPU; --device auto keeps the reason as its note).
    void cudaRefusalNamesWhatIsMissing_data() {
        QTest::addColumn<int>("which");
        QTest::addColumn<QStringList>("needs");
        QTest::newRow("llama") << 0 << QStringList{};
        QTest::newRow("llama-3 bpe") << 1 << QStringList{};
        QTest::newRow("mistral") << 2 << QStringList{};
        QTest::newRow("qwen2") << 3
                               << QStringList{"biases on q, k and v", "half-split (NEOX) RoPE"};
        QTest::newRow("gemma") << 4
                               << QStringList{"half-split (NEOX) RoPE", "GELU",
                                              "scaled embeddings"};
        QTest::newRow("phi2") << 5
                              << QStringList{"LayerNorm", "parallel attention and MLP",
                                             "biases on the output projections", "an ungated MLP",
                                             "a fused attn_qkv tensor"};
        QTest::newRow("phi2 split") << 6 << QStringList{"LayerNorm", "biases on q, k and v"};
        QTest::newRow("phi3") << 7
                              << QStringList{"half-split (NEOX) RoPE", "a fused attn_qkv tensor",
                                             "a fused gate/up tensor"};
    }
    void cudaRefusalNamesWhatIsMissing() {
        QFETCH(int, which);
        QFETCH(QStringList, needs);
        const Spec specs[] = {llama_spm(), llama3(),   mistral(),   qwen2(),
                              gemma(),     phi2(true), phi2(false), phi3(true)};
        const std::vector<uint8_t> bytes = TinyModel(specs[which]).bytes();
        const GgufFile file = GgufFile::parse(bytes);
        const HyperParams hp = HyperParams::from_gguf(file);
        const ModelWeights weights = ModelWeights::bind(file, hp);
        const QString refusal = QString::fromStdString(cuda::cuda_graph_refusal(hp, weights));
        QCOMPARE(refusal.isEmpty(), needs.isEmpty());
        for (const QString& need : needs) QVERIFY2(refusal.contains(need), qPrintable(refusal));
        if (!needs.isEmpty()) {
            QVERIFY2(refusal.contains("runs the plain Llama graph only") &&
                         refusal.contains("'" + QString::fromStdString(specs[which].architecture) +
                                          "'") &&
                         refusal.contains("CPU backend"),
                     qPrintable(refusal));
        }
        // The binder's fused flags match the file's layout.
        QCOMPARE(weights.fused_qkv, specs[which].fused_qkv);
        QCOMPARE(weights.fused_gate_up, specs[which].fused_gate_up);
    }

    // The fused tensors are bound in place: q, k and v point into attn_qkv's rows.
    void fusedTensorsAreRowRangesInPlace() {
        const std::vector<uint8_t> bytes = TinyModel(phi3(true)).bytes();
        const GgufFile file = GgufFile::parse(bytes);
        const HyperParams hp = HyperParams::from_gguf(file);
        const ModelWeights weights = ModelWeights::bind(file, hp);
        const GgufTensor* qkv = file.find_tensor("blk.0.attn_qkv.weight");
        const GgufTensor* gate_up = file.find_tensor("blk.0.ffn_up.weight");
        QVERIFY(qkv && gate_up);
        const LayerWeights& layer = weights.layers[0];
        const int64_t row = 64 * 4;  // 64 float32 inputs
        QCOMPARE(layer.wq.data, qkv->data);
        QCOMPARE(layer.wk.data, qkv->data + hp.q_dim() * row);
        QCOMPARE(layer.wv.data, qkv->data + (hp.q_dim() + hp.kv_dim()) * row);
        QCOMPARE(layer.wq.rows, int64_t(hp.q_dim()));
        QCOMPARE(layer.wv.rows, int64_t(hp.kv_dim()));
        QCOMPARE(layer.ffn_gate.data, gate_up->data);
        QCOMPARE(layer.ffn_up.data, gate_up->data + hp.feed_forward_length * row);
        QCOMPARE(layer.ffn_up.rows, int64_t(hp.feed_forward_length));
        QCOMPARE(hp.ignored_sliding_window, 2047);
        QVERIFY(hp.rope_layout == RopeLayout::HalfSplit);
    }
};

QTEST_GUILESS_MAIN(TestFamilyLoading)
#include "tst_family_loading.moc"
