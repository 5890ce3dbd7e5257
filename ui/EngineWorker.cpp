#include "EngineWorker.h"

#include <QElapsedTimer>
#include <algorithm>
#include <array>
#include <new>
#include <vector>

#include "AnswerSources.h"
#include "Format.h"
#include "selfextend/document.h"
#include "selfextend/engine.h"

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
    s.trainingWindow = info.training_window;
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
    for (Conversation& c : conversations_) c = Conversation{};
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
        emit documentTokensCounted(qint64(model_->tokenize(documentText_, true).size()));
    } catch (const std::exception& e) {
        emit failed(tr("Document"), QString::fromUtf8(e.what()));
    }
}

void EngineWorker::newConversation() {
    for (Conversation& c : conversations_) c.turns.clear();  // the sessions keep the document
}

void EngineWorker::restoreConversation(AnswerSide side, const QStringList& questions,
                                       const QStringList& answers) {
    Conversation& c = conversations_[size_t(side)];
    c.turns.clear();
    for (qsizetype k = 0; k < std::min(questions.size(), answers.size()); ++k)
        c.turns.push_back({questions[k].toStdString(), answers[k].toStdString()});
}

void EngineWorker::ask(const AskRequest& request) {
    if (!model_) {
        emit failed(tr("Ask"), tr("No model is loaded yet."));
        emit askFinished();
        return;
    }
    const qint64 L = model_->info().training_window;
    if (request.runVanilla) {
        // Truncated: the prompt and the answer fit in L (at least half the window stays for the
        // prompt). Overflowing: the whole prompt, past L.
        const qint64 budget =
            request.vanillaTruncated ? std::max(L / 2, L - qint64(request.maxNewTokens)) : -1;
        askIn(AnswerSide::Vanilla, selfextend::AttentionMode::vanilla(), budget, budget, request,
              request.vanillaCancel);
    }
    if (request.runSelfExtend) {
        const qint64 cap = selfextend::capacity(L, request.group, request.window);
        // Earlier turns stay while the prompt and the answer fit the capacity; the document
        // itself is cut only when the user chose to (else it runs past the capacity only when
        // the user chose to run it anyway).
        const qint64 turnLimit = cap - qint64(request.maxNewTokens);
        const qint64 budget = request.selfExtendTruncated
                                  ? std::max(cap / 2, cap - qint64(request.maxNewTokens))
                                  : -1;
        askIn(AnswerSide::SelfExtend,
              selfextend::AttentionMode::self_extend(request.group, request.window), turnLimit,
              budget, request, request.selfExtendCancel);
    }
    emit askFinished();
}

EngineWorker::Prompt EngineWorker::buildPrompt(const Conversation& c, const std::string& system,
                                               const std::string& question, qint64 turnLimit,
                                               qint64 budget) const {
    const selfextend::ChatTemplate chat = chatTemplate();
    Prompt p;
    p.earlier.assign(c.turns.begin(), c.turns.end());
    const auto build = [&](const std::string& document) {
        const auto built = chat.document_prompt(system, document, p.earlier, question);
        p.tokens = built.tokens;
        p.documentPrefix = built.document_prefix;
    };
    build(documentText_);
    const qint64 whole = qint64(p.tokens.size());
    // A follow-up keeps the earlier turns while they fit: the oldest go first.
    while (turnLimit >= 0 && !p.earlier.empty() && qint64(p.tokens.size()) > turnLimit) {
        p.earlier.erase(p.earlier.begin());
        ++p.droppedTurns;
        build(documentText_);
    }
    if (budget < 0 || qint64(p.tokens.size()) <= budget) return p;
    // Still too long: keep the question and the turns, drop tokens from the start of the
    // document. Decoding and encoding again can shift a token at the cut, so trim until the
    // whole fits; empty when the template, turns and question alone take the budget.
    p.truncatedFrom = whole;
    build({});
    const qint64 framing = qint64(p.tokens.size());
    p.tokens.clear();
    if (framing + 1 >= budget) return p;
    const std::vector<int32_t> documentTokens = model_->tokenize(documentText_, false);
    qint64 keep = std::min<qint64>(budget - framing, qint64(documentTokens.size()));
    do {
        build(
            model_->detokenize(std::span(documentTokens).last(size_t(std::max<qint64>(keep, 0)))));
        keep -= std::max<qint64>(1, qint64(p.tokens.size()) - budget);
    } while (qint64(p.tokens.size()) > budget && keep > 0);
    if (qint64(p.tokens.size()) > budget) p.tokens.clear();
    return p;
}

