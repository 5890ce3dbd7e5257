#include "DocumentPane.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>
#include "DocumentFilter.h"

#include "Format.h"
#include "PositionRuler.h"
#include "SourcesBar.h"

namespace studio {

DocumentPane::DocumentPane(QWidget* parent)
    : QWidget(parent),
      title_(new QLabel(tr("No document"))),
      summary_(new QLabel),
      warning_(new QLabel),
      legend_(new QLabel),
      sampleLink_(new QLabel(tr("New here? <a href=\"sample\">Open the sample document</a>: a "
                                "text with a door code hidden in it, longer than the demo "
                                "model's window, to ask \"What is the door code?\""))),
      openButton_(new QPushButton(tr("Open…"))),
      text_(new QPlainTextEdit),
      ruler_(new PositionRuler) {
    title_->setObjectName("documentTitle");
    summary_->setObjectName("documentSummary");
    warning_->setObjectName("documentWarning");
    text_->setObjectName("documentText");
    QFont titleFont = title_->font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.15);
    title_->setFont(titleFont);
    title_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    warning_->setWordWrap(true);
    warning_->setVisible(false);
    warning_->setStyleSheet("QLabel { color: #9a5b00; }");
    legend_->setObjectName("sourcesLegend");
    legend_->setWordWrap(true);
    legend_->setVisible(false);
    sampleLink_->setObjectName("sampleLink");
    sampleLink_->setWordWrap(true);
    sampleLink_->setVisible(false);
    text_->setReadOnly(true);
    text_->setMinimumHeight(fontMetrics().height() * 3);  // small windows keep the answers' room
    text_->setPlaceholderText(tr("Open a %1 file (File ▸ Open, Ctrl+O), or drop one here.")
                                  .arg(documentExtensionsPhrase()));
    openButton_->setToolTip(tr("Open a document (Ctrl+O)"));

    auto* header = new QHBoxLayout;
    header->addWidget(title_);
    header->addWidget(summary_, 1);
    header->addWidget(openButton_);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(header);
    layout->addWidget(warning_);
    layout->addWidget(legend_);
    layout->addWidget(sampleLink_);
    layout->addWidget(text_, 1);
    layout->addWidget(ruler_);

    connect(openButton_, &QPushButton::clicked, this, &DocumentPane::openRequested);
    connect(sampleLink_, &QLabel::linkActivated, this, &DocumentPane::sampleRequested);
    updateSummary();
}

void DocumentPane::setLoading(const QString& path) {
    summary_->setText(tr("loading %1…").arg(QFileInfo(path).fileName()));
}

void DocumentPane::setDocument(const DocumentInfo& document) {
    path_ = document.path;
    sampleLink_->setVisible(false);
    characters_ = document.text.size();
    tokens_ = document.tokenCount;
    title_->setText(QFileInfo(path_).fileName());
    title_->setToolTip(path_);
    if (!document.encoding.isEmpty())
        warning_->setText(
            tr("This file is not UTF-8: it was read as %1 (detected).").arg(document.encoding));
    else
        warning_->setText(
            tr("⚠ This file is not valid UTF-8: the invalid bytes were replaced by �."));
    warning_->setVisible(document.hadInvalidUtf8 || !document.encoding.isEmpty());
    text_->setPlainText(document.text);
    for (auto& passages : sources_) passages.clear();
    updateHighlights();
    ruler_->setTokens(tokens_);
    updateSummary();
}

void DocumentPane::setSampleAvailable(bool available) {
    sampleLink_->setVisible(available && path_.isEmpty());
}

void DocumentPane::setTokenCount(qint64 tokens) {
    tokens_ = tokens;
    ruler_->setTokens(tokens);
    updateSummary();
}

void DocumentPane::setTrainingWindow(qint64 window) {
    ruler_->setTrainingWindow(window);
}
void DocumentPane::setCapacity(qint64 capacity) {
    ruler_->setCapacity(capacity);
}
QString DocumentPane::text() const {
    return text_->toPlainText();
}
QString DocumentPane::summaryText() const {
    return summary_->text();
}

void DocumentPane::setSources(AnswerSide side, const QList<SourcePassage>& passages) {
    // The passage shown last stays marked while it is still among the sources (they are
    // re-ranked while an answer streams).
    if (shown_.first == side && shown_.second >= 0) {
        const qint64 start = sources_[size_t(side)][shown_.second].start;
        shown_.second = int(std::find_if(passages.begin(), passages.end(),
                                         [&](const SourcePassage& p) { return p.start == start; }) -
                            passages.begin());
        if (shown_.second == passages.size()) shown_.second = -1;
    }
    sources_[size_t(side)] = passages;
    updateHighlights();
}

void DocumentPane::updateHighlights() {
    QList<QTextEdit::ExtraSelection> selections;
    QStringList legend;
    const int length = text_->document()->characterCount();
    for (const AnswerSide side : {AnswerSide::Vanilla, AnswerSide::SelfExtend}) {
        const QList<SourcePassage>& passages = sources_[size_t(side)];
        if (passages.isEmpty()) continue;
        const QColor color = sourceColor(side);
        for (int k = 0; k < passages.size(); ++k) {
            const SourcePassage& p = passages[k];
            if (p.start + p.length >= length) continue;  // from another document
            QTextEdit::ExtraSelection selection;
            selection.cursor = QTextCursor(text_->document());
            selection.cursor.setPosition(int(p.start));
            selection.cursor.setPosition(int(p.start + p.length), QTextCursor::KeepAnchor);
            selection.format.setBackground(color);
            selection.format.setForeground(Qt::black);
            if (shown_ == std::pair{side, k}) {
                // The passage just jumped to keeps its side's colour, deeper and underlined (a
                // text selection would paint over it in the palette's highlight).
                selection.format.setBackground(color.darker(125));
                selection.format.setUnderlineStyle(QTextCharFormat::SingleUnderline);
                selection.format.setUnderlineColor(color.darker(220));
            }
            selections.append(selection);
        }
        legend << QStringLiteral("<span style=\"background:%1; color:black\">&nbsp;%2&nbsp;</span>")
                      .arg(color.name(),
                           side == AnswerSide::Vanilla ? tr("vanilla") : tr("Self-Extend"));
    }
    // Where both sides chose a passage, the two colours overlap (the later drawn on top).
    text_->setExtraSelections(selections);
    legend_->setText(tr("Sources of the answers: %1").arg(legend.join(QStringLiteral(" "))));
    legend_->setVisible(!legend.isEmpty());
}

void DocumentPane::showSource(AnswerSide side, int index) {
    const QList<SourcePassage>& passages = sources_[size_t(side)];
    if (index < 0 || index >= passages.size()) return;
    const SourcePassage& p = passages[index];
    QTextCursor cursor(text_->document());
    cursor.setPosition(int(p.start));
    text_->setTextCursor(cursor);  // no selection: the passage keeps its colour
    text_->centerCursor();
    shown_ = {side, index};
    updateHighlights();
}

QString DocumentPane::shownSource() const {
    const auto& [side, index] = shown_;
    if (index < 0) return {};
    const SourcePassage& p = sources_[size_t(side)][index];
    return text_->toPlainText().mid(int(p.start), int(p.length));
}

void DocumentPane::updateSummary() {
    if (path_.isEmpty()) {
        summary_->clear();
        return;
    }
    const QString tokens = tokens_ < 0 ? tr("tokens: counting when a model is loaded")
                                       : tr("%1 tokens").arg(formatCount(tokens_));
    summary_->setText(tr("%1 characters · %2").arg(formatCount(characters_), tokens));
}

}  // namespace studio
