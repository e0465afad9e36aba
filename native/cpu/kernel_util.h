// Small helpers shared by the CPU op families: parallel loops over element
// ranges, common shape/dtype inference and checks with uniform messages.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../core/op.h"
#include "../core/thread_pool.h"

namespace tg {

// Runs fn(begin, end) over [0, n) in chunks of at least `grain` elements.
template <typename Fn>
void parallel_range(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  const int64_t threads = thread_pool().size();
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(threads * 4, (n + grain - 1) / grain));
  const int64_t step = (n + chunks - 1) / chunks;
  thread_pool().parallel_for(chunks, [&](int64_t c) {
    const int64_t begin = c * step;
    const int64_t end = std::min(n, begin + step);
    if (begin < end) fn(begin, end);
  });
}

// Sums f(i) over [0, n) in float64. Blocks of `block` items are summed in
// parallel and then added in order, so the total is the same on any pool size.
template <typename Fn>
inline double ordered_sum(int64_t n, int64_t block, Fn f) {
  if (n <= 0) return 0.0;
  std::vector<double> partial(static_cast<size_t>((n + block - 1) / block));
  thread_pool().parallel_for(static_cast<int64_t>(partial.size()), [&](int64_t b) {
    const int64_t end = std::min(n, (b + 1) * block);
    double s = 0.0;
    for (int64_t i = b * block; i < end; ++i) s += f(i);
    partial[static_cast<size_t>(b)] = s;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

// Calls fn(r, begin, end) for pieces [begin, end) of `rows` rows of `len`
// elements each, in parallel; long rows are split so a single row still spreads
// over the pool.
template <typename Fn>
void for_row_pieces(int64_t rows, int64_t len, int64_t grain, Fn fn) {
  if (rows <= 0 || len <= 0) return;
  const int64_t piece = std::min(len, grain);
  const int64_t pieces = (len + piece - 1) / piece;
  parallel_range(rows * pieces, std::max<int64_t>(1, grain / piece), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t c0 = (t % pieces) * piece;
      fn(t / pieces, c0, std::min(len, c0 + piece));
    }
  });
}

inline void require_float32(const TensorSpec& s, const char* what) {
  TG_CHECK(s.dtype == DType::f32, "ERR_TG_DTYPE", what, " must be f32, got ", dtype_name(s.dtype));
}

inline void require_same_shape(const TensorSpec& a, const char* an, const TensorSpec& b, const char* bn) {
  TG_CHECK(a.shape == b.shape, "ERR_TG_SHAPE", an, " has shape ", shape_str(a.shape), " but ", bn, " has shape ",
           shape_str(b.shape));
}

// Normalises a possibly negative axis for a tensor of `rank` dims.
inline int64_t normalize_axis(int64_t axis, int64_t rank, const char* what) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  TG_CHECK(a >= 0 && a < rank, "ERR_TG_ARG", what, " ", axis, " is out of range for ", rank, " dims");
  return a;
}

// Output = one f32 tensor shaped like input 0 (unary ops).
inline std::vector<TensorSpec> infer_unary_f32(const std::vector<TensorSpec>& in, const Attrs&) {
  require_float32(in[0], "x");
  return {in[0]};
}

// Output shaped like input 1 for backward ops taking (dy, x) or (dy, y).
inline std::vector<TensorSpec> infer_backward_like_1(const std::vector<TensorSpec>& in, const Attrs&) {
  require_float32(in[0], "dy");
  require_float32(in[1], "the saved input");
  require_same_shape(in[0], "dy", in[1], "the saved input");
  return {in[1]};
}

// The `reduction` attribute of the loss ops, as torch.nn.functional's.
enum class Reduction { none, mean, sum };

inline Reduction parse_reduction(const Attrs& a) {
  const std::string r = a.get_string("reduction", "mean");
  if (r == "mean") return Reduction::mean;
  if (r == "sum") return Reduction::sum;
  if (r == "none") return Reduction::none;
  fail("ERR_TG_ARG", "unknown reduction '", r, "' (expected 'mean', 'sum' or 'none')");
}

}  // namespace tg