void EngineWorker::askIn(AnswerSide side, const selfextend::AttentionMode& mode, qint64 turnLimit,
                         qint64 budget, const AskRequest& request,
                         const selfextend::CancelToken& cancel) {
    Conversation& c = conversations_[size_t(side)];
    if (request.useDiskCache && !diskCache_)
        diskCache_.emplace();
    else if (!request.useDiskCache)
        diskCache_.reset();
    const bool truncating = budget >= 0;
    // Another G or W (or truncation) makes other keys and values: the conversation starts
    // again. Only layer 0's keys would survive (K is cached at its own position), but every
    // later layer's input depends on G and W.
    if (c.session && (c.mode != mode || c.truncating != truncating || c.kvType != request.kvType)) {
        c.session.reset();
        c.turns.clear();
    }
    c.mode = mode;
    c.kvType = request.kvType;
    c.truncating = truncating;
    const std::string question = request.question.toStdString();
    Prompt prompt;
    try {
        prompt = buildPrompt(c, request.systemPrompt.toStdString(), question, turnLimit, budget);
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
    const qint64 L = model_->info().training_window;
    const qint64 n = qint64(prompt.tokens.size());
    QString settings;
    if (mode.is_vanilla()) {
        settings = truncating
                       ? (prompt.truncatedFrom > 0
                              ? tr("vanilla, truncated to the last %1 of %2 prompt tokens")
                                    .arg(formatCount(budget), formatCount(prompt.truncatedFrom))
                              : tr("vanilla, whole prompt inside L = %1").arg(formatCount(L)))
                   : n + request.maxNewTokens > L
                       ? tr("vanilla, overflowing: %1 tokens past L = %2")
                             .arg(formatCount(n + request.maxNewTokens - L), formatCount(L))
                       : tr("vanilla, inside L = %1").arg(formatCount(L));
    } else {
        settings = tr("Self-Extend G=%1 W=%2, capacity %3")
                       .arg(mode.group)
                       .arg(mode.window)
                       .arg(formatCount(selfextend::capacity(L, mode.group, mode.window)));
        if (prompt.truncatedFrom > 0)
            settings += tr(", truncated to the last %1 of %2 prompt tokens")
                            .arg(formatCount(budget), formatCount(prompt.truncatedFrom));
    }
    const bool followUp = !prompt.earlier.empty() || prompt.droppedTurns > 0;
    if (followUp)
        settings += prompt.droppedTurns > 0 ? tr(" · follow-up (%n oldest turn(s) left out to fit)",
                                                 "", int(prompt.droppedTurns))
                                            : tr(" · follow-up");
    runOne(side, c, prompt, settings, followUp, request, cancel);
}

void EngineWorker::runOne(AnswerSide side, Conversation& c, const Prompt& prompt,
                          const QString& settings, bool followUp, const AskRequest& request,
                          const selfextend::CancelToken& cancel) {
    const std::span<const int32_t> promptTokens(prompt.tokens);
    RunStats stats;
    stats.promptTokens = qint64(promptTokens.size());
    emit runStarted(side, settings, stats.promptTokens, followUp);
    QElapsedTimer prefillClock;  // started with the prefill; read when a stop ends it
    const auto stoppedDuringPrefill = [&] {
        if (prefillClock.isValid() && stats.prefilledTokens < stats.promptTokens)
            stats.prefillSeconds = double(prefillClock.nsecsElapsed()) / 1e9;
    };
    std::string answer;
    std::optional<bool> sourcesCollected;  // set when the answer starts: the device collects
    std::vector<selfextend::ByteRange> documentTokens;  // the prompt's tokens in the document
    // The answer's sources as far as it has gone (the mass its tokens have given so far).
    const auto currentSources = [&] {
        AnswerSources sources;
        sources.available = sourcesCollected.value_or(false);
        if (sources.available)
            sources = rankSources(documentText_, documentTokens, c.session->attention_mass(),
                                  kSourcePassages, answer);
        return sources;
    };
    try {
        if (cancel.cancelled()) throw selfextend::Cancelled();
        QElapsedTimer throttle;
        throttle.start();
        prefillClock.start();
        const qint64 needed = stats.promptTokens + request.maxNewTokens;
        bool fromDisk = false;
        if (!c.session) {
            c.session = model_->new_session({needed, c.mode, c.kvType});
            // The document read before, in this run of the app or another: its KV from disk.
            if (prompt.documentPrefix > 0 && prompt.truncatedFrom == 0 && diskCache_) {
                std::string warning;
                fromDisk = diskCache_->load(
                    *c.session, promptTokens.first(size_t(prompt.documentPrefix)), &warning);
                if (!warning.empty()) emit failed(tr("Document cache"), toQString(warning));
            }
        }
        // The engine runs only what the session does not hold already (the document, earlier
        // turns): the rest of the prompt is what it reuses.
        const auto onProgress = [&](const selfextend::Progress& p) {
            stats.reusedTokens = stats.promptTokens - p.total;
            stats.prefilledTokens = stats.reusedTokens + p.done;
            if (throttle.elapsed() >= kProgressIntervalMs || p.done == p.total) {
                throttle.restart();
                emit prefillProgress(side, stats.reusedTokens + p.done,
                                     stats.reusedTokens + p.total, p.tokens_per_second,
                                     p.eta_seconds);
            }
        };
        try {
            stats.reusedTokens =
                c.session->prefill_reusing(promptTokens, onProgress, &cancel, request.maxNewTokens);
        } catch (const selfextend::Cancelled&) {
            throw;
        } catch (const selfextend::Error&) {
            // A backend that cannot grow its cache: a new session for the longer conversation.
            if (c.session->position() + stats.promptTokens <= needed) throw;
            stats.reusedTokens = 0;
            c.session = model_->new_session({needed, c.mode, c.kvType});
            c.session->prefill(promptTokens, onProgress, &cancel);
        }
        stats.prefillSeconds = double(prefillClock.nsecsElapsed()) / 1e9;
        stats.prefilledTokens = stats.promptTokens;
        stats.fromDiskCache = fromDisk;
        if (diskCache_ && !fromDisk && prompt.documentPrefix > 0 && prompt.truncatedFrom == 0 &&
            stats.reusedTokens < prompt.documentPrefix) {
            std::string warning;
            if (!diskCache_->save(*c.session, promptTokens.first(size_t(prompt.documentPrefix)),
                                  &warning))
                emit failed(tr("Document cache"), tr("not saved: %1").arg(toQString(warning)));
        }

        QElapsedTimer decodeClock;
        decodeClock.start();
        qint64 generated = 0;
        // The plain format has no end-of-turn token: its answer ends with the line (the demo
        // model otherwise goes on inventing turns).
        selfextend::AnswerEnd answerEnd(chatTemplate().format(), request.question.toStdString(),
                                        request.stopAtLineBreak);
        const auto show = [&](const std::string& piece) {
            const QString text = QString::fromStdString(piece);
            answer += piece;
            const double seconds = double(decodeClock.nsecsElapsed()) / 1e9;
            emit tokenGenerated(side, text, generated,
                                seconds > 0 ? double(generated) / seconds : 0);
        };
        QElapsedTimer sourcesClock;
        sourcesClock.start();
        const auto onToken = [&](const selfextend::Token& token) {
            ++generated;
            show(answerEnd.push(token.text));
            if (*sourcesCollected && sourcesClock.elapsed() >= kSourcesIntervalMs) {
                sourcesClock.restart();
                emit sourcesFound(side, currentSources());
            }
            return !cancel.cancelled() && !answerEnd.ended();
        };
        // Where the answer came from: the attention its tokens give the prompt (cheap; the
        // mass of an earlier answer in the conversation is dropped), shown while it streams.
        sourcesCollected = c.session->collect_attention_mass(true);
        if (*sourcesCollected)
            documentTokens = selfextend::document_token_ranges(
                model_->tokenizer(), promptTokens, prompt.documentPrefix, documentText_);
        const auto result =
            c.session->generate(request.maxNewTokens, request.sampling, onToken, &cancel);
        if (const std::string heldBack = answerEnd.flush(); !heldBack.empty()) show(heldBack);
        stats.generatedTokens = result.tokens;
        stats.decodeTokensPerSecond = result.tokens_per_second();
        stats.cancelled = cancel.cancelled();
        stats.cutByTokenLimit = !stats.cancelled && !result.stopped_by_eos && !answerEnd.ended() &&
                                result.tokens >= request.maxNewTokens;
        // The turn joins the conversation (a stopped answer as far as it went); the next
        // question's prompt holds it as the template writes it, so the session's generated
        // tokens are reused as far as they agree.
        c.turns.push_back({request.question.toStdString(), answer});
    } catch (const selfextend::Cancelled&) {
        stats.cancelled = true;
        stoppedDuringPrefill();
        // Stopped while answering: the turn stays, as far as it went (the pane keeps it too).
        if (stats.prefilledTokens == stats.promptTokens)
            c.turns.push_back({request.question.toStdString(), answer});
    } catch (const std::bad_alloc&) {
        c.session.reset();  // give the memory back
        stats.error = tr("Out of memory. Try a shorter document or the truncated vanilla run.");
    } catch (const std::exception& e) {
        stats.error = QString::fromUtf8(e.what());
        stoppedDuringPrefill();
    }
    if (sourcesCollected && c.session) emit sourcesFound(side, currentSources());
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

void EngineWorker::runProbe(const ProbeRequest& request) {
    ProbeResults results;
    bool cancelled = false;
    try {
        if (!model_) throw selfextend::Error(tr("No model is loaded yet.").toStdString());
        if (documentText_.empty())
            throw selfextend::Error(
                tr("Open a document first: the pass key is planted in its text.").toStdString());
        selfextend::ProbeOptions options;
        options.candidates = request.candidates;
        options.depths.assign(request.depths.begin(), request.depths.end());
        QElapsedTimer throttle;
        throttle.start();
        results = selfextend::run_probe(
            *model_, documentText_, options,
            [&](const selfextend::Progress& p) {
                if (throttle.elapsed() >= kProgressIntervalMs || p.done == p.total) {
                    throttle.restart();
                    emit probeProgress(p.done, p.total, p.tokens_per_second, p.eta_seconds);
                }
            },
            &request.cancel);
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
