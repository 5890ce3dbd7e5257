// selfextend-studio [--model FILE.gguf] [--group G] [--window W] [--ask QUESTION] [MODEL.gguf]
//                   [DOCUMENT]
#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QIcon>
#include <optional>

#include "MainWindow.h"
#include "OpenedFiles.h"
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
    const QCommandLineOption ask(
        QStringLiteral("ask"),
        QApplication::translate("main",
                                "Ask this question once the model and the document are loaded."),
        QStringLiteral("QUESTION"));
    parser.addOptions({model, group, window, ask});
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
    // The desktop entry hands over whatever the file manager opened (%F): a .gguf (told apart
    // by its magic, as the MIME type is) is the model, anything else the document.
    const studio::OpenedFiles files =
        studio::sortOpenedFiles(parser.positionalArguments(), options.modelPath);
    options.modelPath = files.model;
    options.documentPath = files.document;
    options.ignoredFiles = files.ignored;

    studio::MainWindow window_;
    window_.show();
    window_.start(options);
    return QApplication::exec();
}
