// Element type conversion on the CPU.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace tg {

// dst[i] = src[i] converted; f16/bf16 round to nearest even, floats to ints
// truncate toward zero (as PyTorch's .to() does), anything nonzero -> bool 1.
void cpu_cast(const void* src, DType src_type, void* dst, DType dst_type, int64_t n);

}  // namespace tg
