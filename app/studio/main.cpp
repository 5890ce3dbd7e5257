// selfextend-studio [--model FILE.gguf] [--group G] [--window W] [MODEL.gguf] [DOCUMENT]
#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QIcon>
#include <optional>

#include "MainWindow.h"
#include "OpenedFiles.h"
#include "ScreenshotTour.h"
#include "StartupOptions.h"
#include "selfextend/document.h"

int main(int argc, char* argv[]) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("SelfExtend"));
    QApplication::setApplicationName(QStringLiteral("SelfExtend Studio"));
    QApplication::setApplicationVersion(QStringLiteral(SE_VERSION));
    // Wayland compositors match the window to the installed desktop entry (name and icon) by
    // this id; packaging/ installs org.selfextend.Studio.desktop.
    QGuiApplication::setDesktopFileName(QStringLiteral("org.selfextend.Studio"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/selfextend-studio.svg")));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QApplication::translate("main", "Ask long documents questions with Self-Extend."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption model(QStringLiteral("model"),
                                   QApplication::translate("main", "GGUF model to load."),
                                   QStringLiteral("FILE.gguf"));
    const QCommandLineOption group(
        QStringLiteral("group"),
        QApplication::translate("main", "Self-Extend group size G (1-64)."), QStringLiteral("G"));
    const QCommandLineOption window(
        QStringLiteral("window"),
        QApplication::translate("main", "Self-Extend neighbour window W."), QStringLiteral("W"));
    // Hidden: used by tools/screenshot.sh to ask once, grab the window and quit.
    QCommandLineOption ask(QStringLiteral("ask"), QStringLiteral("Ask once loaded."),
                           QStringLiteral("QUESTION"));
    ask.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QStringLiteral("Save a PNG of the window after the answers and quit."),
        QStringLiteral("FILE"));
    screenshot.setFlags(QCommandLineOption::HiddenFromHelp);
    // Hidden: tools/screenshot.sh --tour. Pictures of each step (ScreenshotTour) into FOLDER:
    // the document opens after the first; --ask, given once for each question, asks it and its
    // follow-ups; the Self-Extend source holding --highlight's text is selected.
    QCommandLineOption tour(QStringLiteral("tour"),
                            QStringLiteral("Save a tour of the studio in pictures and quit."),
                            QStringLiteral("FOLDER"));
    tour.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption highlight(QStringLiteral("highlight"),
                                 QStringLiteral("The tour's source to select."),
                                 QStringLiteral("TEXT"));
    highlight.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOptions({model, group, window, ask, screenshot, tour, highlight});
    parser.addPositionalArgument(
        QStringLiteral("FILES"),
        QApplication::translate("main", "A GGUF model to load and/or a document to open (%1).")
            .arg(QString::fromStdString(selfextend::document_extensions_phrase())),
        QStringLiteral("[MODEL.gguf] [DOCUMENT]"));
    parser.process(app);

    studio::StartupOptions options;
    options.modelPath = parser.value(model);
    const auto parseInt = [&](const QCommandLineOption& option, int low,
                              int high) -> std::optional<int> {
        if (!parser.isSet(option)) return std::nullopt;
        bool ok = false;
        const int value = parser.value(option).toInt(&ok);
        if (!ok || value < low || value > high) {
            qCritical("--%s must be a whole number from %d to %d",
                      qPrintable(option.names().first()), low, high);
            std::exit(2);
        }
        return value;
    };
    options.group = parseInt(group, 1, 64);
    options.window = parseInt(window, 0, 1 << 20);
    options.askQuestion = parser.value(ask);
    options.screenshotPath = parser.value(screenshot);
    // The desktop entry hands over whatever the file manager opened (%F): a .gguf (told apart
    // by its magic, as the MIME type is) is the model, anything else the document.
    const studio::OpenedFiles files =
        studio::sortOpenedFiles(parser.positionalArguments(), options.modelPath);
    options.modelPath = files.model;
    options.documentPath = files.document;
    options.ignoredFiles = files.ignored;

    std::optional<studio::ScreenshotTour::Script> script;
    if (parser.isSet(tour)) {
        // The first picture is the window as a new user sees it: no document yet.
        script = studio::ScreenshotTour::Script{.folder = parser.value(tour),
                                                .documentPath = options.documentPath,
                                                .questions = parser.values(ask),
                                                .highlight = parser.value(highlight)};
        options.documentPath.clear();
        options.askQuestion.clear();
        options.screenshotPath.clear();
    }

    studio::MainWindow window_;
    window_.show();
    window_.start(options);
    std::optional<studio::ScreenshotTour> screenshotTour;
    if (script) screenshotTour.emplace(&window_, *script).begin();
    return QApplication::exec();
}
