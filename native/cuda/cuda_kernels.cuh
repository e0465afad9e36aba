// Shared machinery of the CUDA op kernels (native/cuda/<family>.cu): launch
// geometry for grid-stride loops, the check after a launch, warp and block
// reductions, strided index maps for broadcasting and layout changes, scratch
// memory, and the device-side checks of index tensors. Internal to the backend.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/device_kernels.h"
#include "../core/error.h"
#include "../core/tensor.h"
#include "cuda_check.h"

namespace tg {

// ---- launch geometry ------------------------------------------------------

constexpr int kBlock = 256;
// Grid-stride loops cover any element count, so grids are capped: 2^16 blocks
// of 256 threads fill every multiprocessor of any current GPU many times over,
// and stay far below the 2^31 - 1 limit on gridDim.x.
constexpr int64_t kMaxGrid = int64_t{1} << 16;

// Blocks for `n` items of `per_block` each, at least 1 and at most kMaxGrid.
inline unsigned grid_for(int64_t n, int64_t per_block = kBlock) {
  const int64_t blocks = (n + per_block - 1) / per_block;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(blocks, kMaxGrid)));
}

// Threads per block for work that reduces `len` elements in one block: a
// multiple of the warp size, no larger than the work needs, at most kBlock.
inline int block_for_len(int64_t len) {
  int threads = 32;
  while (threads < kBlock && threads < len) threads *= 2;
  return threads;
}

// Throws ERR_TG_CUDA naming the kernel when its launch was refused (a bad
// configuration, no code for this GPU's architecture, ...).
inline void check_launch(const char* kernel) { cuda_check(cudaGetLastError(), "launching ", kernel); }

// First element and stride of this thread's grid-stride loop, in 64 bits so
// that products of block and thread indices cannot overflow.
__device__ __forceinline__ int64_t thread_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t thread_count() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ---- reductions -----------------------------------------------------------

struct SumOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};
// NaN is ignored as fmaxf does; the CPU kernels' comparisons skip it the same way.
struct MaxOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

template <typename Op>
__device__ __forceinline__ float warp_reduce(float v, Op op) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// The reduction of v over the block, returned to every thread. blockDim.x must
// be a multiple of 32 (at most 1024), and every thread of the block must call
// it: it synchronizes the block.
template <typename Op>
__device__ __forceinline__ float block_reduce(float v, Op op, float identity) {
  __shared__ float partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // a previous call may still be reading partial[0]
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = threadIdx.x < (blockDim.x >> 5) ? partial[threadIdx.x] : identity;
  if (warp == 0) v = warp_reduce(v, op);
  if (threadIdx.x == 0) partial[0] = v;
  __syncthreads();
  return partial[0];
}

// ---- strided index maps ---------------------------------------------------

// Tensors up to this rank after merging dims are supported by the strided
// kernels; beyond it they fail with ERR_TG_SHAPE rather than guess.
constexpr int kMaxDims = 12;

// A row-major index space and, for each of N operands, its element stride
// along each dim (0 where the operand is broadcast). Dims are stored from the
// innermost out (size[0] is the fastest-varying), so that offsets() can walk
// them in a fully unrolled loop: every field is read at a constant offset,
// straight from the kernel's parameters, and never copied to local memory.
template <int N>
struct IndexMap {
  int rank = 0;
  int64_t size[kMaxDims] = {};
  int64_t stride[N][kMaxDims] = {};

  // Each operand's element offset at flat index i of the space. I is the type
  // divisions are done in: 32 bits where the space allows it, being far cheaper.
  template <typename I>
  __device__ __forceinline__ void offsets(I i, int64_t (&off)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
#pragma unroll
    for (int j = 0; j < kMaxDims; ++j) {
      if (j >= rank) break;
      if (j == rank - 1) {  // the outermost dim takes what is left: no division
#pragma unroll
        for (int k = 0; k < N; ++k) off[k] += static_cast<int64_t>(i) * stride[k][j];
        break;
      }
      const I s = static_cast<I>(size[j]);
      const I c = i % s;
      i /= s;
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += static_cast<int64_t>(c) * stride[k][j];
    }
  }
};

// Adds a dim of `size` with operand strides `strides` outside the dims m
// already has (callers go from the innermost dim out), merging it into the
// current outermost dim where every operand steps through both as through
// one, and dropping it when its size is 1. Throws ERR_TG_SHAPE past kMaxDims,
// naming `what`.
template <int N>
void push_dim(IndexMap<N>& m, int64_t size, const int64_t (&strides)[N], const char* what) {
  if (size == 1) return;
  if (m.rank > 0) {
    const int last = m.rank - 1;
    bool merge = true;
    for (int k = 0; k < N && merge; ++k) merge = strides[k] == m.stride[k][last] * m.size[last];
    if (merge) {
      m.size[last] *= size;
      return;
    }
  }
  TG_CHECK(m.rank < kMaxDims, "ERR_TG_SHAPE", what, ": more than ", kMaxDims,
           " dims remain after merging, which the CUDA kernels do not support");
  m.size[m.rank] = size;
  for (int k = 0; k < N; ++k) m.stride[k][m.rank] = strides[k];
  ++m.rank;
}

