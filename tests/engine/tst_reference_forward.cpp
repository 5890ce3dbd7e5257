// The float64 forward pass of tests/common/reference_forward.h, which tst_families holds every
// family's engine path to, checked itself against data made by other implementations:
//  - the llama path against the demo model's float64 reference logits (../shared/models/
//    reference, an independent implementation from the F16 file), vanilla and Self-Extend;
//  - the gemma3 path against the numpy float64 reference of Gemma 3 270M (tests/data/gemma3), on
//    the first rows only: causal attention makes row t depend on tokens 0..t alone, so a short
//    prefix of the passage gives exactly the reference's first rows.
// The weights are decoded here from the files' bytes (F16 by its bit fields, quantized blocks by
// tests/common/block_reference.h); only the GGUF container is parsed with the engine's reader.
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "block_reference.h"
#include "demo_reference.h"
#include "gguf/gguf_file.h"
#include "reference_forward.h"
#include "reference_logits.h"
#include "test_paths.h"
#include "tiny_models.h"

using selfextend::GgufFile;
using selfextend::GgufTensor;
using testing::TinyModel;
using testing::TinyTensor;

namespace {

// The values of some rows of a stored tensor, decoded from its bytes: F32, F16 or a quantized
// block layout.
std::vector<float> decode_rows(const GgufTensor& t, const std::vector<int64_t>& rows) {
    const int64_t cols = t.dims[0];
    const testing::BlockFormat* blocks = testing::block_format(t.raw_type);
    const int64_t row_bytes = t.raw_type == 0   ? cols * 4
                              : t.raw_type == 1 ? cols * 2
                              : blocks          ? cols / blocks->values * blocks->bytes
                                                : -1;
    if (row_bytes < 0) qFatal("%s: stored type %u is not decoded here", t.name.c_str(), t.raw_type);
    std::vector<float> values;
    values.reserve(rows.size() * size_t(cols));
    for (const int64_t r : rows) {
        const uint8_t* row = t.data + r * row_bytes;
        if (t.raw_type == 0) {
            for (int64_t c = 0; c < cols; ++c) {
                float v;
                std::memcpy(&v, row + 4 * c, 4);
                values.push_back(v);
            }
        } else if (t.raw_type == 1) {
            for (int64_t c = 0; c < cols; ++c)
                values.push_back(float(testing::f16_value(testing::read_u16(row + 2 * c))));
        } else {
            for (const double v : testing::reference_dequantize(t.raw_type, row, cols))
                values.push_back(float(v));
        }
    }
    return values;
}

std::vector<int64_t> all_rows(const GgufTensor& t) {
    std::vector<int64_t> rows(size_t(t.rows()));
    for (size_t r = 0; r < rows.size(); ++r) rows[r] = int64_t(r);
    return rows;
}

// A real file as a TinyModel: the hyper-parameters from its keys, every tensor decoded. With
// `vocab_rows`, the embedding and output keep those rows only, in that order (token ids then index
// this list): the logits of a few ids of a large vocabulary cost a few rows.
TinyModel read_model(const GgufFile& gguf, const std::vector<int64_t>& vocab_rows = {}) {
    TinyModel m;
    m.architecture = gguf.get_string("general.architecture");
    const std::string a = m.architecture + ".";
    m.context_length = gguf.get_int(a + "context_length");
    m.embedding_length = int(gguf.get_int(a + "embedding_length"));
    m.block_count = int(gguf.get_int(a + "block_count"));
    m.feed_forward_length = int(gguf.get_int(a + "feed_forward_length"));
    m.head_count = int(gguf.get_int(a + "attention.head_count"));
    m.head_count_kv = int(gguf.get_int_or(a + "attention.head_count_kv", m.head_count));
    m.head_dim =
        int(gguf.get_int_or(a + "attention.key_length", m.embedding_length / m.head_count));
    m.rope_dimensions = int(gguf.get_int_or(a + "rope.dimension_count", m.head_dim));
    m.rope_freq_base = gguf.get_float_or(a + "rope.freq_base", 10000.0);
    m.norm_eps = gguf.get_float_or(a + "attention.layer_norm_rms_epsilon",
                                   gguf.get_float_or(a + "attention.layer_norm_epsilon", 1e-5));
    m.sliding_window = int(gguf.get_int_or(a + "attention.sliding_window", 0));
    m.rope_freq_base_local = gguf.get_float_or(a + "rope.freq_base_swa", 10000.0);
    for (const GgufTensor& t : gguf.tensors()) {
        const bool vocabulary = t.name == "token_embd.weight" || t.name == "output.weight";
        const std::vector<int64_t> rows =
            vocabulary && !vocab_rows.empty() ? vocab_rows : all_rows(t);
        std::vector<int64_t> dims = t.dims;
        if (dims.size() > 1) dims[1] = int64_t(rows.size());
        m.tensors.push_back({t.name, dims, decode_rows(t, rows)});
    }
    m.vocab_size = int(m.tensor("token_embd.weight").rows());
    return m;
}

}  // namespace

