// The CPU backend's KV cache on the demo model: the type asked for is the type stored, in the
// bytes the model's dimensions say; a session grown mid-way (reserve) and a cache exported and
// imported into a fresh session continue with exactly the logits of the original.
#include <QtTest>
#include <cstring>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "engine_internals.h"
#include "selfextend/engine.h"
#include "test_paths.h"

using namespace selfextend;

namespace {

// Bytes of one row of d values: float32, IEEE halves, or GGUF Q8_0 blocks (an f16 scale and 32
// signed bytes per 32 values).
uint64_t row_bytes(KvType type, int d) {
    switch (type) {
        case KvType::F32:
            return uint64_t(d) * 4;
        case KvType::F16:
            return uint64_t(d) * 2;
        case KvType::Q8_0:
            return uint64_t(d) / 32 * 34;
    }
    return 0;
}

const char* type_name(KvType type) {
    return type == KvType::F32 ? "f32" : type == KvType::F16 ? "f16" : "q8_0";
}

// Tokens of a fixed pseudo-random text, BOS first.
std::vector<int32_t> sample_tokens(int n, int vocab) {
    std::vector<int32_t> tokens{1};
    for (int k = 1; k < n; ++k) tokens.push_back(int32_t(3 + (k * 7919) % (vocab - 3)));
    return tokens;
}

// Runs tokens [from, to) through the backend session in the given chunk sizes (the last one
// repeated), and returns the logits after each chunk.
std::vector<std::vector<float>> feed(detail::BackendSession& session,
                                     const std::vector<int32_t>& tokens, int64_t from, int64_t to,
                                     int64_t chunk, int vocab) {
    std::vector<std::vector<float>> logits;
    for (int64_t at = from; at < to; at += chunk) {
        const int64_t n = std::min(chunk, to - at);
        logits.emplace_back(size_t(vocab));
        session.forward(std::span(tokens.data() + at, size_t(n)), 1, logits.back().data());
    }
    return logits;
}

// Dimensions for a backend that makes sessions and never runs them: 2 heads sharing one KV head.
HyperParams small_model(const char* architecture, int layers, int head_dim) {
    HyperParams hp;
    hp.architecture = architecture;
    hp.embedding_length = 2 * head_dim;
    hp.layer_count = layers;
    hp.head_count = 2;
    hp.head_count_kv = 1;
    hp.head_dim = hp.rope_dimensions = head_dim;
    hp.feed_forward_length = 128;
    hp.vocab_size = 10;
    hp.context_length = 64;
    return hp;
}

}  // namespace

class TestKvCache : public QObject {
    Q_OBJECT
  private slots:
    void initTestCase() {
        model_ = Model::load(testing::demo_model_path().toStdString(), {.device = Device::Cpu});
        vocab_ = model_->info().vocab_size;
    }
    void cleanupTestCase() { model_.reset(); }

    void kv_types_data() {
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("group");
        QTest::addColumn<int>("window");
        for (const KvType type : {KvType::F32, KvType::F16, KvType::Q8_0}) {
            QTest::newRow(qPrintable(QString("vanilla ") + type_name(type))) << int(type) << 1 << 0;
            QTest::newRow(qPrintable(QString("G4 W100 ") + type_name(type)))
                << int(type) << 4 << 100;
        }
    }

    // What the backend stores and what it reports, from the model's dimensions: K and V of every
    // layer and KV head (8 x 2 x 2 rows of 64 values for the demo model), and under Self-Extend
    // the grouped keys of every layer too (8 x 2 more rows).
    void storedTypeAndBytes_data() { kv_types_data(); }
    void storedTypeAndBytes() {
        QFETCH(int, type);
        QFETCH(int, group);
        QFETCH(int, window);
        const ModelInfo& info = model_->info();
        const AttentionMode mode =
            group == 1 ? AttentionMode::vanilla() : AttentionMode::self_extend(group, window);
        const uint64_t rows_per_layer = group == 1 ? 2 : 3;
        const uint64_t per_token = uint64_t(info.layer_count) * rows_per_layer *
                                   uint64_t(info.head_count_kv) *
                                   row_bytes(KvType(type), info.head_dim);
        QCOMPARE(model_->kv_bytes_per_token(KvType(type), mode), per_token);
        const auto session = model_->new_session({1000, mode, KvType(type)});
        QCOMPARE(session->kv_cache_bytes(), 1000 * per_token);
        auto backend_session = backend().new_session(300, mode, KvType(type));
        QCOMPARE(backend_session->kv_type(), KvType(type));
        QCOMPARE(backend_session->kv_cache_bytes(), 300 * per_token);
        QVERIFY(backend_session->can_transfer_kv());
    }

