#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "common.h"
#include "selfextend/document.h"

namespace cli {

Json json_mode_fields(const selfextend::AttentionMode& mode) {
    Json fields;
    fields["mode"] = mode.is_vanilla() ? "vanilla" : "self-extend";
    fields["group"] = mode.group;
    fields["window"] = mode.window;
    return fields;
}

void print_json(const Json& value) {
    std::cout << value.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
}

std::string format_count(int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out;
    for (size_t k = 0; k < digits.size(); ++k) {
        if (k && (digits.size() - k) % 3 == 0) out += ' ';
        out += digits[k];
    }
    return (n < 0 ? "-" : "") + out;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c) {
            if (width.size() <= c) width.push_back(0);
            width[c] = std::max(width[c], row[c].size());
        }
    for (size_t r = 0; r < rows.size(); ++r) {
        std::string line;
        for (size_t c = 0; c < rows[r].size(); ++c) {
            const std::string& cell = rows[r][c];
            const std::string pad(width[c] - cell.size(), ' ');
            line +=
                (c ? "  " : "") + (c ? pad + cell : cell + pad);  // first column left, others right
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::cout << line << '\n';
        if (r == 0) {
            size_t total = 0;
            for (size_t w : width) total += w + 2;
            std::cout << std::string(total - 2, '-') << '\n';
        }
    }
}

std::string read_text_file(const std::string& path) {
    const selfextend::Document document = selfextend::load_text_document(path);
    if (document.had_invalid_utf8)
        std::cerr << "warning: '" << path << "' is not valid UTF-8; invalid bytes were replaced\n";
    if (!document.encoding.empty())
        std::cerr << "note: '" << path << "' is not UTF-8: read as " << document.encoding
                  << " (detected)\n";
    return document.text;
}

std::string read_file_bytes(const std::string& path) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
        throw selfextend::Error("'" + path + "' is not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw selfextend::Error("cannot open '" + path + "'");
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw selfextend::Error("cannot read '" + path + "'");
    return bytes;
}

std::string default_model_path() {
    // Installed (bin/ -> share/selfextend-studio/models, wherever the tree was put), then a
    // resources/ folder above the executable (a build tree inside the checkout), else the source
    // tree it was built from.
    std::error_code error;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    const std::string file = "selfextend-demo-8m-f16.gguf";
    if (!error) {
        const auto installed =
            (exe.parent_path() / SE_DATA_FROM_BINDIR / "models" / file).lexically_normal();
        if (std::filesystem::exists(installed)) return installed.string();
        const std::string name = "resources/models/" + file;
        for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
             dir = dir.parent_path())
            if (std::filesystem::exists(dir / name)) return (dir / name).string();
    }
    return SE_DEFAULT_MODEL;
}

}  // namespace cli
