// The studio's controller without a window, against the real engine and the bundled demo model
// (L = 512) on the door-code sample (about 1 500 tokens): what Ask waits for, a request's
// Self-Extend mode reaching the engine, staleness, Stop, and a GPU that fails to load.
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "DeviceChoice.h"
#include "ResourcePaths.h"
#include "StudioController.h"
#include "selfextend/engine.h"
#include "selfextend/probe.h"

using selfextend::AttentionMode;
using studio::AnswerSide;
using studio::StudioController;

namespace {

constexpr int kWaitMs = 120000;
const QString kSample = QStringLiteral(SE_SOURCE_DIR "/resources/samples/door-code.txt");

}  // namespace

class TestStudioController : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, dir_.path());
        QCoreApplication::setOrganizationName("SelfExtendTests");
        QCoreApplication::setApplicationName("tst_studio_controller");
        QSettings().clear();
        QSettings().setValue("documentCache", false);
        model_ = studio::findBundledModel();
        QVERIFY2(!model_.isEmpty(), "the bundled demo model is missing");
    }

    void askWaitsForModelAndDocument() {
        StudioController controller;
        QVERIFY(controller.askBlockedReason().contains("model"));
        QVERIFY(!controller.readyToAsk());
        QSignalSpy loaded(&controller, &StudioController::modelLoaded);
        controller.openModel(model_, studio::kDeviceCpu, 2);
        QVERIFY(!controller.hasModel());  // until the worker says so
        QVERIFY(loaded.wait(kWaitMs));
        QVERIFY(controller.hasModel());
        QCOMPARE(controller.modelPath(), model_);
        QCOMPARE(controller.trainingWindow(), 512);
        QVERIFY(controller.readyToAsk());  // no document is being opened
        QVERIFY(controller.askBlockedReason().contains("document"));

        QSignalSpy counted(&controller, &StudioController::documentTokensCounted);
        controller.openDocument(kSample);
        QVERIFY(controller.isOpeningDocument());
        QVERIFY(!controller.readyToAsk());
        QVERIFY(counted.wait(kWaitMs));
        QVERIFY(!controller.isOpeningDocument());
        QVERIFY(controller.hasDocument());
        QCOMPARE(controller.documentPath(), kSample);
        QCOMPARE(controller.documentTokens(), counted.first().first().toLongLong());
        QVERIFY2(controller.documentTokens() > 1000 && controller.documentTokens() < 2000,
                 qPrintable(QString::number(controller.documentTokens())));
        QCOMPARE(controller.documentDigest().size(), 32);  // SHA-256 of the file's bytes
        QVERIFY(controller.askBlockedReason().isEmpty());
        QVERIFY(controller.readyToAsk());
        QVERIFY(!controller.conversationKey().isEmpty());

        // The probe tries Auto's choice first and one other setting, both past L: two readings
        // of the document, whose time is not known before an Ask has read it.
        const qint64 askTokens = controller.documentTokens() + 100;
        const StudioController::ProbePlan plan = controller.probePlan(askTokens, 3);
        QCOMPARE(plan.candidates.size(), size_t(2));
        QVERIFY(!plan.automatic.is_vanilla());
        QCOMPARE(plan.candidates.front(), plan.automatic);
        QVERIFY(!plan.candidates.back().is_vanilla());
        QCOMPARE(plan.tokensPerReading, askTokens + 3 * selfextend::kProbeFactTokens);
        QCOMPARE(plan.automatic.group,
                 selfextend::choose_attention({512}, askTokens + 3 * selfextend::kProbeFactTokens)
                     .group);
        QVERIFY(plan.estimatedSeconds < 0);
    }

    void askCarriesItsModeAndAnswersGoStale() {
        StudioController controller;
        openBoth(controller);
        QSignalSpy started(&controller, &StudioController::runStarted);
        QSignalSpy tokens(&controller, &StudioController::tokenGenerated);
        QSignalSpy finished(&controller, &StudioController::askFinished);
        studio::AskRequest request;
        request.question = "What is the door code?";
        request.maxNewTokens = 24;
        request.useDiskCache = false;
        request.selfExtend = AttentionMode::self_extend(5, 256);  // capacity 1 536
        QVERIFY(controller.ask(request));
        QVERIFY(controller.isAsking());
        QVERIFY(!controller.ask(request));  // one Ask at a time
        QVERIFY(!controller.continueAnswer({}));
        QVERIFY(finished.wait(kWaitMs));
        QVERIFY(!controller.isAsking());
        QVERIFY(!controller.askStopped());

        QCOMPARE(started.count(), 2);
        QCOMPARE(started.at(0).at(0).value<AnswerSide>(), AnswerSide::Vanilla);
        QCOMPARE(started.at(1).at(0).value<AnswerSide>(), AnswerSide::SelfExtend);
        const QString settings = started.at(1).at(1).toString();
        QVERIFY2(settings.startsWith("Self-Extend G=5 W=256, capacity 1"), qPrintable(settings));
        // The mode reached the engine: Self-Extend reads the code past L, vanilla cannot.
        QString answer[2];
        for (const QList<QVariant>& token : tokens)
            answer[int(token.at(0).value<AnswerSide>())] += token.at(1).toString();
        QVERIFY2(answer[1].contains("4821"), qPrintable(answer[1]));
        QVERIFY2(!answer[0].contains("4821"), qPrintable(answer[0]));

        // Each side read the whole document from nothing: the probe's cost is now estimated
        // from the last one's prefill, once per candidate.
        const StudioController::ProbePlan plan =
            controller.probePlan(controller.documentTokens() + 100, 3);
        QVERIFY2(plan.estimatedSeconds > 0 && plan.estimatedSeconds < 60,
                 qPrintable(QString::number(plan.estimatedSeconds)));

        // Stale only where what it was asked with changed: G and W touch Self-Extend alone.
        const AttentionMode asked = AttentionMode::self_extend(5, 256);
        const AttentionMode other = AttentionMode::self_extend(4, 256);
        QCOMPARE(controller.staleness(AnswerSide::SelfExtend, asked), QString());
        QCOMPARE(controller.staleness(AnswerSide::Vanilla, other), QString());
        const QString stale = controller.staleness(AnswerSide::SelfExtend, other);
        QVERIFY2(stale.contains("G=5 W=256") && stale.contains("the G and W changed"),
                 qPrintable(stale));
        controller.forgetAnswerContext(AnswerSide::SelfExtend);
        QCOMPARE(controller.staleness(AnswerSide::SelfExtend, other), QString());

        // Another document makes both stale.
        QSignalSpy counted(&controller, &StudioController::documentTokensCounted);
        controller.openDocument(QStringLiteral(SE_SOURCE_DIR "/README.md"));
        QVERIFY(counted.wait(kWaitMs));
        QVERIFY2(controller.staleness(AnswerSide::Vanilla, asked).contains("the document changed"),
                 qPrintable(controller.staleness(AnswerSide::Vanilla, asked)));
    }

    void stopEndsTheRunningAsk() {
        StudioController controller;
        openBoth(controller);
        QSignalSpy prefill(&controller, &StudioController::prefillProgress);
        QSignalSpy runs(&controller, &StudioController::runFinished);
        QSignalSpy finished(&controller, &StudioController::askFinished);
        studio::AskRequest request;
        request.question = "What is the door code?";
        request.maxNewTokens = 400;
        request.stopAtLineBreak = false;
        request.useDiskCache = false;
        request.runVanilla = false;
        request.selfExtend = AttentionMode::self_extend(5, 256);
        QVERIFY(controller.ask(request));
        QVERIFY(prefill.wait(kWaitMs));  // it runs
        controller.stopAll();
        QVERIFY(finished.wait(kWaitMs));
        QVERIFY(controller.askStopped());
        QCOMPARE(runs.count(), 1);
        QVERIFY(runs.first().at(1).value<studio::RunStats>().cancelled);
        // A new request has fresh tokens: the last Stop does not stop it.
        studio::AskRequest next;
        next.question = request.question;
        next.maxNewTokens = 4;
        next.useDiskCache = false;
        next.runVanilla = false;
        QVERIFY(controller.ask(next));
        QVERIFY(finished.wait(kWaitMs));
        QVERIFY(!controller.askStopped());
        QVERIFY(!runs.last().at(1).value<studio::RunStats>().cancelled);
    }

    void failedGpuLoadsOnTheCpuAndIsNotSaved() {
        if (selfextend::gpu_availability().available)
            QSKIP("this machine's GPU loads the model: nothing falls back");
        QSettings().setValue("device", int(studio::kDeviceCpu));
        StudioController controller;
        QSignalSpy gpuFailed(&controller, &StudioController::gpuFailed);
        QSignalSpy loaded(&controller, &StudioController::modelLoaded);
        controller.openModel(model_, studio::kDeviceGpu, 2);
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(gpuFailed.count(), 1);
        QCOMPARE(gpuFailed.first().at(0).toString(), model_);
        QVERIFY(controller.hasModel());
        QCOMPARE(controller.loadingDevice(), int(studio::kDeviceAuto));
        // The device saved is the one that loaded it, never the GPU that failed.
        QCOMPARE(QSettings().value("device").toInt(), int(studio::kDeviceAuto));

        // A model that fails keeps the one loaded.
        QSignalSpy failed(&controller, &StudioController::modelLoadFailed);
        controller.openModel(QStringLiteral(SE_SOURCE_DIR "/README.md"), studio::kDeviceCpu, 2);
        QVERIFY(!controller.hasModel());
        QVERIFY(failed.wait(kWaitMs));
        QVERIFY(controller.hasModel());
        QCOMPARE(controller.modelPath(), model_);
    }

  private:
    void openBoth(StudioController& controller) {
        QSignalSpy loaded(&controller, &StudioController::modelLoaded);
        QSignalSpy counted(&controller, &StudioController::documentTokensCounted);
        controller.openModel(model_, studio::kDeviceCpu, 2);
        controller.openDocument(kSample);
        QVERIFY(counted.wait(kWaitMs));
        QCOMPARE(loaded.count(), 1);
    }

    QTemporaryDir dir_;
    QString model_;
};

QTEST_GUILESS_MAIN(TestStudioController)
#include "tst_studio_controller.moc"
