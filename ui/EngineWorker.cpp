#include "EngineWorker.h"

#include <QElapsedTimer>
#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "AnswerSources.h"
#include "Format.h"
#include "selfextend/document.h"
#include "selfextend/engine.h"
#include "selfextend/tokenizer.h"

namespace studio {
namespace {

// Progress callbacks can fire thousands of times a second; the GUI needs a few updates a second.
constexpr qint64 kProgressIntervalMs = 50;
// Passages shown as an answer's sources, and how often they are re-ranked while it streams.
constexpr int kSourcePassages = 5;
constexpr qint64 kSourcesIntervalMs = 500;

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
    s.autoProfile = info.auto_profile();
    s.fileBytes = info.file_bytes;
    s.weightBytes = info.weight_bytes;
    // (Self-Extend's cost does not depend on G and W: grouped keys are kept whatever they are.)
    const auto selfExtend = selfextend::AttentionMode::self_extend(2, 1);
    for (const auto type :
         {selfextend::KvType::F32, selfextend::KvType::F16, selfextend::KvType::Q8_0}) {
        s.kvBytesPerToken[size_t(type)] = model.kv_bytes_per_token(type);
        s.kvBytesPerTokenSelfExtend[size_t(type)] = model.kv_bytes_per_token(type, selfExtend);
    }
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

void EngineWorker::resetConversations() {
    for (Side& side : sides_) side = Side{};
    framed_.reset();
}

void EngineWorker::frameDocument(const std::string& systemPrompt) {
    systemPrompt_ = systemPrompt;
    if (!model_ || (framed_ && framed_->system() == systemPrompt)) return;
    framed_ = std::make_shared<const selfextend::FramedDocument>(chatTemplate(), systemPrompt,
                                                                 documentText_);
    // The sides go on with their turns over the newly framed document.
    for (Side& side : sides_) {
        if (!side.conversation) continue;
        const selfextend::DocumentConversation& old = *side.conversation;
        std::vector<selfextend::QuestionAnswer> turns(old.turns().begin(), old.turns().end());
        const auto mode = old.mode();
        const auto kvType = old.kv_type();
        side.conversation.emplace(model_, framed_, mode, kvType);
        side.conversation->restore_turns(std::move(turns));
    }
}

void EngineWorker::loadModel(const QString& path, int device, int threads) {
    emit modelLoadStarted(path);
    selfextend::LoadOptions options;
    options.device = device == 1   ? selfextend::Device::Cpu
                     : device == 2 ? selfextend::Device::Cuda
                                   : selfextend::Device::Auto;
    options.threads = threads;
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
        resetConversations();
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
    if (name != previous) resetConversations();  // other markup around the same document
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
        resetConversations();
        DocumentInfo info;
        info.path = path;
        info.text = toQString(doc.text);
        info.hadInvalidUtf8 = doc.had_invalid_utf8;
        info.encoding = toQString(doc.encoding);
        emit documentLoaded(info);
        countDocumentTokens();
    } catch (const std::exception& e) {
        emit documentLoadFailed(path, QString::fromUtf8(e.what()));
    }
}

void EngineWorker::countDocumentTokens() {
    if (!model_ || documentText_.empty()) return;
    try {
        // The document is framed (and encoded) here, once: questions reuse its ids.
        frameDocument(systemPrompt_);
        const qint64 bos = model_->tokenizer().adds_bos() ? 1 : 0;
        emit documentTokensCounted(qint64(framed_->tokens().size()) + bos);
    } catch (const std::exception& e) {
        emit failed(tr("Document"), QString::fromUtf8(e.what()));
    }
}

void EngineWorker::newConversation() {
    for (Side& side : sides_)  // the sessions keep the document
        if (side.conversation) side.conversation->clear_turns();
}

void EngineWorker::restoreConversation(AnswerSide side, const QStringList& questions,
                                       const QStringList& answers) {
    restoredTurns_[size_t(side)].clear();
    for (qsizetype k = 0; k < std::min(questions.size(), answers.size()); ++k)
        restoredTurns_[size_t(side)].push_back(
            {questions[k].toStdString(), answers[k].toStdString()});
    if (sides_[size_t(side)].conversation)
        sides_[size_t(side)].conversation->restore_turns(
            std::exchange(restoredTurns_[size_t(side)], {}));
}

void EngineWorker::ask(const AskRequest& request) {
    if (!model_) {
        emit failed(tr("Ask"), tr("No model is loaded yet."));
        emit askFinished();
        return;
    }
    try {
        frameDocument(request.systemPrompt.toStdString());
    } catch (const std::exception& e) {
        emit failed(tr("Ask"), QString::fromUtf8(e.what()));
        emit askFinished();
        return;
    }
    const qint64 L = model_->info().training_window;
    if (request.runVanilla) {
        // Truncated: the prompt and the answer fit in L. Overflowing: the whole prompt, past L.
        const auto vanilla = selfextend::AttentionMode::vanilla();
        askIn(AnswerSide::Vanilla, vanilla,
              selfextend::prompt_limits(L, vanilla, request.maxNewTokens, request.vanillaTruncated),
              request, request.vanillaCancel);
    }
    if (request.runSelfExtend) {
        // Earlier turns stay while the prompt and the answer fit the capacity; the document
        // itself is cut only when the user chose to (else it runs past the capacity only when
        // the user chose to run it anyway).
        askIn(AnswerSide::SelfExtend, request.selfExtend,
              selfextend::prompt_limits(L, request.selfExtend, request.maxNewTokens,
                                        request.selfExtendTruncated),
              request, request.selfExtendCancel);
    }
    emit askFinished();
}

QString EngineWorker::runSettings(const selfextend::AttentionMode& mode,
                                  const selfextend::PromptLimits& limits,
                                  const selfextend::ConversationPrompt& prompt,
                                  int maxNewTokens) const {
    const qint64 L = model_->info().training_window;
    const qint64 n = qint64(prompt.tokens.size());
    const QString cut = tr("truncated to the last %1 of %2 prompt tokens")
                            .arg(formatCount(limits.budget), formatCount(prompt.truncated_from));
    QString settings;
    if (mode.is_vanilla()) {
        settings = limits.truncating()
                       ? (prompt.truncated_from > 0
                              ? tr("vanilla, %1").arg(cut)
                              : tr("vanilla, whole prompt inside L = %1").arg(formatCount(L)))
                   : n + maxNewTokens > L
                       ? tr("vanilla, overflowing: %1 tokens past L = %2")
                             .arg(formatCount(n + maxNewTokens - L), formatCount(L))
                       : tr("vanilla, inside L = %1").arg(formatCount(L));
    } else {
        settings = tr("Self-Extend G=%1 W=%2, capacity %3")
                       .arg(mode.group)
                       .arg(mode.window)
                       .arg(formatCount(selfextend::capacity(L, mode.group, mode.window)));
        if (prompt.truncated_from > 0) settings += tr(", %1").arg(cut);
    }
    if (prompt.follow_up())
        settings += prompt.dropped_turns > 0 ? tr(" · follow-up (the %1 oldest left out to fit)")
                                                   .arg(formatTurns(prompt.dropped_turns))
                                             : tr(" · follow-up");
    return settings;
}

void EngineWorker::askIn(AnswerSide side, const selfextend::AttentionMode& mode,
                         const selfextend::PromptLimits& limits, const AskRequest& request,
                         const selfextend::CancelToken& cancel) {
    Side& s = sides_[size_t(side)];
    if (request.useDiskCache && !diskCache_)
        diskCache_.emplace();
    else if (!request.useDiskCache)
        diskCache_.reset();
    // Another G or W (or truncation, or KV type) makes other keys and values: the conversation
    // starts again. Only layer 0's keys would survive (K is cached at its own position), but
    // every later layer's input depends on G and W.
    if (!s.conversation || s.conversation->mode() != mode ||
        s.conversation->kv_type() != request.kvType || s.truncating != limits.truncating()) {
        s.conversation.emplace(model_, framed_, mode, request.kvType);
        // Turns restored from an earlier run of the app go on in the first conversation.
        s.conversation->restore_turns(std::exchange(restoredTurns_[size_t(side)], {}));
        s.truncating = limits.truncating();
    }
    selfextend::DocumentConversation& c = *s.conversation;
    const std::string question = request.question.toStdString();
    selfextend::ConversationPrompt prompt;
    try {
        prompt = c.prompt(question, limits);
    } catch (const std::exception& e) {
        emit failed(tr("Ask"), QString::fromUtf8(e.what()));
        return;
    }
    if (prompt.tokens.empty()) {
        emit failed(tr("Ask"),
                    side == AnswerSide::Vanilla
                        ? tr("The question alone is longer than the model's window; the "
                             "truncated run was skipped.")
                        : tr("The question alone is longer than the capacity; the truncated "
                             "Self-Extend run was skipped."));
        return;
    }
    lastSettings_[size_t(side)] = runSettings(mode, limits, prompt, request.maxNewTokens);
    emit runStarted(side, lastSettings_[size_t(side)], qint64(prompt.tokens.size()),
                    prompt.follow_up());
    selfextend::AnswerOptions options;
    options.max_new_tokens = request.maxNewTokens;
    options.sampling = request.sampling;
    options.stop_at_line_break = request.stopAtLineBreak;
    options.disk_cache = diskCache_ ? &*diskCache_ : nullptr;
    stream(side, cancel, {}, [&](const selfextend::AnswerCallbacks& callbacks) {
        return c.answer(prompt, question, options, callbacks, &cancel);
    });
}

void EngineWorker::continueAnswer(const ContinueRequest& request) {
    Side& s = sides_[size_t(request.side)];
    if (!s.conversation || !s.conversation->can_continue()) {
        emit failed(tr("Continue"), tr("There is no answer cut by the token limit to continue."));
        emit askFinished();
        return;
    }
    selfextend::DocumentConversation& c = *s.conversation;
    emit continueStarted(request.side,
                         tr("%1 · continued").arg(lastSettings_[size_t(request.side)]));
    selfextend::AnswerOptions options;
    options.max_new_tokens = request.maxNewTokens;
    options.sampling = request.sampling;
    options.stop_at_line_break = request.stopAtLineBreak;
    stream(request.side, request.cancel, c.turns().back().answer,
           [&](const selfextend::AnswerCallbacks& callbacks) {
               return c.continue_answer(options, callbacks, &request.cancel);
           });
    emit askFinished();
}

RunStats EngineWorker::stream(
    AnswerSide side, const selfextend::CancelToken& cancel, std::string answerSoFar,
    const std::function<selfextend::AnswerOutcome(const selfextend::AnswerCallbacks&)>& run) {
    selfextend::DocumentConversation& c = *sides_[size_t(side)].conversation;
    QElapsedTimer throttle;
    throttle.start();
    QElapsedTimer decodeClock;
    QElapsedTimer sourcesClock;
    // The whole answer so far (a continued one with its first part), for the sources.
    std::string answer = std::move(answerSoFar);
    const auto currentSources = [&] {
        AnswerSources sources;
        sources.available = c.sources_available();
        if (sources.available)
            sources = studioSources(documentText_, c.sources(kSourcePassages, answer));
        return sources;
    };
    selfextend::AnswerCallbacks callbacks;
    callbacks.on_prefill = [&](int64_t done, int64_t total, const selfextend::Progress& p) {
        if (throttle.elapsed() >= kProgressIntervalMs || p.done == p.total) {
            throttle.restart();
            emit prefillProgress(side, done, total, p.tokens_per_second, p.eta_seconds,
                                 std::max(p.eta_seconds, p.eta_high_seconds));
        }
    };
    callbacks.on_piece = [&](std::string_view piece, int64_t generated) {
        if (!decodeClock.isValid()) {
            decodeClock.start();
            sourcesClock.start();
        }
        answer += piece;
        const double seconds = double(decodeClock.nsecsElapsed()) / 1e9;
        emit tokenGenerated(side, QString::fromUtf8(piece.data(), qsizetype(piece.size())),
                            generated, seconds > 0 ? double(generated) / seconds : 0);
        if (c.sources_available() && sourcesClock.elapsed() >= kSourcesIntervalMs) {
            sourcesClock.restart();
            emit sourcesFound(side, currentSources());
        }
        return !cancel.cancelled();
    };
    callbacks.on_warning = [&](const std::string& warning) {
        emit failed(tr("Document cache"), toQString(warning));
    };
    const selfextend::AnswerOutcome out = run(callbacks);
    RunStats stats;
    stats.promptTokens = out.prompt_tokens;
    stats.reusedTokens = out.reused_tokens;
    stats.prefilledTokens = out.prefilled_tokens;
    stats.fromDiskCache = out.from_disk_cache;
    stats.prefillSeconds = out.prefill_seconds;
    stats.generatedTokens = out.generation.tokens;
    stats.decodeTokensPerSecond = out.generation.tokens_per_second();
    stats.cancelled = out.cancelled;
    stats.cutByTokenLimit = out.cut_by_token_limit;
    if (out.out_of_memory)
        stats.error = tr("Out of memory. Try a shorter document or the truncated vanilla run.");
    else if (!out.error.empty())
        stats.error = QString::fromUtf8(out.error);
    // Once it has answered, the side hears where from (or that this device cannot say).
    if (out.prefilled_tokens == out.prompt_tokens && !out.out_of_memory)
        emit sourcesFound(side, currentSources());
    emit runFinished(side, stats);
    return stats;
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
    options.modes = {selfextend::AttentionMode::vanilla(), request.selfExtend};
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

void EngineWorker::runProbe(const ProbeRequest& request) {
    ProbeResults results;
    bool cancelled = false;
    try {
        if (!model_) throw selfextend::Error(tr("No model is loaded yet.").toStdString());
        if (documentText_.empty())
            throw selfextend::Error(
                tr("Open a document first: the facts are planted in its text.").toStdString());
        selfextend::ProbeOptions options;
        options.candidates = request.candidates;
        options.depths.assign(request.depths.begin(), request.depths.end());
        options.chat.emplace(chatTemplate());  // asked as the user's questions are
        options.system = systemPrompt_;
        QElapsedTimer throttle;
        throttle.start();
        results = selfextend::run_probe(
            model_, documentText_, options,
            [&](const selfextend::Progress& p) {
                if (throttle.elapsed() >= kProgressIntervalMs || p.done == p.total) {
                    throttle.restart();
                    emit probeProgress(p.done, p.total, p.tokens_per_second, p.eta_seconds);
                }
            },
            {}, &request.cancel);
    } catch (const selfextend::Cancelled&) {
        cancelled = true;
    } catch (const std::exception& e) {
        emit failed(tr("Probe"), QString::fromUtf8(e.what()));
    }
    emit probeFinished(results, cancelled);
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
        const std::array modes{selfextend::AttentionMode::vanilla(), request.selfExtend};
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
