// The studio's tour in pictures (tools/screenshot.sh --tour): drives a started MainWindow through
// first start, a question and its follow-up on a document, the answer's sources highlighted in
// it, the Evaluate tab after a pass-key test and a perplexity run, and the Tune tab after a
// probe, saving a PNG of the window at each step, then quits the application.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <functional>

namespace studio {

class MainWindow;

class ScreenshotTour : public QObject {
    Q_OBJECT

  public:
    struct Script {
        QString folder;         // where the pictures go (created if missing)
        QString documentPath;   // opened after the first picture
        QStringList questions;  // the first question, then its follow-ups (at least one)
        // The Self-Extend source to select: the first of its passages containing this text
        // (case-insensitive), else its best passage.
        QString highlight;
        // Inside the capacity Auto picks for the document (longer ones would ask first).
        QString passkeyLengths = QStringLiteral("512, 1024, 1536");
        QString perplexityLengths = QStringLiteral("256, 512, 1024, 1536");
    };
    // The names of the pictures, in the order they are taken.
    static QStringList pictureNames();

    // `window` must outlive the tour; start() it (with no document) before calling begin().
    ScreenshotTour(MainWindow* window, Script script, QObject* parent = nullptr);
    void begin();

  signals:
    // The tour is over: ok, or why not. Without a receiver the application exits (0 or 1).
    void finished(bool ok, const QString& message);

  private:
    using Step = std::function<void()>;
    // Runs `then` once `ready` holds (checked every tenth of a second).
    void when(std::function<bool()> ready, Step then);
    // Runs `then` on the next emission of the window's signal.
    template <typename Signal>
    void after(Signal signal, Step then);
    // Saves the window as `name` once its last changes are painted, then runs `then`.
    void shoot(const QString& name, Step then);
    void showTab(QWidget* page);
    // Gives the document pane this share of the height it splits with the tabs, as a user
    // dragging the splitter would: more to see the highlights, less for the Evaluate charts.
    void setDocumentShare(double share);
    void fail(const QString& message);
    void finish(bool ok, const QString& message);

    void openDocument();
    void askNext(int question);
    void selectSource();
    void evaluate();
    void probe();

    MainWindow* window_;
    Script script_;
    QTimer deadline_;
    bool over_ = false;
};

}  // namespace studio