// The index space `space` with each operand broadcast to it (NumPy rules,
// shapes aligned at the right; each operand must broadcast to `space`).
// Operands that match `space` get contiguous strides.
template <int N>
IndexMap<N> broadcast_map(const Shape& space, const Shape* const (&operands)[N], const char* what) {
  IndexMap<N> m;
  int64_t step[N];
  for (int k = 0; k < N; ++k) step[k] = 1;
  for (size_t i = 0; i < space.size(); ++i) {  // i counts dims from the right
    int64_t strides[N];
    for (int k = 0; k < N; ++k) {
      const Shape& s = *operands[k];
      const int64_t size = i < s.size() ? s[s.size() - 1 - i] : 1;
      strides[k] = size == 1 ? 0 : step[k];
      step[k] *= size;
    }
    push_dim(m, space[space.size() - 1 - i], strides, what);
  }
  return m;
}

// Whether flat indices below n fit the 32-bit division path of IndexMap.
inline bool fits_32(int64_t n) { return n <= int64_t{INT32_MAX}; }

// y[i] = f(off) over i in [0, n), off holding each operand's offset at flat
// index i of m: the one kernel behind broadcasting arithmetic, selection and
// strided copies. F is a functor holding the operand pointers.
template <int N, typename I, typename T, typename F>
__global__ void map_indexed_kernel(IndexMap<N> m, int64_t n, T* __restrict__ y, F f) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    int64_t off[N];
    m.template offsets<I>(static_cast<I>(i), off);
    y[i] = f(off);
  }
}

// y: (n), the contiguous output of m's index space.
template <int N, typename T, typename F>
void launch_map_indexed(const IndexMap<N>& m, int64_t n, T* y, F f) {
  if (n == 0) return;
  if (fits_32(n)) {
    map_indexed_kernel<N, uint32_t><<<grid_for(n), kBlock>>>(m, n, y, f);
  } else {
    map_indexed_kernel<N, uint64_t><<<grid_for(n), kBlock>>>(m, n, y, f);
  }
  check_launch("map_indexed_kernel");
}

// Reads operand 0 at its offset: a strided or broadcast copy.
template <typename T>
struct ReadAt {
  const T* x;
  __device__ __forceinline__ T operator()(const int64_t (&off)[1]) const { return x[off[0]]; }
};

// ---- element types --------------------------------------------------------

// Calls fn(T{}) with T the unsigned integer of the dtype's size, for kernels
// that move elements without looking at them.
template <typename Fn>
void with_element_type(DType dtype, Fn&& fn) {
  switch (dtype_size(dtype)) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    case 8: return fn(uint64_t{});
    default: fail("ERR_TG_DTYPE", "unsupported element size for ", dtype_name(dtype));
  }
}

// ---- memory ---------------------------------------------------------------

// A temporary on the current device, from its caching allocator. Freed blocks
// are only reused by work queued after the kernels that read them.
Tensor cuda_scratch(const Shape& shape, DType dtype);
// y[0, n) = value, queued on the current device.
void cuda_fill(float* y, int64_t n, float value);

// ---- index checks ---------------------------------------------------------

struct BadIndex {
  int64_t position = -1;  // flat position of the first bad element, -1 if none
  int64_t value = 0;
};
// The first element of `index` (i32 or i64, on the current device) outside
// [0, limit), ignoring elements equal to *ignore when ignore is given. Reads
// the answer back, so it waits for the work queued before it.
BadIndex cuda_find_bad_index(const Tensor& index, int64_t limit, const int64_t* ignore = nullptr);
// "[1, 0]": flat position `flat` of a tensor of `shape` as coordinates.
std::string index_str(int64_t flat, const Shape& shape);
// Fails like the CPU index ops: "<name>[i, j] = v is out of range <range>".
void cuda_check_indices(const Tensor& index, int64_t limit, const std::string& name, const std::string& range);

// ---- reductions over dims --------------------------------------------------

// y = scale * (sum of x over the dims marked in `reduced`); x has `shape`
// (contiguous) and y holds the kept dims in order. Accumulates in f32 over
// pieces fixed by the shape. Queued on the current device.
void cuda_reduce_sum(const float* x, const Shape& shape, const std::vector<bool>& reduced, float* y, float scale);

}  // namespace tg
