// Tokenizer test cases in llama.cpp's format (../shared/vocab/*.gguf.inp/.out and
// tests/data/tokenizer/): the .inp file holds texts, each followed by a line
// "__ggml_vocab_test__" (the newline before that line is not part of the text); the .out file
// holds one line of space-separated token ids per text.
#pragma once

#include <QByteArray>
#include <QFile>
#include <QString>
#include <cstdint>
#include <string>
#include <vector>

namespace testing {

inline std::string read_bytes(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    const QByteArray bytes = f.readAll();
    return std::string(bytes.constData(), size_t(bytes.size()));
}

struct VocabCases {
    std::vector<std::string> texts;
    std::vector<std::vector<int32_t>> ids;  // one per text
    QString problem;                        // empty when both files parsed
};

// Lines of numbers, one vector per line (an empty line is an empty vector).
inline std::vector<std::vector<int32_t>> read_number_lines(const QString& path) {
    const std::string out = read_bytes(path);
    std::vector<std::vector<int32_t>> lines;
    for (const QByteArray& line : QByteArray::fromStdString(out).split('\n')) {
        std::vector<int32_t> numbers;
        for (const QByteArray& word : line.simplified().split(' '))
            if (!word.isEmpty()) numbers.push_back(word.toInt());
        lines.push_back(numbers);
    }
    if (!lines.empty() && !out.empty() && out.back() == '\n') lines.pop_back();  // after the last
    return lines;
}

inline std::vector<std::string> read_case_texts(const QString& inp_path, QString* problem) {
    const std::string inp = read_bytes(inp_path);
    const std::string separator = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    if (inp.empty()) *problem = "cannot read " + inp_path;
    for (size_t at = 0; at < inp.size();) {
        const size_t end = inp.find(separator, at);
        if (end == std::string::npos) {
            *problem = inp_path + " does not end with a separator";
            break;
        }
        texts.push_back(inp.substr(at, end - at));
        at = end + separator.size();
    }
    return texts;
}

// inp_path's texts and out_path's ids.
inline VocabCases read_vocab_cases(const QString& inp_path, const QString& out_path) {
    VocabCases cases;
    cases.texts = read_case_texts(inp_path, &cases.problem);
    cases.ids = read_number_lines(out_path);
    if (cases.problem.isEmpty() && cases.ids.size() != cases.texts.size())
        cases.problem =
            QString("%1 texts but %2 lines of ids").arg(cases.texts.size()).arg(cases.ids.size());
    return cases;
}

}  // namespace testing
