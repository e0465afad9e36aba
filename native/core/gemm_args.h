// Arguments of a (batched) single-precision GEMM, shared by every backend:
//   C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]     for b in [0, batch)
// Row-major storage. op(A) is (M, K): A is stored (M, K) with row stride lda, or
// (K, M) when trans_a. op(B) is (K, N): B is stored (K, N), or (N, K) when trans_b.
// C is (M, N) with row stride ldc. A zero batch stride broadcasts that operand.
// beta == 0 means C is written without being read (it may hold NaN).
#pragma once
#include <cstdint>

namespace tg {

struct GemmArgs {
  bool trans_a = false;
  bool trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  float beta = 0.0f;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // elements between batch items
};

}  // namespace tg
