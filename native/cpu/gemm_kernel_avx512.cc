// AVX-512 micro-kernel: a 12 x 32 tile of C held in 24 zmm accumulators, the
// B row in 2 more and the broadcast A element in one (27 of 32 registers): the
// AVX2 kernel's scheme widened. Compiled with a target attribute so the rest of
// the addon stays portable; only called when the CPU reports AVX-512F.
#include "gemm_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TG_AVX512 __attribute__((target("avx512f")))
#endif

namespace tg {

#if defined(__x86_64__)
namespace {

constexpr int kMr = 12;
constexpr int kNr = 32;

// The accumulators are named variables rather than an array: GCC keeps an
// array of vectors in memory and stores it back on every iteration.
template <int M>
TG_AVX512 void kernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, float alpha,
                      float beta) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
  __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
  __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
  __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
  __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  __m512 c80 = _mm512_setzero_ps(), c81 = _mm512_setzero_ps();
  __m512 c90 = _mm512_setzero_ps(), c91 = _mm512_setzero_ps();
  __m512 c100 = _mm512_setzero_ps(), c101 = _mm512_setzero_ps();
  __m512 c110 = _mm512_setzero_ps(), c111 = _mm512_setzero_ps();
#define TG_ROW(i)                                      \
  if constexpr (M > i) {                               \
    const __m512 ai = _mm512_set1_ps(a[i]);              \
    c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);         \
    c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);         \
  }
  // C is touched once per call, long after it left the cache: start fetching
  // it now so the loads at the end do not stall.
  for (int i = 0; i < M; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNr - 1), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
    TG_ROW(0);
    TG_ROW(1);
    TG_ROW(2);
    TG_ROW(3);
    TG_ROW(4);
    TG_ROW(5);
    TG_ROW(6);
    TG_ROW(7);
    TG_ROW(8);
    TG_ROW(9);
    TG_ROW(10);
    TG_ROW(11);
    a += kMr;
    b += ldb;
  }
#undef TG_ROW
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const bool read_c = beta != 0.0f;
#define TG_STORE(i)                                                          \
  if constexpr (M > i) {                                                     \
    float* ci = c + i * ldc;                                                 \
    __m512 r0 = _mm512_mul_ps(va, c##i##0), r1 = _mm512_mul_ps(va, c##i##1);          \
    if (read_c) {                                                            \
      r0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), r0);                           \
      r1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci + 16), r1);                       \
    }                                                                        \
    _mm512_storeu_ps(ci, r0);                                                    \
    _mm512_storeu_ps(ci + 16, r1);                                                \
  }
  TG_STORE(0);
  TG_STORE(1);
  TG_STORE(2);
  TG_STORE(3);
  TG_STORE(4);
  TG_STORE(5);
  TG_STORE(6);
  TG_STORE(7);
  TG_STORE(8);
  TG_STORE(9);
  TG_STORE(10);
  TG_STORE(11);
#undef TG_STORE
}

TG_AVX512 void dispatch(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
                      float alpha, float beta, int m) {
  switch (m) {
    case 1: return kernel<1>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 2: return kernel<2>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 3: return kernel<3>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 4: return kernel<4>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 5: return kernel<5>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 6: return kernel<6>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 7: return kernel<7>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 8: return kernel<8>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 9: return kernel<9>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 10: return kernel<10>(kc, a, b, ldb, c, ldc, alpha, beta);
    case 11: return kernel<11>(kc, a, b, ldb, c, ldc, alpha, beta);
    default: return kernel<12>(kc, a, b, ldb, c, ldc, alpha, beta);
  }
}

}  // namespace

const GemmKernel& gemm_kernel_avx512() {
  // mc * kc * 4 B = 144 KiB of A in L2; kc * nr * 4 B = 32 KiB of B in L1/L2.
  static const GemmKernel k{"avx512", kMr, kNr, 144, 256, 4096, dispatch};
  return k;
}
#else
const GemmKernel& gemm_kernel_avx512() { return gemm_kernel_scalar(); }
#endif

}  // namespace tg
