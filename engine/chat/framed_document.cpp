// The document's ids encoded once. A question's prompt is the markup of the conversation: the
// parts before the document (BOS, the system turn), the part that holds the document (the first
// user turn: its markup, the document, the first question), then the later turns. Its ids are
// those of the markup encoded whole, so the document's part is cut near a newline where the
// vocabulary says no token spans the cut (Tokenizer::safe_cut): the ids before the cut are
// encoded here, those after it for each question (the document's last lines, the question).
#include <algorithm>

#include "selfextend/document_conversation.h"
#include "selfextend/error.h"
#include "selfextend/tokenizer.h"

namespace selfextend {

namespace {

// How many newlines from the document's end are tried for a cut before giving up (a vocabulary
// that allows one allows it at most line breaks; a document whose last lines all refuse is rare).
constexpr int kCutAttempts = 4096;

int64_t shared_length(std::span<const int32_t> a, std::span<const int32_t> b) {
    return std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin();
}

bool same_part(const ChatTemplate::MarkupPart& a, const ChatTemplate::MarkupPart& b) {
    return a.id == b.id && a.text == b.text;
}

}  // namespace

FramedDocument::FramedDocument(ChatTemplate chat, std::string system, std::string document)
    : chat_(std::move(chat)), system_(std::move(system)), document_(std::move(document)) {
    encode_head();
}

void FramedDocument::encode_head() {
    const Tokenizer& tokenizer = chat_.tokenizer();
    // A vocabulary that ends every encode with EOS cannot be encoded in parts.
    if (document_.empty() || tokenizer.adds_eos()) return;
    const auto first_question = [&](std::string_view q) {
        return chat_.markup(chat_.document_conversation(system_, document_, {}, q), false);
    };
    const std::vector<ChatTemplate::MarkupPart> a = first_question("A");
    // The part that holds the document, and where the document ends in it (a template may trim
    // the message's leading blanks: the document is found by its text past them).
    const size_t first_visible = document_.find_first_not_of(" \t\r\n");
    if (first_visible == std::string::npos) return;
    const std::string_view visible = std::string_view(document_).substr(first_visible);
    Head head;
    size_t document_end = std::string::npos;
    for (; head.part < a.size(); ++head.part) {
        if (a[head.part].id >= 0) continue;
        const size_t at = a[head.part].text.find(visible);
        if (at != std::string::npos) {
            document_end = at + visible.size();
            break;
        }
    }
    if (document_end == std::string::npos) return;
    // The last newline inside the document where the text may be cut.
    const std::string& text = a[head.part].text;
    size_t newline = document_end;
    std::optional<size_t> cut;
    for (int attempt = 0; attempt < kCutAttempts && newline > 0 && !cut; ++attempt) {
        newline = text.rfind('\n', newline - 1);
        if (newline == std::string::npos) break;
        cut = tokenizer.safe_cut(text, newline);
        if (cut && *cut > document_end) cut.reset();
    }
    if (!cut) return;
    head.newline = newline;
    head.cut = *cut;
    head.text = text.substr(0, head.cut);
    head_parts_.assign(a.begin(), a.begin() + std::ptrdiff_t(head.part));
    chat_.encode_parts(head_parts_, true, head.tokens);
    const std::vector<int32_t> lead = tokenizer.encode(head.text, head_parts_.empty());
    head.tokens.insert(head.tokens.end(), lead.begin(), lead.end());
    head_ = std::move(head);
    // Where the first question starts: the ids two different questions share (tokenizers may
    // merge across the boundary, so it is found rather than computed from the text).
    std::vector<int32_t> after_z;
    if (!encode_after_head(a, head_->after_a) || !encode_after_head(first_question("Z"), after_z)) {
        head_.reset();
        return;
    }
    head_->shared = int64_t(head_->tokens.size()) + shared_length(head_->after_a, after_z);
}

bool FramedDocument::encode_after_head(std::span<const ChatTemplate::MarkupPart> parts,
                                       std::vector<int32_t>& ids) const {
    const Head& head = *head_;
    if (parts.size() <= head.part || parts[head.part].id >= 0) return false;
    for (size_t k = 0; k < head.part; ++k)
        if (!same_part(parts[k], head_parts_[k])) return false;
    // The text before the cut must be the head's, and the cut still safe with what follows it
    // now (a vocabulary may look past the newline).
    const std::string_view text = parts[head.part].text;
    if (text.size() < head.cut || text.substr(0, head.cut) != head.text ||
        chat_.tokenizer().safe_cut(text, head.newline) != head.cut)
        return false;
    const std::vector<int32_t> rest = chat_.tokenizer().encode_continuation(text.substr(head.cut));
    ids.insert(ids.end(), rest.begin(), rest.end());
    chat_.encode_parts(parts.subspan(head.part + 1), false, ids);
    return true;
}

ChatTemplate::DocumentPrompt FramedDocument::prompt(std::span<const QuestionAnswer> earlier,
                                                    std::string_view question) const {
    if (!head_) return chat_.document_prompt(system_, document_, earlier, question);
    const std::vector<ChatTemplate::MarkupPart> parts =
        chat_.markup(chat_.document_conversation(system_, document_, earlier, question), true);
    ChatTemplate::DocumentPrompt prompt;
    prompt.tokens = head_->tokens;
    if (!encode_after_head(parts, prompt.tokens))
        return chat_.document_prompt(system_, document_, earlier, question);
    const auto after_head = std::span(prompt.tokens).subspan(head_->tokens.size());
    prompt.document_prefix = std::min(
        head_->shared, int64_t(head_->tokens.size()) + shared_length(head_->after_a, after_head));
    return prompt;
}

const std::vector<int32_t>& FramedDocument::tokens() const {
    std::call_once(tokens_once_, [&] { tokens_ = chat_.tokenizer().encode(document_, false); });
    return tokens_;
}

}  // namespace selfextend
