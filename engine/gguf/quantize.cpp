#include "selfextend/quantize.h"

#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace selfextend {

namespace {

// Every type the engine reads can also be written: F32 (an exact copy of any model), the float
// types, and every quantized type.
const DTypeTraits& parse_type(const std::string& name) {
    if (const DTypeTraits* traits = find_dtype_named(name)) return *traits;
    throw Error("unknown target type '" + name + "' (" + supported_dtype_names() + ")");
}

// general.file_type values (llama_ftype) for files whose matrices are all of one type (the "_S"
// variants of the k-quant mixes).
uint32_t file_type_of(DType type) {
    switch (type) {
        case DType::F32:
            return 0;
        case DType::F16:
            return 1;
        case DType::Q4_0:
            return 2;
        case DType::Q4_1:
            return 3;
        case DType::Q8_0:
            return 7;
        case DType::Q5_0:
            return 8;
        case DType::Q5_1:
            return 9;
        case DType::Q2_K:
            return 10;
        case DType::Q3_K:
            return 11;  // Q3_K_S
        case DType::Q4_K:
            return 14;  // Q4_K_S
        case DType::Q5_K:
            return 16;  // Q5_K_S
        case DType::Q6_K:
            return 18;
        case DType::BF16:
            return 32;
    }
    return 0;
}

}  // namespace

QuantizeResult quantize_model(const std::string& input, const std::string& output,
                              const std::string& type,
                              const std::function<void(double)>& progress) {
    const DTypeTraits& target = parse_type(type);
    const GgufFile source = GgufFile::open(input);
    GgufWriter writer(source.alignment());
    for (const auto& [key, value] : source.metadata())
        if (key != "general.alignment") writer.set(key, value);
    writer.set_uint32("general.file_type", file_type_of(target.type));

    QuantizeResult result;
    result.input_bytes = source.file_bytes();
    const auto& tensors = source.tensors();
    std::vector<float> values;
    for (size_t k = 0; k < tensors.size(); ++k) {
        const GgufTensor& tensor = tensors[k];
        const bool matrix = tensor.dims.size() >= 2;
        const bool fits_blocks = tensor.dims[0] % target.block_size == 0;
        if (!matrix || !fits_blocks || tensor.dtype->type == target.type) {
            writer.add_tensor(tensor.name, tensor.dtype->type, tensor.dims,
                              {tensor.data, size_t(tensor.bytes)});
            ++result.tensors_kept;
        } else {
            values.resize(size_t(tensor.element_count()));
            const int64_t row = tensor.dims[0];
            const int64_t stored_row = row_bytes(*tensor.dtype, row);
            for (int64_t r = 0; r < tensor.rows(); ++r)
                tensor.dtype->dequantize_row(tensor.data + r * stored_row, values.data() + r * row,
                                             row);
            writer.add_tensor_from_floats(tensor.name, target.type, tensor.dims, values);
            ++result.tensors_converted;
        }
        if (progress) progress(double(k + 1) / double(tensors.size()));
    }
    result.output_bytes = writer.write(output);
    return result;
}

}  // namespace selfextend
