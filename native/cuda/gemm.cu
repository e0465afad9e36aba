// Batched SGEMM on CUDA cores (see core/gemm_args.h for the contract).
//
// The classic shared-memory tiling with register blocking: each block of 256
// threads owns a 128x128 tile of C and walks K in slices of 8. Per slice it stages
// a 128x8 block of op(A) and an 8x128 block of op(B) in shared memory, then every
// thread computes an 8x8 micro-tile in registers, so each value read from shared
// memory feeds 8 FMAs and each value read from global memory feeds 128. The next
// slice is fetched into registers while the current one is multiplied, hiding
// global-memory latency without a second shared-memory buffer.
//
// Operands are read with scalar, bounds-checked loads: lda/ldb/ldc and the batch
// strides are arbitrary, so neither vector alignment nor whole tiles can be assumed.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "../core/error.h"
#include "cuda_backend.h"
#include "cuda_check.h"

namespace tg {

namespace {

constexpr int kTileM = 128;  // rows of C per block
constexpr int kTileN = 128;  // columns of C per block
constexpr int kTileK = 8;    // depth of one shared-memory slice
constexpr int kMicro = 8;    // each thread computes kMicro x kMicro outputs
constexpr int kQuad = 4;     // a micro-tile is 2x2 quads of 4x4, read as float4
constexpr int kThreadsN = kTileN / kMicro;
constexpr int kThreadsM = kTileM / kMicro;
constexpr int kThreads = kThreadsM * kThreadsN;
// The two quads of a micro-tile lie half a tile apart: a warp's threads then read
// consecutive float4s from shared memory (no bank conflicts) and write C rows
// in contiguous 64-float runs.
constexpr int kHalfM = kTileM / 2;
constexpr int kHalfN = kTileN / 2;
// Padding the shared rows by 4 floats makes the transposing stores (K-contiguous
// operands) hit 32 distinct banks, and keeps every row 16-byte aligned for float4.
constexpr int kPad = 4;
constexpr int kLoads = kTileM * kTileK / kThreads;  // elements per thread per operand per slice

static_assert(kTileM == kTileN, "one slice loader serves both operands");
static_assert(kThreadsM * kQuad == kHalfM && kThreadsN * kQuad == kHalfN, "quads must tile each half");
static_assert(kThreads % kTileK == 0 && kThreads % kTileM == 0, "loads must cover slices evenly");
static_assert(kLoads * kThreads == kTileM * kTileK, "loads must cover slices exactly");
static_assert((kTileM + kPad) % 4 == 0, "shared rows must stay float4-aligned");

constexpr int64_t kMaxGridX = 2147483647;
constexpr int64_t kMaxGridYZ = 65535;

using Slice = float[kTileK][kTileM + kPad];  // slice[kk][r]: K-major so fragments are contiguous

// Both operands are viewed as X: (rows, K), i.e. op(A) and op(B) transposed.
// kContiguousK says which index is contiguous in memory; the thread-to-element
// map follows it so that consecutive threads read consecutive addresses.
template <bool kContiguousK>
__device__ __forceinline__ void slice_coord(int tid, int l, int& r, int& kk) {
  if (kContiguousK) {
    kk = tid % kTileK;
    r = tid / kTileK + l * (kThreads / kTileK);
  } else {
    r = tid % kTileM;
    kk = tid / kTileM + l * (kThreads / kTileM);
  }
}

// Walks this thread's share of X: (rows, K) one slice at a time with a single
// pointer, instead of 64-bit indices per element, which would take registers
// the 8x8 accumulator needs.
template <bool kContiguousK>
struct SliceReader {
  // This thread's elements of a slice (see slice_coord) differ only in the
  // non-contiguous index: by kRowStep rows, or by kKStep columns of K.
  static constexpr int kRowStep = kContiguousK ? kThreads / kTileK : 0;
  static constexpr int kKStep = kContiguousK ? 0 : kThreads / kTileM;

  const float* p;     // this thread's first element (l = 0) of the current slice
  int64_t ld;         // stride of the non-contiguous index
  int64_t rows_left;  // rows of X from this thread's first row on
  int kk;             // this thread's first column within a slice

  // X[r][kk] is x[r * x_ld + kk] when kContiguousK, else x[kk * x_ld + r].
  __device__ __forceinline__ SliceReader(const float* __restrict__ x,  // X: (rows, K)
                                         int64_t x_ld,               // stride of the non-contiguous index
                                         int64_t rows,               // first extent of X
                                         int64_t r0,                 // first row of the tile
                                         int tid) {
    int r;
    ld = x_ld;
    slice_coord<kContiguousK>(tid, 0, r, kk);
    // Only formed, never dereferenced, when this thread's elements lie outside X.
    p = x + (kContiguousK ? (r0 + r) * ld + kk : kk * ld + r0 + r);
    rows_left = rows - r0 - r;
  }

