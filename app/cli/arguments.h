// A small command-line parser: options are taken by name, and whatever is left over when a
// command has taken what it knows is an error ("unknown option --foo"). "--" ends the options:
// what follows is positional even when it starts with '-'.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cli {

// A mistake in the command line: printed as one line, exit status 2.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class Arguments {
  public:
    explicit Arguments(std::vector<std::string> args) : args_(std::move(args)) {}

    bool has_help() const;
    // The value of an option given as "--name value" or "--name=value", removed from the list.
    std::optional<std::string> take(std::initializer_list<std::string_view> names);
    std::string take_or(std::initializer_list<std::string_view> names, std::string fallback);
    bool take_flag(std::initializer_list<std::string_view> names);
    int64_t take_int(std::initializer_list<std::string_view> names, int64_t fallback, int64_t min,
                     int64_t max);
    double take_double(std::initializer_list<std::string_view> names, double fallback, double min,
                       double max);
    std::vector<int64_t> take_int_list(std::initializer_list<std::string_view> names,
                                       std::vector<int64_t> fallback);
    std::vector<double> take_double_list(std::initializer_list<std::string_view> names,
                                         std::vector<double> fallback);
    // The next argument that is not an option, removed from the list.
    std::optional<std::string> take_positional();
    // Throws UsageError naming the first argument nobody took.
    void finish() const;

  private:
    size_t options_end() const;  // index of "--" (options end there), or the argument count

    std::vector<std::string> args_;
};

int64_t parse_int(const std::string& text, std::string_view what, int64_t min, int64_t max);
double parse_double(const std::string& text, std::string_view what, double min, double max);

}  // namespace cli
