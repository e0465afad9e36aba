// How exact float32 arithmetic must be, as torch.set_float32_matmul_precision
// names it: 'highest' computes every product as written (PyTorch's CPU
// behaviour); 'high' lets kernels use faster algorithms whose rounding error
// is larger — today Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions
// (about 1e-5 of the output's scale per layer, ten times a direct
// convolution's; 1.5-2.8x faster). 'highest' is the default.
#pragma once
#include <string>

namespace tg {

enum class Float32Precision { highest, high };

Float32Precision float32_precision();
// Parses "highest" or "high" (ERR_TG_ARG otherwise); returns the previous setting.
Float32Precision set_float32_precision(const std::string& mode);
const char* float32_precision_name(Float32Precision p);

}  // namespace tg
