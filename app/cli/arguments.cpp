#include "arguments.h"

#include <algorithm>

#include <charconv>
#include <cstdlib>
#include <sstream>

namespace cli {

int64_t parse_int(const std::string& text, std::string_view what, int64_t min, int64_t max) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        throw UsageError(std::string(what) + ": '" + text + "' is not a whole number");
    if (value < min || value > max)
        throw UsageError(std::string(what) + ": " + text + " is out of range (" +
                         std::to_string(min) + ".." + std::to_string(max) + ")");
    return value;
}

double parse_double(const std::string& text, std::string_view what, double min, double max) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size())
        throw UsageError(std::string(what) + ": '" + text + "' is not a number");
    if (!(value >= min && value <= max))
        throw UsageError(std::string(what) + ": " + text + " is out of range");
    return value;
}

size_t Arguments::options_end() const {
    return size_t(std::find(args_.begin(), args_.end(), "--") - args_.begin());
}

bool Arguments::has_help() const {
    for (size_t k = 0; k < options_end(); ++k)
        if (args_[k] == "--help" || args_[k] == "-h") return true;
    return false;
}

std::optional<std::string> Arguments::take(std::initializer_list<std::string_view> names) {
    for (size_t k = 0; k < options_end(); ++k) {
        for (const std::string_view name : names) {
            const std::string& arg = args_[k];
            if (arg == name) {
                if (k + 1 >= args_.size()) throw UsageError(std::string(name) + " needs a value");
                std::string value = args_[k + 1];
                args_.erase(args_.begin() + std::ptrdiff_t(k),
                            args_.begin() + std::ptrdiff_t(k) + 2);
                return value;
            }
            if (arg.size() > name.size() && arg.compare(0, name.size(), name) == 0 &&
                arg[name.size()] == '=') {
                std::string value = arg.substr(name.size() + 1);
                args_.erase(args_.begin() + std::ptrdiff_t(k));
                return value;
            }
        }
    }
    return std::nullopt;
}

std::string Arguments::take_or(std::initializer_list<std::string_view> names,
                               std::string fallback) {
    return take(names).value_or(std::move(fallback));
}

bool Arguments::take_flag(std::initializer_list<std::string_view> names) {
    for (size_t k = 0; k < options_end(); ++k)
        for (const std::string_view name : names)
            if (args_[k] == name) {
                args_.erase(args_.begin() + std::ptrdiff_t(k));
                return true;
            }
    return false;
}

int64_t Arguments::take_int(std::initializer_list<std::string_view> names, int64_t fallback,
                            int64_t min, int64_t max) {
    const auto value = take(names);
    return value ? parse_int(*value, *names.begin(), min, max) : fallback;
}

double Arguments::take_double(std::initializer_list<std::string_view> names, double fallback,
                              double min, double max) {
    const auto value = take(names);
    return value ? parse_double(*value, *names.begin(), min, max) : fallback;
}

std::vector<int64_t> Arguments::take_int_list(std::initializer_list<std::string_view> names,
                                              std::vector<int64_t> fallback) {
    const auto value = take(names);
    if (!value) return fallback;
    std::vector<int64_t> list;
    std::stringstream items(*value);
    for (std::string item; std::getline(items, item, ',');)
        list.push_back(parse_int(item, *names.begin(), 1, int64_t(1) << 24));
    if (list.empty())
        throw UsageError(std::string(*names.begin()) + " needs a comma-separated list");
    return list;
}

std::vector<double> Arguments::take_double_list(std::initializer_list<std::string_view> names,
                                                std::vector<double> fallback) {
    const auto value = take(names);
    if (!value) return fallback;
    std::vector<double> list;
    std::stringstream items(*value);
    for (std::string item; std::getline(items, item, ',');)
        list.push_back(parse_double(item, *names.begin(), 0.0, 1.0));
    if (list.empty())
        throw UsageError(std::string(*names.begin()) + " needs a comma-separated list");
    return list;
}

std::optional<std::string> Arguments::take_positional() {
    const size_t end = options_end();
    for (size_t k = 0; k < end; ++k) {
        if (args_[k].size() > 1 && args_[k][0] == '-') continue;  // an option nobody took
        std::string value = args_[k];
        args_.erase(args_.begin() + std::ptrdiff_t(k));
        return value;
    }
    // After "--" everything is positional, "-5 degrees" too.
    if (end + 1 < args_.size()) {
        std::string value = args_[end + 1];
        args_.erase(args_.begin() + std::ptrdiff_t(end + 1));
        return value;
    }
    return std::nullopt;
}

void Arguments::finish() const {
    if (args_.empty() || (args_.size() == 1 && args_.front() == "--")) return;
    const std::string& first = args_.front() == "--" ? args_[1] : args_.front();
    if (first.size() > 1 && first[0] == '-') throw UsageError("unknown option " + first);
    throw UsageError("unexpected argument '" + first + "'");
}

}  // namespace cli
