// studio-pictures: the studio's window in pictures, for the documentation (tools/screenshot.sh).
//
//   studio-pictures --model M.gguf [--group G] [--window W] --ask Q --screenshot OUT.png DOCUMENT
//       asks Q once the model and the document are there (as given: no question about the fit),
//       prints both answers, saves the window and quits (exit status 1 when it could not).
//   studio-pictures --model M.gguf --tour FOLDER --ask Q [--ask FOLLOW-UP …] [--highlight TEXT]
//       DOCUMENT
//       the tour (ScreenshotTour): one picture a step into FOLDER.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <optional>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "MainWindow.h"
#include "ScreenshotTour.h"
#include "StudioController.h"

namespace {

// Asks once the window is ready, then prints the answers, saves the window and quits.
void answerThenShoot(studio::MainWindow& window, const QString& question, const QString& path) {
    auto* poll = new QTimer(&window);
    QObject::connect(&window, &studio::MainWindow::errorShown, &window, [&window] {
        if (!window.hasModel()) QApplication::exit(1);  // the model never loaded: no picture
    });
    QObject::connect(poll, &QTimer::timeout, &window, [&window, poll, question] {
        const studio::StudioController* controller = window.controller();
        if (!controller->readyToAsk() || !controller->hasDocument()) return;
        poll->stop();
        window.comparePane()->setQuestion(question);
        window.ask(studio::MainWindow::FitChoice::RunAnyway);
    });
    QObject::connect(&window, &studio::MainWindow::askDone, &window, [&window, path] {
        const studio::ComparePane* panes = window.comparePane();
        qInfo("vanilla: %s", qPrintable(panes->vanillaPane()->answer().simplified()));
        qInfo("self-extend: %s", qPrintable(panes->selfExtendPane()->answer().simplified()));
        qInfo("vanilla run: %s", qPrintable(panes->vanillaPane()->statusText()));
        qInfo("self-extend run: %s", qPrintable(panes->selfExtendPane()->statusText()));
        // One more turn of the event loop so the last tokens and labels are painted.
        QTimer::singleShot(200, &window, [&window, path] {
            const bool saved = window.grab().save(path, "PNG");
            if (!saved) qWarning("could not write the screenshot to %s", qPrintable(path));
            QApplication::exit(saved ? 0 : 1);
        });
    });
    poll->start(100);
}

}  // namespace

int main(int argc, char* argv[]) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("SelfExtend"));
    QApplication::setApplicationName(QStringLiteral("SelfExtend Studio"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Pictures of SelfExtend Studio."));
    parser.addHelpOption();
    const QCommandLineOption model(QStringLiteral("model"), QStringLiteral("GGUF model."),
                                   QStringLiteral("FILE.gguf"));
    const QCommandLineOption group(QStringLiteral("group"), QStringLiteral("G, pinned."),
                                   QStringLiteral("G"));
    const QCommandLineOption window(QStringLiteral("window"), QStringLiteral("W, pinned."),
                                    QStringLiteral("W"));
    const QCommandLineOption ask(QStringLiteral("ask"),
                                 QStringLiteral("The question (with --tour: then each follow-up)."),
                                 QStringLiteral("QUESTION"));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QStringLiteral("Save the window after the answers."),
                                        QStringLiteral("FILE.png"));
    const QCommandLineOption tour(QStringLiteral("tour"),
                                  QStringLiteral("Save a picture of each step into FOLDER."),
                                  QStringLiteral("FOLDER"));
    const QCommandLineOption highlight(QStringLiteral("highlight"),
                                       QStringLiteral("The tour's source to select."),
                                       QStringLiteral("TEXT"));
    parser.addOptions({model, group, window, ask, screenshot, tour, highlight});
    parser.addPositionalArgument(QStringLiteral("DOCUMENT"), QStringLiteral("The document."));
    parser.process(app);
    const QStringList documents = parser.positionalArguments();
    if (documents.size() != 1 || parser.values(ask).isEmpty() ||
        parser.isSet(screenshot) == parser.isSet(tour)) {
        qCritical("give one DOCUMENT, --ask, and either --screenshot or --tour (see --help)");
        return 2;
    }
    const auto number = [&](const QCommandLineOption& option) -> std::optional<int> {
        if (!parser.isSet(option)) return std::nullopt;
        return parser.value(option).toInt();
    };

    studio::MainWindow main;
    main.show();
    std::optional<studio::ScreenshotTour> screenshotTour;
    if (parser.isSet(tour)) {
        // The first picture is the window as a new user sees it: no document yet.
        main.start(
            {.modelPath = parser.value(model), .group = number(group), .window = number(window)});
        screenshotTour
            .emplace(&main, studio::ScreenshotTour::Script{.folder = parser.value(tour),
                                                           .documentPath = documents.first(),
                                                           .questions = parser.values(ask),
                                                           .highlight = parser.value(highlight)})
            .begin();
    } else {
        main.start({.modelPath = parser.value(model),
                    .documentPath = documents.first(),
                    .group = number(group),
                    .window = number(window)});
        answerThenShoot(main, parser.value(ask), parser.value(screenshot));
    }
    return QApplication::exec();
}
