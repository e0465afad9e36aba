// Portable micro-kernel: a 4 x 8 register tile in plain C++ (the compiler
// vectorises it with SSE2 on x86-64). Used where neither AVX2 nor AVX-512 exists.
#include "gemm_kernels.h"

namespace tg {

namespace {

constexpr int kMr = 4;
constexpr int kNr = 8;

template <int M>
void kernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, float alpha,
                      float beta) {
  float acc[M][kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < M; ++i) {
      const float ai = a[i];
      for (int j = 0; j < kNr; ++j) acc[i][j] += ai * b[j];
    }
    a += kMr;
    b += ldb;
  }
  for (int i = 0; i < M; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < kNr; ++j) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < kNr; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

void dispatch(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, float alpha,
              float beta, int m) {
  switch (m) {
    case 1: return kernel<1>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 2: return kernel<2>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 3: return kernel<3>(kc, a, b, ldb, c, ldc, alpha, beta);
    default: return kernel<4>(kc, a, b, ldb, c, ldc, alpha, beta);
  }
}

}  // namespace

const GemmKernel& gemm_kernel_scalar() {
  static const GemmKernel k{"scalar", kMr, kNr, 64, 256, 1024, dispatch};
  return k;
}

const GemmKernel& gemm_kernel_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512: return gemm_kernel_avx512();
    case SimdLevel::avx2: return gemm_kernel_avx2();
    default: return gemm_kernel_scalar();
  }
}

}  // namespace tg