  // k_rem: K from the slice's first column on. Zeros outside X make the edge
  // tiles exact: padded K contributes 0 * 0, and padded rows/columns only reach
  // outputs that are never stored.
  __device__ __forceinline__ void load(int64_t k_rem, float (&v)[kLoads]) const {
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
      const bool inside = l * kRowStep < rows_left && kk + l * kKStep < k_rem;
      v[l] = inside ? p[l * (kRowStep + kKStep) * ld] : 0.0f;
    }
  }

  __device__ __forceinline__ void next() { p += kContiguousK ? kTileK : kTileK * ld; }
};

template <bool kContiguousK>
__device__ __forceinline__ void store_slice(const float (&v)[kLoads], Slice& s, int tid) {
#pragma unroll
  for (int l = 0; l < kLoads; ++l) {
    int r, kk;
    slice_coord<kContiguousK>(tid, l, r, kk);
    s[kk][r] = v[l];
  }
}

__device__ __forceinline__ void load_fragment(const float* row, int offset, int half, float (&f)[kMicro]) {
  const float4 lo = *reinterpret_cast<const float4*>(row + offset);
  const float4 hi = *reinterpret_cast<const float4*>(row + half + offset);
  f[0] = lo.x;
  f[1] = lo.y;
  f[2] = lo.z;
  f[3] = lo.w;
  f[4] = hi.x;
  f[5] = hi.y;
  f[6] = hi.z;
  f[7] = hi.w;
}

// One 128x128 tile of one batch item. A is K-contiguous unless transposed; B,
// viewed as (N, K), is K-contiguous only when transposed.
template <bool kTransA, bool kTransB>
__device__ __forceinline__ void sgemm_tile(int64_t m, int64_t n, int64_t k,  // op(A): (M, K), op(B): (K, N)
                                           float alpha, float beta,
                                           const float* __restrict__ a,  // this item's A, as in sgemm_kernel
                                           int64_t lda,
                                           const float* __restrict__ b,  // this item's B, as in sgemm_kernel
                                           int64_t ldb,
                                           float* __restrict__ c,  // this item's C: (M, N)
                                           int64_t ldc,
                                           int64_t m0, int64_t n0,  // tile origin in C
                                           Slice& as, Slice& bs) {
  const int tid = threadIdx.x;
  const int tx = tid % kThreadsN;
  const int ty = tid / kThreadsN;

  float acc[kMicro][kMicro] = {};
  SliceReader<!kTransA> reader_a(a, lda, m, m0, tid);
  SliceReader<kTransB> reader_b(b, ldb, n, n0, tid);
  float next_a[kLoads], next_b[kLoads];
  reader_a.load(k, next_a);
  reader_b.load(k, next_b);

  for (int64_t k0 = 0; k0 < k; k0 += kTileK) {
    store_slice<!kTransA>(next_a, as, tid);
    store_slice<kTransB>(next_b, bs, tid);
    __syncthreads();
    if (k0 + kTileK < k) {
      reader_a.next();
      reader_b.next();
      reader_a.load(k - k0 - kTileK, next_a);
      reader_b.load(k - k0 - kTileK, next_b);
    }
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      float fa[kMicro], fb[kMicro];
      load_fragment(as[kk], ty * kQuad, kHalfM, fa);
      load_fragment(bs[kk], tx * kQuad, kHalfN, fb);
#pragma unroll
      for (int i = 0; i < kMicro; ++i) {
#pragma unroll
        for (int j = 0; j < kMicro; ++j) acc[i][j] = fmaf(fa[i], fb[j], acc[i][j]);
      }
    }
    // The next iteration overwrites the slices other threads may still be reading.
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < kMicro; ++i) {
    const int64_t row = m0 + (i / kQuad) * kHalfM + ty * kQuad + i % kQuad;
    if (row < m) {
      float* c_row = c + row * ldc;
#pragma unroll
      for (int j = 0; j < kMicro; ++j) {
        const int64_t col = n0 + (j / kQuad) * kHalfN + tx * kQuad + j % kQuad;
        if (col >= n) continue;
        const float v = alpha * acc[i][j];
        c_row[col] = beta == 0.0f ? v : v + beta * c_row[col];
      }
    }
    // Without this fence ptxas issues all 64 bounds-checked C loads before the
    // first store, which takes ~80 more registers than the main loop needs and
    // would halve occupancy. Every thread reaches it: `row < m` only guards the body.
    __syncwarp();
  }
}

