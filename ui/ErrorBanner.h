// A dismissible strip above the work area that shows the latest error or warning. Errors are
// shown here (and in a non-modal message box) rather than only in a blocking dialog, so that
// long runs keep going and tests can read the message.
#pragma once

#include <QFrame>

class QLabel;

namespace studio {

class ErrorBanner : public QFrame {
    Q_OBJECT

  public:
    enum class Kind { Error, Warning };

    explicit ErrorBanner(QWidget* parent = nullptr);

    void showMessage(const QString& message, Kind kind);
    QString message() const;

  private:
    QLabel* label_;
};

}  // namespace studio