    // Q8_0 stores whole blocks of 32: a head dimension of 48 falls back to F16 and says so.
    void q8_0NeedsWholeBlocks() {
        const HyperParams hp = small_model("llama", 2, 48);
        const ModelWeights no_weights;  // sessions are made, never run
        cpu::CpuBackend cpu(hp, no_weights, 1);
        QCOMPARE(cpu.kv_bytes_per_token(KvType::Q8_0, AttentionMode::vanilla()),
                 cpu.kv_bytes_per_token(KvType::F16, AttentionMode::vanilla()));
        QCOMPARE(cpu.kv_bytes_per_token(KvType::F16, AttentionMode::vanilla()),
                 uint64_t(2 * 2 * 1 * 48 * 2));
        QCOMPARE(cpu.kv_bytes_per_token(KvType::F32, AttentionMode::vanilla()),
                 uint64_t(2 * 2 * 1 * 48 * 4));
        const auto session = cpu.new_session(16, AttentionMode::vanilla(), KvType::Q8_0);
        QCOMPARE(session->kv_type(), KvType::F16);
        QCOMPARE(session->kv_cache_bytes(),
                 16 * cpu.kv_bytes_per_token(KvType::F16, AttentionMode::vanilla()));
    }

    // Grouped keys are kept for the layers Self-Extend applies to only: in a model of 6 layers
    // where layers 0-4 see a sliding window (Gemma 3's pattern), layer 5 alone.
    void groupedKeysOnlyWhereSelfExtendApplies() {
        HyperParams hp = small_model("gemma3", 6, 32);
        hp.sliding_window = 16;
        hp.layer_is_local = {true, true, true, true, true, false};
        const ModelWeights no_weights;  // sessions are made, never run
        cpu::CpuBackend cpu(hp, no_weights, 1);
        const AttentionMode self_extend = AttentionMode::self_extend(4, 8);
        const uint64_t row = 32 * 2;  // F16
        QCOMPARE(cpu.kv_bytes_per_token(KvType::F16, AttentionMode::vanilla()), 6 * 2 * row);
        QCOMPARE(cpu.kv_bytes_per_token(KvType::F16, self_extend), (6 * 2 + 1) * row);
        const auto session = cpu.new_session(16, self_extend, KvType::F16);
        QCOMPARE(session->kv_blocks(), int64_t(6 * 2 + 1));
        QCOMPARE(session->kv_cache_bytes(), 16 * (6 * 2 + 1) * row);
    }

    // A session made for 300 tokens and grown to 1000 after 300 continues bit for bit like one
    // made for 1000 from the start: the same chunks, the same cached rows, the same RoPE angles.
    void reserveKeepsTheLogits_data() { kv_types_data(); }
    void reserveKeepsTheLogits() {
        QFETCH(int, type);
        QFETCH(int, group);
        QFETCH(int, window);
        const AttentionMode mode =
            group == 1 ? AttentionMode::vanilla() : AttentionMode::self_extend(group, window);
        const auto tokens = sample_tokens(700, vocab_);
        auto large = backend().new_session(1000, mode, KvType(type));
        auto grown = backend().new_session(300, mode, KvType(type));
        const auto before_large = feed(*large, tokens, 0, 300, 256, vocab_);
        const auto before_grown = feed(*grown, tokens, 0, 300, 256, vocab_);
        QVERIFY(before_large == before_grown);
        QVERIFY(grown->reserve(1000));
        QCOMPARE(grown->capacity(), int64_t(1000));
        QCOMPARE(grown->length(), int64_t(300));
        QCOMPARE(grown->kv_cache_bytes(), large->kv_cache_bytes());
        QVERIFY(grown->reserve(500));  // smaller than held: nothing to do
        QCOMPARE(grown->capacity(), int64_t(1000));
        // A prefill past the old capacity, then decode steps.
        const auto prefill_large = feed(*large, tokens, 300, 690, 256, vocab_);
        const auto prefill_grown = feed(*grown, tokens, 300, 690, 256, vocab_);
        QVERIFY(prefill_large == prefill_grown);
        const auto decode_large = feed(*large, tokens, 690, 700, 1, vocab_);
        const auto decode_grown = feed(*grown, tokens, 690, 700, 1, vocab_);
        QVERIFY(decode_large == decode_grown);
    }

