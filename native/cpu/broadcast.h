// Broadcasting machinery shared by the elementwise op families (elementwise.cc,
// where.cc): NumPy broadcasting of shapes, and an iteration plan that walks
// the broadcast index space row by row in parallel with each operand's offset.
#pragma once
#include <algorithm>
#include <array>
#include <vector>

#include "kernel_util.h"

namespace tg {
namespace broadcast {

constexpr int64_t kRowGrain = 1 << 14;

// Sets out to the broadcast shape of all the shapes; false if they do not broadcast.
inline bool broadcast_all(const std::vector<const Shape*>& shapes, Shape& out) {
  size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  out.assign(rank, 1);
  for (const Shape* s : shapes) {
    for (size_t i = 0; i < s->size(); ++i) {  // i counts dims from the right
      const int64_t d = (*s)[s->size() - 1 - i];
      int64_t& o = out[rank - 1 - i];
      if (d == o || d == 1) continue;
      if (o != 1) return false;
      o = d;
    }
  }
  return true;
}

// Whether `from` stretches to `to` by broadcasting alone.
inline bool broadcasts_to(const Shape& from, const Shape& to) {
  Shape joint;
  return broadcast_all({&from, &to}, joint) && joint == to;
}

// The output's index space with size-1 dims dropped and neighbouring dims
// merged wherever every operand steps through them as through one.
// strides[d][k]: operand k's element step along dim d, 0 where it is broadcast.
// Never empty: a one-element space is a single dim of size 1.
template <size_t N>
struct Plan {
  Shape dims;
  std::vector<std::array<int64_t, N>> strides;
};

template <size_t N>
Plan<N> make_plan(const Shape& space, const std::array<const Shape*, N>& operands) {
  const size_t rank = space.size();
  std::vector<std::array<int64_t, N>> full(rank);
  for (size_t k = 0; k < N; ++k) {
    const Shape& s = *operands[k];
    int64_t step = 1;
    for (size_t i = 0; i < rank; ++i) {  // i counts dims from the right
      const int64_t size = i < s.size() ? s[s.size() - 1 - i] : 1;
      full[rank - 1 - i][k] = size == 1 ? 0 : step;
      step *= size;
    }
  }
  Plan<N> p;
  for (size_t d = 0; d < rank; ++d) {
    if (space[d] == 1) continue;
    bool merge = !p.dims.empty();
    for (size_t k = 0; k < N && merge; ++k) merge = p.strides.back()[k] == full[d][k] * space[d];
    if (merge) {
      p.dims.back() *= space[d];
      p.strides.back() = full[d];
    } else {
      p.dims.push_back(space[d]);
      p.strides.push_back(full[d]);
    }
  }
  if (p.dims.empty()) {
    p.dims.push_back(1);
    p.strides.push_back({});
  }
  return p;
}

// Calls row(offsets, out_begin, len) over the plan's rows (its last dim) in
// parallel: offsets[k] is operand k's element offset at flat output index
// out_begin, and the piece covers len outputs from there. Long rows are split
// so that a single row still uses the whole pool.
template <size_t N, typename Row>
void for_each_row(const Plan<N>& p, Row row) {
  const int64_t len = p.dims.back();
  const int64_t rows = shape_numel(p.dims) / len;
  const int64_t piece = std::min(len, kRowGrain);
  const int64_t pieces = (len + piece - 1) / piece;
  const size_t outer = p.dims.size() - 1;
  parallel_range(rows * pieces, std::max<int64_t>(1, kRowGrain / piece), [&](int64_t b, int64_t e) {
    // idx / off: the outer coordinates of row b / pieces and each operand's offset there.
    std::vector<int64_t> idx(outer);
    std::array<int64_t, N> off{};
    for (size_t d = outer, r = static_cast<size_t>(b / pieces); d-- > 0;) {
      idx[d] = static_cast<int64_t>(r % static_cast<size_t>(p.dims[d]));
      r /= static_cast<size_t>(p.dims[d]);
      for (size_t k = 0; k < N; ++k) off[k] += idx[d] * p.strides[d][k];
    }
    for (int64_t t = b; t < e; ++t) {
      if (t > b && t % pieces == 0) {  // next row: advance the outer coordinates like an odometer
        for (size_t d = outer; d-- > 0;) {
          for (size_t k = 0; k < N; ++k) off[k] += p.strides[d][k];
          if (++idx[d] < p.dims[d]) break;
          for (size_t k = 0; k < N; ++k) off[k] -= p.strides[d][k] * p.dims[d];
          idx[d] = 0;
        }
      }
      const int64_t c0 = (t % pieces) * piece;
      std::array<int64_t, N> at;
      for (size_t k = 0; k < N; ++k) at[k] = off[k] + c0 * p.strides.back()[k];
      row(at, (t / pieces) * len + c0, std::min(piece, len - c0));
    }
  });
}

}  // namespace broadcast
}  // namespace tg
