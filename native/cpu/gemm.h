// CPU single-precision GEMM (see core/gemm_args.h for the contract).
#pragma once
#include "../core/gemm_args.h"

namespace tg {

// Validates the arguments (ERR_TG_SHAPE) and runs on the process thread pool,
// using the micro-kernel of the current SIMD level.
void cpu_sgemm(const GemmArgs& args);

}  // namespace tg