    // Export in the shared layout (per layer, K then V, per KV head, length() rows), import into
    // a fresh session: the next logits are identical, and the fresh session exports the same
    // bytes.
    void exportImportContinuesExactly_data() { kv_types_data(); }
    void exportImportContinuesExactly() {
        QFETCH(int, type);
        QFETCH(int, group);
        QFETCH(int, window);
        const AttentionMode mode =
            group == 1 ? AttentionMode::vanilla() : AttentionMode::self_extend(group, window);
        const ModelInfo& info = model_->info();
        const auto tokens = sample_tokens(520, vocab_);
        auto original = backend().new_session(600, mode, KvType(type));
        feed(*original, tokens, 0, 500, 256, vocab_);

        const size_t block = size_t(500 * row_bytes(KvType(type), info.head_dim));
        std::vector<uint8_t> exported;
        int blocks = 0;
        original->export_kv([&](const void* data, size_t bytes) {
            QCOMPARE(bytes, block);
            const auto* p = static_cast<const uint8_t*>(data);
            exported.insert(exported.end(), p, p + bytes);
            ++blocks;
        });
        // K and V, and under Self-Extend the grouped K, of every layer and KV head.
        QCOMPARE(blocks, info.layer_count * (group == 1 ? 2 : 3) * info.head_count_kv);

        auto fresh = backend().new_session(600, mode, KvType(type));
        size_t offset = 0;
        fresh->import_kv(500, [&](void* data, size_t bytes) {
            QCOMPARE(bytes, block);
            std::memcpy(data, exported.data() + offset, bytes);
            offset += bytes;
        });
        QCOMPARE(offset, exported.size());
        QCOMPARE(fresh->length(), int64_t(500));

        std::vector<uint8_t> again;
        fresh->export_kv([&](const void* data, size_t bytes) {
            const auto* p = static_cast<const uint8_t*>(data);
            again.insert(again.end(), p, p + bytes);
        });
        QVERIFY(again == exported);

        const auto next_original = feed(*original, tokens, 500, 520, 1, vocab_);
        const auto next_fresh = feed(*fresh, tokens, 500, 520, 1, vocab_);
        QVERIFY(next_original == next_fresh);

        // The layout is the documented one: layer 0's K blocks, then its V blocks, rows by
        // position. Token x at position 1 (after BOS) and at position 2 (after BOS, y): its layer-0
        // value depends on the token alone, its key is also rotated to its position.
        const int32_t x = 1234, y = 777;
        const auto row_of = [&](const std::vector<int32_t>& ids, int block_index, int64_t row) {
            auto session = backend().new_session(4, mode, KvType(type));
            feed(*session, ids, 0, int64_t(ids.size()), 1, vocab_);
            std::vector<uint8_t> bytes;
            int index = 0;
            session->export_kv([&](const void* data, size_t) {
                if (index++ != block_index) return;
                const size_t size = size_t(row_bytes(KvType(type), info.head_dim));
                const auto* p = static_cast<const uint8_t*>(data) + size_t(row) * size;
                bytes.assign(p, p + size);
            });
            return bytes;
        };
        for (int kv = 0; kv < info.head_count_kv; ++kv) {
            const int key_block = kv, value_block = info.head_count_kv + kv;
            QVERIFY(row_of({1, x}, value_block, 1) == row_of({1, y, x}, value_block, 2));
            QVERIFY(row_of({1, x}, key_block, 1) != row_of({1, y, x}, key_block, 2));
            QVERIFY(row_of({1, x}, key_block, 0) == row_of({1, y, x}, key_block, 0));  // BOS
        }

        auto small = backend().new_session(100, mode, KvType(type));
        QVERIFY(testing::error_of([&] {
                    small->import_kv(500, [](void*, size_t) {});
                }).contains("do not fit"));
        QCOMPARE(small->length(), int64_t(0));
    }

  private:
    detail::Backend& backend() { return *detail::Internals::of(*model_).backend; }

    std::shared_ptr<Model> model_;
    int vocab_ = 0;
};

QTEST_APPLESS_MAIN(TestKvCache)
#include "tst_kv_cache.moc"
