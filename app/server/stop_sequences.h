// The request's "stop" strings on a streamed answer: text is passed on as it comes, except a
// tail that could still become a stop string, held back until the next piece decides it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "selfextend/stop_strings.h"

namespace server {

class StopSequences {
  public:
    explicit StopSequences(std::vector<std::string> stops) : stops_{std::move(stops)} {}

    // The text that can be shown now. Once a stop string has appeared, the text before it and
    // nothing after: stopped() is then true.
    std::string push(std::string_view piece);
    // What is held back, at the end of an answer that met no stop string.
    std::string flush();
    bool stopped() const { return stopped_; }

  private:
    selfextend::StopStrings stops_;
    std::string held_;
    bool stopped_ = false;
};

}  // namespace server
