// The out-of-line parts of cuda_kernels.cuh: scratch memory, fills, and the
// search for the first out-of-range element of an index tensor, which the
// index ops and the losses run before they read through the indices.
#include <cuda_runtime.h>

#include "cuda_kernels.cuh"

namespace tg {

namespace {

// y: (n)
__global__ void fill_kernel(float* __restrict__ y, int64_t n, float value) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) y[i] = value;
}

// index: (n); first: one word, all ones (no bad element) before the launch.
// The lowest bad position wins, so the answer does not depend on scheduling.
template <typename I>
__global__ void find_bad_kernel(const I* __restrict__ index, int64_t n, int64_t limit, bool has_ignore,
                                int64_t ignore, unsigned long long* __restrict__ first) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) {
    const int64_t v = static_cast<int64_t>(index[i]);
    if ((v < 0 || v >= limit) && !(has_ignore && v == ignore)) {
      atomicMin(first, static_cast<unsigned long long>(i));
    }
  }
}

}  // namespace

Tensor cuda_scratch(const Shape& shape, DType dtype) {
  int device = 0;
  cuda_check(cudaGetDevice(&device), "cudaGetDevice");
  return Tensor::empty(shape, dtype, Device{DeviceType::cuda, device});
}

void cuda_fill(float* y, int64_t n, float value) {
  if (n == 0) return;
  fill_kernel<<<grid_for(n), kBlock>>>(y, n, value);
  check_launch("fill_kernel");
}

BadIndex cuda_find_bad_index(const Tensor& index, int64_t limit, const int64_t* ignore) {
  BadIndex bad;
  const int64_t n = index.numel();
  if (n == 0) return bad;
  TG_CHECK(index.dtype() == DType::i32 || index.dtype() == DType::i64, "ERR_TG_DTYPE",
           "indices must be i32 or i64, got ", dtype_name(index.dtype()));
  Tensor first = cuda_scratch({1}, DType::i64);
  auto* pfirst = static_cast<unsigned long long*>(first.raw());
  cuda_check(cudaMemsetAsync(pfirst, 0xff, sizeof(unsigned long long), 0), "clearing the index check");
  const bool has_ignore = ignore != nullptr;
  const int64_t ig = has_ignore ? *ignore : 0;
  if (index.dtype() == DType::i32) {
    find_bad_kernel<<<grid_for(n), kBlock>>>(index.data<int32_t>(), n, limit, has_ignore, ig, pfirst);
  } else {
    find_bad_kernel<<<grid_for(n), kBlock>>>(index.data<int64_t>(), n, limit, has_ignore, ig, pfirst);
  }
  check_launch("find_bad_kernel");
  unsigned long long position = 0;
  cuda_check(cudaMemcpy(&position, pfirst, sizeof(position), cudaMemcpyDeviceToHost), "reading the index check");
  if (position == ~0ull) return bad;
  bad.position = static_cast<int64_t>(position);
  const size_t esize = dtype_size(index.dtype());
  const char* at = static_cast<const char*>(index.raw()) + static_cast<size_t>(position) * esize;
  if (index.dtype() == DType::i32) {
    int32_t v = 0;
    cuda_check(cudaMemcpy(&v, at, esize, cudaMemcpyDeviceToHost), "reading a bad index");
    bad.value = v;
  } else {
    cuda_check(cudaMemcpy(&bad.value, at, esize, cudaMemcpyDeviceToHost), "reading a bad index");
  }
  return bad;
}

std::string index_str(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

void cuda_check_indices(const Tensor& index, int64_t limit, const std::string& name, const std::string& range) {
  const BadIndex bad = cuda_find_bad_index(index, limit);
  if (bad.position >= 0) {
    fail("ERR_TG_ARG", name, index_str(bad.position, index.shape()), " = ", bad.value, " is out of range ", range);
  }
}

}  // namespace tg
