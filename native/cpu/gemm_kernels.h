// Register-blocked GEMM micro-kernels, one per SIMD level (gemm_kernel_*.cc).
// Each computes an (m <= mr) x nr block of C from packed panels:
//   a: (kc, mr) — column p holds rows 0..mr-1 of op(A)[:, p], zero padded
//   b: (kc, nr) with row stride ldb — row p holds columns 0..nr-1 of op(B)[p, :];
//      ldb == nr for a packed panel, or B's own row stride when B is read in place
//   c: (m, nr) with row stride ldc;  c = alpha * a^T b + beta * c  (beta == 0: c not read)
// The cache-block sizes mc/kc/nc belong with the kernel because they follow from
// its register tile: an (mc, kc) A block stays in L2, a (kc, nr) B panel in L1.
#pragma once
#include <cstdint>

#include "../core/cpu_features.h"

namespace tg {

using GemmMicroKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
                                 float alpha, float beta, int m);

struct GemmKernel {
  const char* name;
  int mr, nr;
  int64_t mc, kc, nc;
  GemmMicroKernel fn;
};

const GemmKernel& gemm_kernel_scalar();
const GemmKernel& gemm_kernel_avx2();
const GemmKernel& gemm_kernel_avx512();
const GemmKernel& gemm_kernel_for(SimdLevel level);

}  // namespace tg
