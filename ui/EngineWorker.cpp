#include "EngineWorker.h"

#include <QElapsedTimer>
#include <algorithm>
#include <array>
#include <new>
#include <vector>

#include "Format.h"
#include "selfextend/document.h"
#include "selfextend/engine.h"

namespace studio {
namespace {

// Progress callbacks can fire thousands of times a second; the GUI needs a few updates a second.
constexpr qint64 kProgressIntervalMs = 50;

QString toQString(const std::string& s) {
    return QString::fromStdString(s);
}

// The tokens of a format's markup around an empty document and question.
int framingTokens(const selfextend::ChatTemplate& chat) {
    return int(chat.encode(chat.document_conversation({}, {}, {}, {})).size());
}

ModelSummary summarize(const selfextend::Model& model) {
    const selfextend::ModelInfo& info = model.info();
    ModelSummary s;
    s.path = toQString(info.path);
    s.name = toQString(info.name);
    s.architecture = toQString(info.architecture);
    s.device = toQString(info.device);
    s.deviceNote = toQString(info.device_note);
    s.dtypeMix = toQString(info.dtype_mix());
    s.chatFormat = toQString(info.chat_format);
    s.chatNote = toQString(info.chat_note);
    s.parameterCount = info.parameter_count;
    s.trainingWindow = info.training_window;
    s.fileBytes = info.file_bytes;
    s.weightBytes = info.weight_bytes;
    s.kvBytesPerToken = model.kv_bytes_per_token();
    s.promptFramingTokens = framingTokens(model.chat_template());
    s.layers = info.layer_count;
    s.heads = info.head_count;
    s.headsKv = info.head_count_kv;
    s.embedding = info.embedding_length;
    s.vocabSize = info.vocab_size;
    return s;
}

}  // namespace

EngineWorker::EngineWorker(QObject* parent) : QObject(parent) {}
EngineWorker::~EngineWorker() = default;

void EngineWorker::loadModel(const QString& path, int device) {
    emit modelLoadStarted(path);
    selfextend::LoadOptions options;
    options.device = device == 1   ? selfextend::Device::Cpu
                     : device == 2 ? selfextend::Device::Cuda
                                   : selfextend::Device::Auto;
    QElapsedTimer throttle;
    throttle.start();
    options.on_progress = [this, &throttle](double fraction) {
        if (throttle.elapsed() >= kProgressIntervalMs || fraction >= 1.0) {
            throttle.restart();
            emit modelLoadProgress(fraction);
        }
    };
    try {
        // The working model stays until the new one has loaded: a failed load loses nothing.
        // (Weights are memory-mapped, so the two together cost little resident memory.)
        auto loaded = selfextend::Model::load(path.toStdString(), options);
        model_ = std::move(loaded);
        promptFormat_.clear();  // a new model starts in its own format
        emit modelLoaded(summarize(*model_));
        countDocumentTokens();
    } catch (const std::exception& e) {
        emit modelLoadFailed(path, QString::fromUtf8(e.what()));
    }
}

selfextend::ChatTemplate EngineWorker::chatTemplate() const {
    const auto format = selfextend::chat_format_from_name(promptFormat_.toStdString());
    return format ? model_->chat_template(*format) : model_->chat_template();
}

void EngineWorker::setPromptFormat(const QString& name) {
    if (!model_) return;
    const QString previous = promptFormat_;
    promptFormat_ = name;
    try {
        emit promptFormatChanged(promptFormat_, framingTokens(chatTemplate()));
    } catch (const std::exception& e) {  // the vocabulary lacks the format's special tokens
        promptFormat_ = previous;
        emit failed(
            tr("Prompt format"),
            tr("%1 cannot be used with this model: %2").arg(name, QString::fromUtf8(e.what())));
        emit promptFormatChanged(promptFormat_, framingTokens(chatTemplate()));
    }
}

void EngineWorker::loadDocument(const QString& path) {
    try {
        // Every format, PDF and EPUB included, through the engine: the CLI reads the same text.
        const selfextend::Document doc = selfextend::load_text_document(path.toStdString());
        documentText_ = doc.text;
        DocumentInfo info;
        info.path = path;
        info.text = toQString(doc.text);
        info.hadInvalidUtf8 = doc.had_invalid_utf8;
        emit documentLoaded(info);
        countDocumentTokens();
    } catch (const std::exception& e) {
        emit documentLoadFailed(path, QString::fromUtf8(e.what()));
    }
}

void EngineWorker::countDocumentTokens() {
    if (!model_ || documentText_.empty()) return;
    try {
        emit documentTokensCounted(qint64(model_->tokenize(documentText_, true).size()));
    } catch (const std::exception& e) {
        emit failed(tr("Document"), QString::fromUtf8(e.what()));
    }
}

void EngineWorker::ask(const AskRequest& request) {
    if (!model_) {
        emit failed(tr("Ask"), tr("No model is loaded yet."));
        emit askFinished();
        return;
    }
    const selfextend::ChatTemplate chat = chatTemplate();
    const std::string question = request.question.toStdString();
    // The prompt with the document's last `documentTokens` tokens (all of it when negative).
    const auto promptWith = [&](std::span<const int32_t> documentTokens) {
        const std::string document = model_->detokenize(documentTokens);
        return chat.encode(chat.document_conversation({}, document, {}, question));
    };
    std::vector<int32_t> tokens;
    try {
        tokens = chat.encode(chat.document_conversation({}, documentText_, {}, question));
    } catch (const std::exception& e) {
        emit failed(tr("Ask"), QString::fromUtf8(e.what()));
        emit askFinished();
        return;
    }
    const qint64 L = model_->info().training_window;
    const qint64 n = qint64(tokens.size());
    // The prompt cut to `budget` tokens, question kept: tokens are dropped from the start of the
    // document. Empty when the template and question alone take the budget.
    const auto lastTokensWithin = [&](qint64 budget) {
        std::vector<int32_t> truncated;
        const qint64 framing = qint64(promptWith({}).size());  // template + question
        if (framing + 1 >= budget) return truncated;
        // The document's tail, re-encoded inside the template; decoding and encoding again can
        // shift a token at the cut, so trim until the whole fits.
        const std::vector<int32_t> documentTokens = model_->tokenize(documentText_, false);
        qint64 keep = std::min<qint64>(budget - framing, qint64(documentTokens.size()));
        do {
            truncated =
                promptWith(std::span(documentTokens).last(size_t(std::max<qint64>(keep, 0))));
            keep -= std::max<qint64>(1, qint64(truncated.size()) - budget);
        } while (qint64(truncated.size()) > budget && keep > 0);
        return truncated;
    };

    if (request.runVanilla) {
        std::span<const int32_t> prompt(tokens);
        QString settings;
        std::vector<int32_t> truncated;
        bool skip = false;
        if (request.vanillaTruncated) {
            // Keep the question: drop tokens from the start of the document until the prompt
            // and the answer fit in L (at least half the window stays for the prompt).
            const qint64 budget = std::max(L / 2, L - qint64(request.maxNewTokens));
            if (n > budget) {
                truncated = lastTokensWithin(budget);
                if (truncated.empty()) {
                    skip = true;
                    emit failed(tr("Ask"), tr("The question alone is longer than the model's "
                                              "window; the truncated run was skipped."));
                }
                prompt = truncated;
                settings = tr("vanilla, truncated to the last %1 of %2 prompt tokens")
                               .arg(formatCount(budget), formatCount(n));
            } else {
                settings = tr("vanilla, whole prompt inside L = %1").arg(formatCount(L));
            }
        } else {
            settings = n + request.maxNewTokens > L
                           ? tr("vanilla, overflowing: %1 tokens past L = %2")
                                 .arg(formatCount(n + request.maxNewTokens - L), formatCount(L))
                           : tr("vanilla, inside L = %1").arg(formatCount(L));
        }
        if (!skip) {
            runOne(AnswerSide::Vanilla, prompt, selfextend::AttentionMode::vanilla(), settings,
                   request, request.vanillaCancel);
        }
    }
    if (request.runSelfExtend) {
        const auto mode = selfextend::AttentionMode::self_extend(request.group, request.window);
        const qint64 cap = selfextend::capacity(L, request.group, request.window);
        QString settings = tr("Self-Extend G=%1 W=%2, capacity %3")
                               .arg(request.group)
                               .arg(request.window)
                               .arg(formatCount(cap));
        std::span<const int32_t> prompt(tokens);
        std::vector<int32_t> truncated;
        bool skip = false;
        const qint64 budget = std::max(cap / 2, cap - qint64(request.maxNewTokens));
        if (request.selfExtendTruncated && n > budget) {
            truncated = lastTokensWithin(budget);
            if (truncated.empty()) {
                skip = true;
                emit failed(tr("Ask"), tr("The question alone is longer than the capacity; the "
                                          "truncated Self-Extend run was skipped."));
            }
            prompt = truncated;
            settings += tr(", truncated to the last %1 of %2 prompt tokens")
                            .arg(formatCount(budget), formatCount(n));
        }
        if (!skip)
            runOne(AnswerSide::SelfExtend, prompt, mode, settings, request,
                   request.selfExtendCancel);
    }
    emit askFinished();
}

void EngineWorker::runOne(AnswerSide side, std::span<const int32_t> promptTokens,
                          const selfextend::AttentionMode& mode, const QString& settings,
                          const AskRequest& request, const selfextend::CancelToken& cancel) {
    RunStats stats;
    stats.promptTokens = qint64(promptTokens.size());
    emit runStarted(side, settings, stats.promptTokens);
    QElapsedTimer prefillClock;  // started with the prefill; read when a stop ends it
    const auto stoppedDuringPrefill = [&] {
        if (prefillClock.isValid() && stats.prefilledTokens < stats.promptTokens)
            stats.prefillSeconds = double(prefillClock.nsecsElapsed()) / 1e9;
    };
    try {
        if (cancel.cancelled()) throw selfextend::Cancelled();
        // The session (and its KV cache) lives only for this run, so a stopped or failed run
        // gives its memory back at once.
        const auto session = model_->new_session({stats.promptTokens + request.maxNewTokens, mode});
        QElapsedTimer throttle;
        throttle.start();
        prefillClock.start();
        session->prefill(
            promptTokens,
            [&](const selfextend::Progress& p) {
                stats.prefilledTokens = p.done;
                if (throttle.elapsed() >= kProgressIntervalMs || p.done == p.total) {
                    throttle.restart();
                    emit prefillProgress(side, p.done, p.total, p.tokens_per_second, p.eta_seconds);
                }
            },
            &cancel);
        stats.prefillSeconds = double(prefillClock.nsecsElapsed()) / 1e9;
        stats.prefilledTokens = stats.promptTokens;

        QElapsedTimer decodeClock;
        decodeClock.start();
        qint64 generated = 0;
        bool sawText = false;
        const bool plainPrompt = chatTemplate().format() == selfextend::ChatFormat::Plain;
        const auto onToken = [&](const selfextend::Token& token) {
            ++generated;
            QString text = QString::fromStdString(token.text);
            bool keepGoing = !cancel.cancelled();
            if (request.stopAtLineBreak && plainPrompt) {
                // The demo model answers on one line and then invents the next document line.
                const qsizetype lineBreak = text.indexOf(QLatin1Char('\n'));
                if (lineBreak >= 0 && (sawText || !text.left(lineBreak).trimmed().isEmpty())) {
                    text.truncate(lineBreak);
                    keepGoing = false;
                }
                if (!text.trimmed().isEmpty()) sawText = true;
            }
            const double seconds = double(decodeClock.nsecsElapsed()) / 1e9;
            emit tokenGenerated(side, text, generated,
                                seconds > 0 ? double(generated) / seconds : 0);
            return keepGoing;
        };
        const auto result =
            session->generate(request.maxNewTokens, request.sampling, onToken, &cancel);
        stats.generatedTokens = result.tokens;
        stats.decodeTokensPerSecond = result.tokens_per_second();
        stats.cancelled = cancel.cancelled();
    } catch (const selfextend::Cancelled&) {
        stats.cancelled = true;
        stoppedDuringPrefill();
    } catch (const std::bad_alloc&) {
        stats.error = tr("Out of memory. Try a shorter document or the truncated vanilla run.");
    } catch (const std::exception& e) {
        stats.error = QString::fromUtf8(e.what());
        stoppedDuringPrefill();
    }
    emit runFinished(side, stats);
}

void EngineWorker::runPasskey(const PasskeyRequest& request) {
    if (!model_) {
        emit failed(tr("Pass-key test"), tr("No model is loaded yet."));
        emit evaluationFinished(false);
        return;
    }
    selfextend::PasskeyOptions options;
    options.lengths.assign(request.lengths.begin(), request.lengths.end());
    options.depths.assign(request.depths.begin(), request.depths.end());
    options.trials_per_depth = request.trials;
    options.modes = {selfextend::AttentionMode::vanilla(),
                     selfextend::AttentionMode::self_extend(request.group, request.window)};
    bool cancelled = false;
    try {
        QElapsedTimer throttle;
        throttle.start();
        const auto results = selfextend::run_passkey(
            *model_, options,
            [&](const selfextend::Progress& p) {
                if (throttle.elapsed() >= kProgressIntervalMs || p.done == p.total) {
                    throttle.restart();
                    emit evaluationProgress(p.done, p.total);
                }
            },
            &request.cancel);
        emit passkeyFinished(results);
    } catch (const selfextend::Cancelled&) {
        cancelled = true;
    } catch (const std::exception& e) {
        emit failed(tr("Pass-key test"), QString::fromUtf8(e.what()));
    }
    emit evaluationFinished(cancelled);
}

void EngineWorker::runPerplexity(const PerplexityRequest& request) {
    bool cancelled = false;
    try {
        if (!model_) throw selfextend::Error(tr("No model is loaded yet.").toStdString());
        if (documentText_.empty())
            throw selfextend::Error(tr("Open a document first: perplexity is measured on its "
                                       "text.")
                                        .toStdString());
        const std::vector<int32_t> tokens = model_->tokenize(documentText_, false);
        const std::array modes{
            selfextend::AttentionMode::vanilla(),
            selfextend::AttentionMode::self_extend(request.group, request.window)};
        const qint64 total = qint64(request.lengths.size() * qsizetype(modes.size()));
        qint64 done = 0;
        for (const qint64 length : request.lengths) {
            for (const auto& mode : modes) {
                emit evaluationProgress(done, total);
                const auto result = selfextend::run_perplexity(
                    *model_, tokens, length, request.maxWindows, mode, {}, &request.cancel);
                emit perplexityPoint(length, !mode.is_vanilla(), result.perplexity);
                ++done;
            }
        }
        emit evaluationProgress(total, total);
    } catch (const selfextend::Cancelled&) {
        cancelled = true;
    } catch (const std::exception& e) {
        emit failed(tr("Perplexity"), QString::fromUtf8(e.what()));
    }
    emit evaluationFinished(cancelled);
}

}  // namespace studio
