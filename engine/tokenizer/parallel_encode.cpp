#include "tokenizer/parallel_encode.h"

#include <algorithm>
#include <exception>
#include <system_error>
#include <thread>

namespace selfextend {

std::vector<std::string_view> cut_at_newlines(std::string_view text, size_t parts,
                                              const CutNearNewline& cut_near_newline) {
    std::vector<std::string_view> out;
    size_t start = 0;
    for (size_t k = 1; k < parts && start < text.size(); ++k) {
        std::optional<size_t> cut;
        for (size_t newline = text.find('\n', std::max(start, k * text.size() / parts));
             newline != std::string_view::npos && !cut; newline = text.find('\n', newline + 1)) {
            cut = cut_near_newline(text, newline);
            if (cut && (*cut <= start || *cut >= text.size())) cut.reset();
        }
        if (!cut) break;
        out.push_back(text.substr(start, *cut - start));
        start = *cut;
    }
    out.push_back(text.substr(start));
    return out;
}

std::vector<int32_t> encode_in_parallel(std::string_view text,
                                        const CutNearNewline& cut_near_newline,
                                        const PartEncoder& encode_part) {
    std::vector<int32_t> ids;
    const size_t threads = std::max(1u, std::thread::hardware_concurrency());
    if (text.size() < kParallelEncodeBytes || threads == 1) {
        encode_part(text, true, ids);
        return ids;
    }
    const std::vector<std::string_view> parts = cut_at_newlines(text, threads, cut_near_newline);
    std::vector<std::vector<int32_t>> encoded(parts.size());
    std::vector<std::exception_ptr> errors(parts.size());
    std::vector<std::thread> workers;
    auto run = [&](size_t k) {
        try {
            encode_part(parts[k], k == 0, encoded[k]);
        } catch (...) {
            errors[k] = std::current_exception();
        }
    };
    for (size_t k = 1; k < parts.size(); ++k) {
        try {
            workers.emplace_back(run, k);
        } catch (const std::system_error&) {  // no thread to be had: encode the part here
            run(k);
        }
    }
    run(0);  // on this thread; run() never throws, so no joinable thread is left behind
    for (std::thread& worker : workers) worker.join();
    for (const auto& error : errors)
        if (error) std::rethrow_exception(error);
    size_t total = 0;
    for (const auto& part : encoded) total += part.size();
    ids.reserve(total);
    for (const auto& part : encoded) ids.insert(ids.end(), part.begin(), part.end());
    return ids;
}

}  // namespace selfextend
