// AVX2 + FMA micro-kernel: a 6 x 16 tile of C held in 12 ymm accumulators, the
// B row in 2 more and the broadcast A element in one (15 of 16 registers), the
// shape BLIS uses on Haswell and Zen. Compiled with a target attribute so the
// rest of the addon stays portable; only called when the CPU reports AVX2 and FMA.
#include "gemm_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TG_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace tg {

#if defined(__x86_64__)
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

// The accumulators are named variables rather than an array: GCC keeps an
// array of vectors in memory and stores it back on every iteration.
template <int M>
TG_AVX2 void kernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, float alpha,
                      float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#define TG_ROW(i)                                      \
  if constexpr (M > i) {                               \
    const __m256 ai = _mm256_broadcast_ss(a + i);              \
    c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);         \
    c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);         \
  }
  // C is touched once per call, long after it left the cache: start fetching
  // it now so the loads at the end do not stall.
  for (int i = 0; i < M; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNr - 1), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
    TG_ROW(0);
    TG_ROW(1);
    TG_ROW(2);
    TG_ROW(3);
    TG_ROW(4);
    TG_ROW(5);
    a += kMr;
    b += ldb;
  }
#undef TG_ROW
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  const bool read_c = beta != 0.0f;
#define TG_STORE(i)                                                          \
  if constexpr (M > i) {                                                     \
    float* ci = c + i * ldc;                                                 \
    __m256 r0 = _mm256_mul_ps(va, c##i##0), r1 = _mm256_mul_ps(va, c##i##1);          \
    if (read_c) {                                                            \
      r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);                           \
      r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);                       \
    }                                                                        \
    _mm256_storeu_ps(ci, r0);                                                    \
    _mm256_storeu_ps(ci + 8, r1);                                                \
  }
  TG_STORE(0);
  TG_STORE(1);
  TG_STORE(2);
  TG_STORE(3);
  TG_STORE(4);
  TG_STORE(5);
#undef TG_STORE
}

TG_AVX2 void dispatch(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
                      float alpha, float beta, int m) {
  switch (m) {
    case 1: return kernel<1>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 2: return kernel<2>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 3: return kernel<3>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 4: return kernel<4>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 5: return kernel<5>(kc, a, b, ldb, c, ldc, alpha, beta);
    default: return kernel<6>(kc, a, b, ldb, c, ldc, alpha, beta);
  }
}

}  // namespace

const GemmKernel& gemm_kernel_avx2() {
  // mc * kc * 4 B = 120 KiB of A in L2; kc * nr * 4 B = 16 KiB of B in L1.
  static const GemmKernel k{"avx2", kMr, kNr, 120, 256, 4096, dispatch};
  return k;
}
#else
const GemmKernel& gemm_kernel_avx2() { return gemm_kernel_scalar(); }
#endif

}  // namespace tg