// Grid: x over N tiles, y over M tiles, z over batch items. Each dimension is
// walked grid-stride so products larger than the grid limits (65535 in y and z)
// still run in one launch; the loop bounds depend only on blockIdx, so every
// thread of a block reaches the same __syncthreads. Two blocks per SM: the 8x8
// micro-tile fits in 128 registers without spills.
template <bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kThreads, 2)
    sgemm_kernel(int64_t m, int64_t n, int64_t k,  // op(A): (M, K), op(B): (K, N), C: (M, N)
                 int64_t batch,                   // number of (A, B, C) items
                 float alpha,                     // 0 together with k == 0 when A and B must not be read
                 const float* __restrict__ a,     // op(A): (M, K), stored (M, K) or (K, M) when trans_a
                 int64_t lda,                     // row stride of A as stored
                 int64_t stride_a,                // elements between A items; 0 broadcasts one A
                 const float* __restrict__ b,     // op(B): (K, N), stored (K, N) or (N, K) when trans_b
                 int64_t ldb,                     // row stride of B as stored
                 int64_t stride_b,                // elements between B items; 0 broadcasts one B
                 float beta,                      // 0: C is written without being read
                 float* __restrict__ c,           // C: (M, N)
                 int64_t ldc,                     // row stride of C
                 int64_t stride_c) {              // elements between C items
  __shared__ __align__(16) Slice as;  // op(A) slice: as[kk][row]
  __shared__ __align__(16) Slice bs;  // op(B) slice: bs[kk][col]
  for (int64_t z = blockIdx.z; z < batch; z += gridDim.z) {
    for (int64_t m0 = int64_t{blockIdx.y} * kTileM; m0 < m; m0 += int64_t{gridDim.y} * kTileM) {
      for (int64_t n0 = int64_t{blockIdx.x} * kTileN; n0 < n; n0 += int64_t{gridDim.x} * kTileN) {
        sgemm_tile<kTransA, kTransB>(m, n, k, alpha, beta, a + z * stride_a, lda, b + z * stride_b, ldb,
                                     c + z * stride_c, ldc, m0, n0, as, bs);
      }
    }
  }
}

void check_args(const GemmArgs& g) {
  TG_CHECK(g.m >= 0 && g.n >= 0 && g.k >= 0, "ERR_TG_SHAPE", "sgemm: negative size m=", g.m, " n=", g.n, " k=", g.k);
  TG_CHECK(g.batch >= 1, "ERR_TG_SHAPE", "sgemm: batch must be >= 1, got ", g.batch);
  const int64_t a_cols = g.trans_a ? g.m : g.k;
  const int64_t b_cols = g.trans_b ? g.k : g.n;
  TG_CHECK(g.lda >= std::max<int64_t>(1, a_cols), "ERR_TG_SHAPE", "sgemm: lda=", g.lda, " is less than ", a_cols);
  TG_CHECK(g.ldb >= std::max<int64_t>(1, b_cols), "ERR_TG_SHAPE", "sgemm: ldb=", g.ldb, " is less than ", b_cols);
  TG_CHECK(g.ldc >= std::max<int64_t>(1, g.n), "ERR_TG_SHAPE", "sgemm: ldc=", g.ldc, " is less than ", g.n);
}

template <bool kTransA, bool kTransB>
void launch(const GemmArgs& g, int64_t k, float alpha, dim3 grid) {
  sgemm_kernel<kTransA, kTransB><<<grid, kThreads>>>(g.m, g.n, k, g.batch, alpha, g.a, g.lda, g.stride_a, g.b, g.ldb,
                                                     g.stride_b, g.beta, g.c, g.ldc, g.stride_c);
}

}  // namespace

void cuda_sgemm(int device, const GemmArgs& g) {
  check_args(g);
  if (g.m == 0 || g.n == 0) return;
  // As on the CPU backend (and in BLAS), an empty product or alpha == 0 leaves
  // beta * C without reading A or B, so NaN or inf there (or alpha = inf with
  // K == 0) cannot leak into C.
  const bool skip_product = g.k == 0 || g.alpha == 0.0f;
  const int64_t k = skip_product ? 0 : g.k;
  const float alpha = skip_product ? 0.0f : g.alpha;

  CudaDeviceGuard guard(device);
  const int64_t m_tiles = (g.m + kTileM - 1) / kTileM;
  const int64_t n_tiles = (g.n + kTileN - 1) / kTileN;
  const dim3 grid(static_cast<unsigned>(std::min(n_tiles, kMaxGridX)), static_cast<unsigned>(std::min(m_tiles, kMaxGridYZ)),
                  static_cast<unsigned>(std::min(g.batch, kMaxGridYZ)));
  if (g.trans_a) {
    g.trans_b ? launch<true, true>(g, k, alpha, grid) : launch<true, false>(g, k, alpha, grid);
  } else {
    g.trans_b ? launch<false, true>(g, k, alpha, grid) : launch<false, false>(g, k, alpha, grid);
  }
  cuda_check(cudaGetLastError(), "launching sgemm (m=", g.m, " n=", g.n, " k=", g.k, " batch=", g.batch, ") on cuda:",
             device);
  cuda_check(cudaStreamSynchronize(0), "sgemm (m=", g.m, " n=", g.n, " k=", g.k, " batch=", g.batch, ") on cuda:",
             device);
}

}  // namespace tg
