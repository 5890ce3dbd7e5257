// Arbitrary bytes as a GGUF file: parsed, and when they parse, read the way a model load reads
// them (hyper-parameters, the tokenizer, the tensors' first rows). Errors are the expected
// outcome; a crash, a sanitizer report or a hang is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gguf/gguf_file.h"
#include "model/hyper_params.h"
#include "selfextend/error.h"
#include "tokenizer/gguf_tokenizer.h"

using namespace selfextend;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const GgufFile gguf = GgufFile::parse(std::span(data, size), "fuzz");
        for (const auto& [key, value] : gguf.metadata()) (void)value.to_display_string();
        try {
            (void)HyperParams::from_gguf(gguf);
        } catch (const Error&) {
        }
        try {
            const auto tokenizer = tokenizer_from_gguf(gguf);
            (void)tokenizer->encode("Hello world, 123 <s>!", true);
        } catch (const Error&) {
        }
        // Each tensor's first row, dequantized: the parser vouched for its bytes.
        std::vector<float> row;
        for (const GgufTensor& tensor : gguf.tensors()) {
            if (tensor.dims.empty() || tensor.dims[0] <= 0 || tensor.dims[0] > (1 << 16)) continue;
            row.resize(size_t(tensor.dims[0]));
            tensor.dtype->dequantize_row(tensor.data, row.data(), tensor.dims[0]);
        }
    } catch (const Error&) {
    }
    return 0;
}