class TestReferenceForward : public QObject {
    Q_OBJECT
  private slots:
    // The llama path, vanilla and three Self-Extend settings, against the demo model's reference
    // (stored as float32: 6e-8 of rounding; measured here: see the log).
    void llamaMatchesDemoReference_data() {
        QTest::addColumn<QString>("reference");
        QTest::newRow("short") << "short";
        QTest::newRow("notre_dame_700") << "notre_dame_700";
    }
    void llamaMatchesDemoReference() {
        SKIP_WITHOUT_SHARED();
        QFETCH(QString, reference);
        const testing::DemoReference ref = testing::read_demo_reference(reference);
        const GgufFile gguf = GgufFile::open(
            testing::shared_path("models/selfextend-demo-8m-f16.gguf").toStdString());
        const TinyModel model = read_model(gguf);
        QCOMPARE(model.architecture, std::string("llama"));
        const size_t vocab = size_t(model.vocab_size);
        for (const testing::DemoReference::Run& run : ref.runs) {
            QElapsedTimer timer;
            timer.start();
            const auto logits = testing::reference_logits(model, ref.tokens, run.group, run.window);
            double worst = 0, scale = 0;
            for (size_t p = 0; p < ref.positions.size(); ++p)
                for (size_t v = 0; v < vocab; ++v) {
                    const double expected = run.logits[p * vocab + v];
                    worst =
                        std::max(worst, std::abs(logits[size_t(ref.positions[p])][v] - expected));
                    scale = std::max(scale, std::abs(expected));
                }
            qInfo("%s G=%d W=%d: %zu tokens in %.1f s, max |delta| / max |logit| = %.3g",
                  qPrintable(reference), run.group, run.window, ref.tokens.size(),
                  double(timer.elapsed()) / 1e3, worst / scale);
            QVERIFY2(worst / scale <= 1e-6, qPrintable(QString::number(worst / scale)));
        }
    }

    // The gemma3 path against the numpy reference of Gemma 3 270M, on the first rows of the
    // passage: their top-8 logits. (The stored Self-Extend settings have windows of 600 and
    // 1024: on these rows they equal vanilla, so vanilla is the one compared.)
    void gemma3MatchesNumpyReference() {
        SKIP_WITHOUT_MODEL(testing::gemma3_path());
        constexpr int kRows = 40;
        const QString data = QString(SE_SOURCE_DIR) + "/tests/data/gemma3/";
        std::vector<int32_t> passage;
        QString error = testing::read_tokens(data + "tokens.bin", passage);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        testing::ReferenceLogits ref;
        error = testing::read_logits_for(data + "logits_vanilla.bin", 1, 0, ref);
        QVERIFY2(error.isEmpty(), qPrintable(error));

        // The vocabulary rows needed: the tokens read and the reference's top ids of each row.
        std::map<int32_t, int32_t> index;
        for (int r = 0; r < kRows; ++r) {
            index[passage[size_t(r)]] = 0;
            for (int k = 0; k < ref.top_k; ++k) index[ref.top_ids[size_t(r * ref.top_k + k)]] = 0;
        }
        std::vector<int64_t> vocab_rows;
        for (auto& [id, position] : index) {
            position = int32_t(vocab_rows.size());
            vocab_rows.push_back(id);
        }
        QElapsedTimer timer;
        timer.start();
        const GgufFile gguf = GgufFile::open(testing::gemma3_path().toStdString());
        const TinyModel model = read_model(gguf, vocab_rows);
        QCOMPARE(model.sliding_window, 512);
        const double decoded = double(timer.elapsed()) / 1e3;
        std::vector<int32_t> tokens;
        for (int r = 0; r < kRows; ++r) tokens.push_back(index[passage[size_t(r)]]);
        const auto logits = testing::reference_logits(model, tokens, 1, 0);

        double worst = 0, scale = 0;
        for (int r = 0; r < kRows; ++r)
            for (int k = 0; k < ref.top_k; ++k) {
                const size_t at = size_t(r * ref.top_k + k);
                const double expected = ref.top_logits[at];
                worst = std::max(
                    worst, std::abs(logits[size_t(r)][size_t(index[ref.top_ids[at]])] - expected));
                scale = std::max(scale, std::abs(expected));
            }
        qInfo(
            "gemma3, first %d rows: decoded in %.1f s, forward in %.1f s; top-%d logits "
            "max |delta| / max |logit| = %.3g",
            kRows, decoded, double(timer.elapsed()) / 1e3 - decoded, ref.top_k, worst / scale);
        QVERIFY2(worst / scale <= 1e-6, qPrintable(QString::number(worst / scale)));
    }
};

QTEST_APPLESS_MAIN(TestReferenceForward)
#include "tst_reference_forward.moc"
