#include "ScreenshotTour.h"

#include <QCoreApplication>
#include <QDir>
#include <QLineEdit>
#include <QMetaMethod>
#include <QPixmap>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextBrowser>
#include <QToolButton>
#include <utility>

#include "AnswerPane.h"
#include "ComparePane.h"
#include "DocumentPane.h"
#include "EvaluateTab.h"
#include "MainWindow.h"
#include "ProbePanel.h"
#include "SourcesBar.h"

namespace studio {
namespace {

constexpr int kPollMs = 100;
// Time for the last streamed tokens, progress bars and charts to be painted before a picture.
constexpr int kSettleMs = 400;
// The whole tour takes well under a minute on the demo model; a stuck step ends it.
constexpr int kDeadlineMs = 10 * 60 * 1000;

void logAnswers(const MainWindow& window) {
    for (const AnswerPane* pane :
         {window.comparePane()->vanillaPane(), window.comparePane()->selfExtendPane()}) {
        const char* side = pane->side() == AnswerSide::Vanilla ? "vanilla" : "self-extend";
        qInfo("%s: %s", side, qPrintable(pane->answer().simplified()));
        qInfo("%s run: %s", side, qPrintable(pane->statusText().simplified()));
    }
}

void logTable(const QTableWidget& table) {
    for (int row = 0; row < table.rowCount(); ++row) {
        QStringList cells;
        if (const QTableWidgetItem* header = table.verticalHeaderItem(row)) cells << header->text();
        for (int column = 0; column < table.columnCount(); ++column)
            if (const QTableWidgetItem* item = table.item(row, column)) cells << item->text();
        qInfo("  %s", qPrintable(cells.join(QStringLiteral(" | "))));
    }
}

}  // namespace

QStringList ScreenshotTour::pictureNames() {
    return {QStringLiteral("first-start.png"), QStringLiteral("conversation.png"),
            QStringLiteral("sources.png"),     QStringLiteral("evaluate.png"),
            QStringLiteral("perplexity.png"),  QStringLiteral("tune.png")};
}

ScreenshotTour::ScreenshotTour(MainWindow* window, Script script, QObject* parent)
    : QObject(parent), window_(window), script_(std::move(script)) {
    deadline_.setSingleShot(true);
    connect(&deadline_, &QTimer::timeout, this,
            [this] { fail(tr("the tour did not finish within %1 s").arg(kDeadlineMs / 1000)); });
}

void ScreenshotTour::begin() {
    if (script_.questions.isEmpty() || script_.documentPath.isEmpty())
        return fail(tr("the tour needs a document and at least one question"));
    if (!QDir().mkpath(script_.folder)) return fail(tr("cannot create %1").arg(script_.folder));
    // An error in the banner would be in every later picture: the tour stops at the first.
    connect(window_, &MainWindow::errorShown, this, [this](const QString& message) {
        if (!over_) fail(tr("the window showed an error: %1").arg(message));
    });
    deadline_.start(kDeadlineMs);
    when([this] { return window_->hasModel(); },
         [this] {
             shoot(QStringLiteral("first-start.png"), [this] {
                 // The rest as a user who opens a document would see it: the window maximised
                 // (Evaluate's table, heat map and chart need the height).
                 if (const QScreen* screen = window_->screen())
                     window_->setGeometry(screen->availableGeometry());
                 openDocument();
             });
         });
}

void ScreenshotTour::when(std::function<bool()> ready, Step then) {
    if (over_) return;
    if (ready()) {
        then();
        return;
    }
    QTimer::singleShot(kPollMs, this, [this, ready = std::move(ready), then = std::move(then)] {
        when(ready, then);
    });
}

template <typename Signal>
void ScreenshotTour::after(Signal signal, Step then) {
    connect(
        window_, signal, this,
        [this, then = std::move(then)] {
            if (!over_) then();
        },
        Qt::SingleShotConnection);
}

void ScreenshotTour::shoot(const QString& name, Step then) {
    QTimer::singleShot(kSettleMs, this, [this, name, then = std::move(then)] {
        if (over_) return;
        const QString path = QDir(script_.folder).filePath(name);
        if (!window_->grab().save(path, "PNG")) return fail(tr("could not write %1").arg(path));
        qInfo("wrote %s", qPrintable(path));
        then();
    });
}

void ScreenshotTour::showTab(QWidget* page) {
    for (QWidget* parent = page->parentWidget(); parent; parent = parent->parentWidget())
        if (auto* tabs = qobject_cast<QTabWidget*>(parent)) {
            tabs->setCurrentWidget(page);
            return;
        }
}

void ScreenshotTour::setDocumentShare(double share) {
    for (QWidget* parent = window_->documentPane()->parentWidget(); parent;
         parent = parent->parentWidget())
        if (auto* split = qobject_cast<QSplitter*>(parent);
            split && split->orientation() == Qt::Vertical) {
            const QList<int> sizes = split->sizes();
            int total = 0;
            for (const int size : sizes) total += size;
            const int document = int(total * share);
            split->setSizes({document, total - document});
            return;
        }
}

void ScreenshotTour::openDocument() {
    const QString path = script_.documentPath;
    window_->openDocument(path);
    DocumentPane* pane = window_->documentPane();
    when([pane, path] { return pane->path() == path && pane->tokenCount() > 0; },
         [this, pane] {
             qInfo("document: %s", qPrintable(pane->summaryText().simplified()));
             askNext(0);
         });
}

void ScreenshotTour::askNext(int question) {
    window_->comparePane()->setQuestion(script_.questions[question]);
    after(&MainWindow::askDone, [this, question] {
        qInfo("asked: %s", qPrintable(script_.questions[question]));
        logAnswers(*window_);
        if (question + 1 < script_.questions.size())
            askNext(question + 1);
        else
            shoot(QStringLiteral("conversation.png"), [this] { selectSource(); });
    });
    window_->ask(MainWindow::FitChoice::FitNow);
    if (!window_->isAsking()) fail(tr("the question was not asked: %1").arg(window_->bannerText()));
}

void ScreenshotTour::selectSource() {
    const DocumentPane* document = window_->documentPane();
    for (const SourcePassage& passage : document->sources(AnswerSide::Vanilla))
        qInfo("vanilla source: %.1f%% %s", passage.share * 100.0,
              qPrintable(document->text().mid(passage.start, passage.length).left(80)));
    const QList<SourcePassage>& passages = document->sources(AnswerSide::SelfExtend);
    if (passages.isEmpty()) return fail(tr("the Self-Extend answer has no sources"));
    qsizetype chosen = 0;
    for (qsizetype k = 0; k < passages.size(); ++k) {
        const QString passage = document->text().mid(passages[k].start, passages[k].length);
        qInfo("self-extend source %lld: %.1f%% %s", static_cast<long long>(k + 1),
              passages[k].share * 100.0, qPrintable(passage.left(80)));
        if (!script_.highlight.isEmpty() && chosen == 0 &&
            passage.contains(script_.highlight, Qt::CaseInsensitive))
            chosen = k;
    }
    const SourcesBar* bar = window_->comparePane()->selfExtendPane()->sourcesBar();
    auto* button =
        bar->findChild<QToolButton*>(QStringLiteral("%1%2").arg(bar->objectName()).arg(chosen + 1));
    if (!button) return fail(tr("no button for source %1").arg(chosen + 1));
    setDocumentShare(0.45);
    button->click();
    // Once the splitter has laid the answers out again: their latest turns in view.
    QTimer::singleShot(kPollMs, this, [this] {
        for (const char* name : {"vanillaAnswer", "selfExtendAnswer"})
            if (auto* answer = window_->comparePane()->findChild<QTextBrowser*>(name))
                answer->verticalScrollBar()->setValue(answer->verticalScrollBar()->maximum());
    });
    qInfo("shown: %s", qPrintable(document->shownSource().simplified()));
    shoot(QStringLiteral("sources.png"), [this] { evaluate(); });
}

void ScreenshotTour::evaluate() {
    EvaluateTab* tab = window_->evaluateTab();
    setDocumentShare(0.0);  // as small as it goes: the table, heat map and chart need the room
    showTab(tab);
    tab->findChild<QLineEdit*>(QStringLiteral("passkeyLengths"))->setText(script_.passkeyLengths);
    tab->findChild<QLineEdit*>(QStringLiteral("perplexityLengths"))
        ->setText(script_.perplexityLengths);
    after(&MainWindow::evaluationDone, [this, tab] {
        qInfo("pass key:");
        logTable(*tab->findChild<QTableWidget*>(QStringLiteral("passkeyTable")));
        after(&MainWindow::evaluationDone, [this, tab] {
            for (const bool selfExtend : {false, true})
                for (const QPointF& point : tab->perplexityPoints(selfExtend))
                    qInfo("perplexity %s at %g tokens: %.2f",
                          selfExtend ? "self-extend" : "vanilla", point.x(), point.y());
            // The results over the inputs: the page is taller than the window; in a laptop-sized
            // one the pass-key test stands above the perplexity chart, a picture for each.
            auto* page = tab->findChild<QScrollArea*>();
            if (page) page->ensureWidgetVisible(tab->findChild<QTableWidget*>(), 0, 0);
            shoot(QStringLiteral("evaluate.png"), [this, page] {
                if (page) page->verticalScrollBar()->setValue(page->verticalScrollBar()->maximum());
                shoot(QStringLiteral("perplexity.png"), [this] { probe(); });
            });
        });
        window_->runPerplexity();
        if (!window_->isEvaluating())
            fail(tr("the perplexity run did not start (a length past the capacity?)"));
    });
    window_->runPasskey();
    if (!window_->isEvaluating())
        fail(tr("the pass-key test did not start (a length past the capacity?)"));
}

void ScreenshotTour::probe() {
    ProbePanel* panel = window_->probePanel();
    showTab(panel);
    after(&MainWindow::probeDone, [this, panel] {
        qInfo("probe:");
        logTable(*panel->findChild<QTableWidget*>(QStringLiteral("probeTable")));
        qInfo("%s", qPrintable(panel->recommendationText()));
        shoot(QStringLiteral("tune.png"), [this] { finish(true, {}); });
    });
    window_->runProbe();
}

void ScreenshotTour::fail(const QString& message) {
    if (over_) return;
    qWarning("tour: %s", qPrintable(message));
    finish(false, message);
}

void ScreenshotTour::finish(bool ok, const QString& message) {
    over_ = true;
    deadline_.stop();
    emit finished(ok, message);
    if (!isSignalConnected(QMetaMethod::fromSignal(&ScreenshotTour::finished)))
        QCoreApplication::exit(ok ? 0 : 1);
}

}  // namespace studio
