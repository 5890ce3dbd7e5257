// A dismissible strip above the work area: the one place errors and warnings are shown (no
// dialog, no status-bar copy). Each message belongs to a topic, so that two problems at once (a
// bad model and a bad document) both show, and so that a message goes away when its topic is
// resolved (the model loads, the document opens, the question is asked).
#pragma once

#include <QFrame>
#include <QList>

class QLabel;

namespace studio {

class ErrorBanner : public QFrame {
    Q_OBJECT

  public:
    enum class Kind { Error, Warning };
    enum class Topic { Model, Document, Ask, Evaluate, Settings, Device, Startup };

    explicit ErrorBanner(QWidget* parent = nullptr);

    // Replaces the topic's message, if it had one.
    void showMessage(const QString& message, Kind kind, Topic topic);
    void clear(Topic topic);
    void clearAll();
    QString message() const;  // every message shown, one a line; empty when hidden
    bool has(Topic topic) const;

  private:
    struct Entry {
        Topic topic;
        Kind kind;
        QString text;
    };
    void refresh();

    QLabel* label_;
    QList<Entry> entries_;
};

}  // namespace studio
