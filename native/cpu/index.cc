// Indexing by integer tensors, as torch.index_select, torch.gather and
// F.embedding, with their backward ops (scatter-adds: repeated indices
// accumulate). Indices are i32 or i64 and must lie in [0, size) (no negative
// indices, as in PyTorch); a bad one fails with ERR_TG_ARG naming its position
// and value. The forward ops copy by element size, so they take any dtype;
// the backward ops are f32. Scatter-adds are computed per output row (each
// row owned by one task, summing its sources in index order), so there are no
// races and the result does not depend on the thread count.
#include <algorithm>
#include <string>
#include <type_traits>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;

int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= s[d];
  return n;
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

void require_index_dtype(const TensorSpec& s, const char* what) {
  TG_CHECK(s.dtype == DType::i32 || s.dtype == DType::i64, "ERR_TG_DTYPE", what, " must be i32 or i64, got ",
           dtype_name(s.dtype));
}

// Calls fn(const I*) with the index tensor's data, I = int32_t or int64_t.
template <typename Fn>
void with_indices(const Tensor& t, Fn&& fn) {
  if (t.dtype() == DType::i32) {
    fn(t.data<int32_t>());
  } else {
    fn(t.data<int64_t>());
  }
}

// Calls fn(T*) with a tensor's data as unsigned integers of its element size.
template <typename Fn>
void with_elements(const Tensor& t, Fn&& fn) {
  switch (dtype_size(t.dtype())) {
    case 1: return fn(t.data<uint8_t>());
    case 2: return fn(t.data<uint16_t>());
    case 4: return fn(t.data<uint32_t>());
    case 8: return fn(t.data<uint64_t>());
    default: fail("ERR_TG_DTYPE", "unsupported element size for ", dtype_name(t.dtype()));
  }
}

// Fails naming the first index outside [0, limit): "<name>[i, j] = v is out of range <range>".
// Chunks are searched in parallel and the lowest bad position reported, so the
// message does not depend on the thread count either.
void check_indices(const Tensor& t, int64_t limit, const std::string& name, const std::string& range) {
  const int64_t n = t.numel();
  const int64_t chunk = 1 << 16;
  std::vector<int64_t> first_bad(static_cast<size_t>((n + chunk - 1) / chunk), -1);
  with_indices(t, [&](const auto* idx) {
    thread_pool().parallel_for(static_cast<int64_t>(first_bad.size()), [&](int64_t c) {
      const int64_t end = std::min(n, (c + 1) * chunk);
      bool bad = false;
      for (int64_t i = c * chunk; i < end; ++i) bad |= idx[i] < 0 || idx[i] >= limit;
      if (!bad) return;
      for (int64_t i = c * chunk; i < end; ++i) {
        if (idx[i] < 0 || idx[i] >= limit) {
          first_bad[static_cast<size_t>(c)] = i;
          return;
        }
      }
    });
    for (int64_t i : first_bad) {
      if (i >= 0) {
        fail("ERR_TG_ARG", name, index_str(i, t.shape()), " = ", static_cast<int64_t>(idx[i]), " is out of range ",
             range);
      }
    }
  });
}

// The positions of a (checked) index tensor grouped by value, each group in
// increasing position order: positions with value v are
// items[start[v] .. start[v + 1]). A counting sort, O(count + limit).
struct Buckets {
  std::vector<int64_t> start, items;
};

Buckets bucket_indices(const Tensor& t, int64_t limit) {
  Buckets b;
  b.start.assign(static_cast<size_t>(limit) + 1, 0);
  b.items.resize(static_cast<size_t>(t.numel()));
  with_indices(t, [&](const auto* idx) {
    for (int64_t i = 0; i < t.numel(); ++i) ++b.start[static_cast<size_t>(idx[i]) + 1];
    for (size_t v = 0; v < static_cast<size_t>(limit); ++v) b.start[v + 1] += b.start[v];
    std::vector<int64_t> next(b.start.begin(), b.start.end() - 1);
    for (int64_t i = 0; i < t.numel(); ++i) b.items[static_cast<size_t>(next[static_cast<size_t>(idx[i])]++)] = i;
  });
  return b;
}

// src: (outer, n, inner) -> dst: (outer, K, inner), dst[o, k] = src[o, idx[k]]
// (idx checked). Rows of one element (inner 1) are walked along k instead.
template <typename T, typename I>
void select_rows(const T* src, T* dst, int64_t outer, int64_t n, int64_t inner, const I* idx, int64_t k_count) {
  if (inner == 1) {
    for_row_pieces(outer, k_count, kGrain, [&](int64_t o, int64_t b, int64_t e) {
      const T* s = src + o * n;
      T* d = dst + o * k_count;
      for (int64_t k = b; k < e; ++k) d[k] = s[idx[k]];
    });
    return;
  }
  for_row_pieces(outer * k_count, inner, kGrain, [&](int64_t r, int64_t b, int64_t e) {
    const T* s = src + ((r / k_count) * n + static_cast<int64_t>(idx[r % k_count])) * inner;
    std::copy(s + b, s + e, dst + r * inner + b);
  });
}

void select_rows_any(const Tensor& src, const Tensor& dst, int64_t outer, int64_t n, int64_t inner,
                     const Tensor& index) {
  with_elements(src, [&](auto* s) {
    using T = std::remove_pointer_t<decltype(s)>;
    with_indices(index, [&](const auto* idx) {
      select_rows(static_cast<const T*>(s), static_cast<T*>(dst.raw()), outer, n, inner, idx, index.numel());
    });
  });
}

// dy: (outer, K, inner) -> dx: (outer, n, inner), dx[o, j] = sum of dy[o, k]
// over the k with idx[k] == j, in increasing k; row `skip` (if >= 0) stays 0.
void scatter_add_rows(const Tensor& dy, const Tensor& dx, int64_t outer, int64_t n, int64_t inner,
                      const Buckets& buckets, int64_t skip) {
  const int64_t k_count = static_cast<int64_t>(buckets.items.size());
  const float* pdy = dy.data<float>();
  float* pdx = dx.data<float>();
  for_row_pieces(outer * n, inner, kGrain, [&](int64_t r, int64_t b, int64_t e) {
    const int64_t o = r / n, j = r % n;
    float* out = pdx + r * inner;
    std::fill(out + b, out + e, 0.0f);
    if (j == skip) return;
    const size_t first = static_cast<size_t>(buckets.start[static_cast<size_t>(j)]);
    const size_t last = static_cast<size_t>(buckets.start[static_cast<size_t>(j) + 1]);
    for (size_t p = first; p < last; ++p) {
      const float* src = pdy + (o * k_count + buckets.items[p]) * inner;
      for (int64_t c = b; c < e; ++c) out[c] += src[c];
    }
  });
}

// ---- index_select(x, index){axis=0}: y = x with dim axis indexed by index ----

struct AxisLayout {
  int64_t axis, outer, n, inner;
};

AxisLayout axis_layout(const Shape& shape, const Attrs& attrs) {
  TG_CHECK(!shape.empty(), "ERR_TG_SHAPE", "x is a scalar; indexing needs a tensor of at least 1 dim");
  AxisLayout l{};
  l.axis = normalize_axis(attrs.get_int("axis", 0), static_cast<int64_t>(shape.size()), "attribute 'axis'");
  const size_t ax = static_cast<size_t>(l.axis);
  l.outer = prod(shape, 0, ax);
  l.n = shape[ax];
  l.inner = prod(shape, ax + 1, shape.size());
  return l;
}

// x's shape with dim axis replaced by index's length.
Shape index_select_shape(const Shape& x, const TensorSpec& index, const Attrs& attrs) {
  require_index_dtype(index, "index");
  TG_CHECK(index.shape.size() == 1, "ERR_TG_SHAPE", "index must be 1-D, got shape ", shape_str(index.shape));
  Shape out = x;
  out[static_cast<size_t>(axis_layout(x, attrs).axis)] = index.shape[0];
  return out;
}

std::string axis_range(const AxisLayout& l) {
  return "for dim " + std::to_string(l.axis) + " of size " + std::to_string(l.n);
}

std::vector<TensorSpec> infer_index_select(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  return {TensorSpec{index_select_shape(in[0].shape, in[1], attrs), in[0].dtype}};
}

void cpu_index_select_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                              const RunContext&) {
  const AxisLayout l = axis_layout(in[0].shape(), attrs);
  check_indices(in[1], l.n, "index", axis_range(l));
  select_rows_any(in[0], out[0], l.outer, l.n, l.inner, in[1]);
}

std::vector<ValueId> grad_index_select(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("axis", c.attrs.get_int("axis", 0));
  a.set("input_shape", std::vector<int64_t>(g.spec(c.inputs[0]).shape));
  return {g.add1("index_select_backward", {c.grad_outputs[0], c.inputs[1]}, a), kNoValue};
}

// ---- index_select_backward(dy, index){input_shape, axis}: index_add of dy into zeros ----

Shape require_input_shape(const Attrs& attrs) {
  const Shape shape = attrs.require_ints("input_shape");
  for (int64_t d : shape) {
    TG_CHECK(d >= 0, "ERR_TG_ARG", "attribute 'input_shape' ", shape_str(shape), " has a negative dimension");
  }
  return shape;
}

std::vector<TensorSpec> infer_index_select_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "dy");
  const Shape shape = require_input_shape(attrs);
  const Shape want = index_select_shape(shape, in[1], attrs);
  TG_CHECK(in[0].shape == want, "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape),
           " but index_select of input_shape ", shape_str(shape), " gives ", shape_str(want));
  return {TensorSpec{shape, DType::f32}};
}

void cpu_index_select_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                               const RunContext&) {
  const AxisLayout l = axis_layout(out[0].shape(), attrs);
  check_indices(in[1], l.n, "index", axis_range(l));
  scatter_add_rows(in[0], out[0], l.outer, l.n, l.inner, bucket_indices(in[1], l.n), -1);
}

// ---- gather(x, index){axis=0}: y[p] = x[p with its axis coordinate replaced by index[p]] ----
// index has x's rank and index.size(d) <= x.size(d) for d != axis; y has index's shape.

void check_gather_shapes(const Shape& x, const TensorSpec& index, int64_t axis) {
  require_index_dtype(index, "index");
  bool ok = index.shape.size() == x.size();
  for (size_t d = 0; ok && d < x.size(); ++d) ok = static_cast<int64_t>(d) == axis || index.shape[d] <= x[d];
  TG_CHECK(ok, "ERR_TG_SHAPE", "index has shape ", shape_str(index.shape), " but x has shape ", shape_str(x),
           "; index needs x's rank and no dim larger than x's, except along axis ", axis);
}

// index viewed as (outer, K, inner) around axis; x offsets of the outer and
// inner coordinates, which differ from index's when index is smaller than x.
struct GatherLayout {
  int64_t outer, k, inner, axis_stride, n;
  std::vector<int64_t> outer_off, inner_off;
};

// x offsets of every coordinate of index's dims [begin, end), row-major.
std::vector<int64_t> x_offsets(const Shape& index, const std::vector<int64_t>& x_stride, size_t begin, size_t end) {
  std::vector<int64_t> off{0};
  for (size_t d = begin; d < end; ++d) {
    std::vector<int64_t> next;
    next.reserve(off.size() * static_cast<size_t>(index[d]));
    for (int64_t base : off) {
      for (int64_t i = 0; i < index[d]; ++i) next.push_back(base + i * x_stride[d]);
    }
    off.swap(next);
  }
  return off;
}

GatherLayout gather_layout(const Shape& x, const Shape& index, int64_t axis) {
  std::vector<int64_t> stride(x.size());
  int64_t s = 1;
  for (size_t d = x.size(); d-- > 0;) {
    stride[d] = s;
    s *= x[d];
  }
  const size_t ax = static_cast<size_t>(axis);
  GatherLayout l;
  l.outer = prod(index, 0, ax);
  l.k = index[ax];
  l.inner = prod(index, ax + 1, index.size());
  l.axis_stride = stride[ax];
  l.n = x[ax];
  l.outer_off = x_offsets(index, stride, 0, ax);
  l.inner_off = x_offsets(index, stride, ax + 1, index.size());
  return l;
}

int64_t gather_axis(const Shape& x, const Attrs& attrs) {
  TG_CHECK(!x.empty(), "ERR_TG_SHAPE", "x is a scalar; gather needs a tensor of at least 1 dim");
  return normalize_axis(attrs.get_int("axis", 0), static_cast<int64_t>(x.size()), "attribute 'axis'");
}

std::vector<TensorSpec> infer_gather(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  check_gather_shapes(in[0].shape, in[1], gather_axis(in[0].shape, attrs));
  return {TensorSpec{in[1].shape, in[0].dtype}};
}

std::string gather_range(int64_t axis, int64_t n) {
  return "for x's dim " + std::to_string(axis) + " of size " + std::to_string(n);
}

// x: any shape; index, y: (outer, K, inner)
void cpu_gather_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  const int64_t axis = gather_axis(in[0].shape(), attrs);
  const GatherLayout l = gather_layout(in[0].shape(), in[1].shape(), axis);
  check_indices(in[1], l.n, "index", gather_range(axis, l.n));
  with_elements(in[0], [&](auto* px) {
    using T = std::remove_pointer_t<decltype(px)>;
    T* py = static_cast<T*>(out[0].raw());
    with_indices(in[1], [&](const auto* idx) {
      if (l.inner == 1) {  // gathering along the last dim: walk rows of K instead of single elements
        for_row_pieces(l.outer, l.k, kGrain, [&](int64_t o, int64_t b, int64_t e) {
          const T* x = px + l.outer_off[static_cast<size_t>(o)];
          const auto* id = idx + o * l.k;
          T* y = py + o * l.k;
          for (int64_t k = b; k < e; ++k) y[k] = x[id[k] * l.axis_stride];
        });
        return;
      }
      for_row_pieces(l.outer * l.k, l.inner, kGrain, [&](int64_t r, int64_t b, int64_t e) {
        const T* x = px + l.outer_off[static_cast<size_t>(r / l.k)];
        const auto* id = idx + r * l.inner;
        T* y = py + r * l.inner;
        for (int64_t c = b; c < e; ++c) y[c] = x[id[c] * l.axis_stride + l.inner_off[static_cast<size_t>(c)]];
      });
    });
  });
}

std::vector<ValueId> grad_gather(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("axis", c.attrs.get_int("axis", 0));
  a.set("input_shape", std::vector<int64_t>(g.spec(c.inputs[0]).shape));
  return {g.add1("gather_backward", {c.grad_outputs[0], c.inputs[1]}, a), kNoValue};
}

// ---- gather_backward(dy, index){input_shape, axis}: scatter_add of dy into zeros ----

std::vector<TensorSpec> infer_gather_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "dy");
  const Shape shape = require_input_shape(attrs);
  check_gather_shapes(shape, in[1], gather_axis(shape, attrs));
  TG_CHECK(in[0].shape == in[1].shape, "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape),
           " but index has shape ", shape_str(in[1].shape));
  return {TensorSpec{shape, DType::f32}};
}

// Every (outer, inner) coordinate of index is a fibre along axis that writes
// only to its own fibre of dx, so tasks own blocks of inner coordinates and
// add their K sources in order.
void cpu_gather_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext&) {
  const Tensor& dx = out[0];
  const int64_t axis = gather_axis(dx.shape(), attrs);
  const GatherLayout l = gather_layout(dx.shape(), in[1].shape(), axis);
  check_indices(in[1], l.n, "index", gather_range(axis, l.n));
  float* pdx = dx.data<float>();
  const float* pdy = in[0].data<float>();
  parallel_range(dx.numel(), kGrain, [&](int64_t b, int64_t e) { std::fill(pdx + b, pdx + e, 0.0f); });
  with_indices(in[1], [&](const auto* idx) {
    const int64_t grain = std::max<int64_t>(16, kGrain / std::max<int64_t>(1, l.k));
    for_row_pieces(l.outer, l.inner, grain, [&](int64_t o, int64_t b, int64_t e) {
      float* x = pdx + l.outer_off[static_cast<size_t>(o)];
      for (int64_t k = 0; k < l.k; ++k) {
        const int64_t row = (o * l.k + k) * l.inner;
        for (int64_t c = b; c < e; ++c) {
          x[idx[row + c] * l.axis_stride + l.inner_off[static_cast<size_t>(c)]] += pdy[row + c];
        }
      }
    });
  });
}

// ---- embedding(weight, ids){padding_idx=-1}: weight (V, D), ids (...) -> (..., D) ----
// padding_idx is -1 (none) or a row in [0, V) whose gradient is kept at zero,
// as in PyTorch; PyTorch's negative padding_idx counts from the end, so pass
// V + padding_idx for those. The forward pass reads that row like any other.

int64_t padding_idx(const Attrs& attrs, int64_t vocab) {
  const int64_t p = attrs.get_int("padding_idx", -1);
  TG_CHECK(p == -1 || (p >= 0 && p < vocab), "ERR_TG_ARG", "attribute 'padding_idx' must be -1 (none) or in [0, ",
           vocab, "), got ", p);
  return p;
}

std::string vocab_range(int64_t vocab) { return "for " + std::to_string(vocab) + " embeddings"; }

std::vector<TensorSpec> infer_embedding(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const TensorSpec& w = in[0];
  TG_CHECK(w.shape.size() == 2, "ERR_TG_SHAPE", "weight must have shape (num_embeddings, dim), got ",
           shape_str(w.shape));
  require_index_dtype(in[1], "ids");
  padding_idx(attrs, w.shape[0]);
  Shape out = in[1].shape;
  out.push_back(w.shape[1]);
  return {TensorSpec{out, w.dtype}};
}

// weight: (V, D), ids: N positions -> y: (N, D)
void cpu_embedding_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                           const RunContext&) {
  const int64_t vocab = in[0].size(0);
  check_indices(in[1], vocab, "ids", vocab_range(vocab));
  select_rows_any(in[0], out[0], 1, vocab, in[0].size(1), in[1]);
}

std::vector<ValueId> grad_embedding(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("num_embeddings", g.spec(c.inputs[0]).shape[0]);
  a.set("padding_idx", c.attrs.get_int("padding_idx", -1));
  return {g.add1("embedding_backward", {c.grad_outputs[0], c.inputs[1]}, a), kNoValue};
}

// ---- embedding_backward(dy, ids){num_embeddings, padding_idx=-1}: dy (..., D) -> dweight (V, D) ----

std::vector<TensorSpec> infer_embedding_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const TensorSpec& dy = in[0];
  require_float32(dy, "dy");
  require_index_dtype(in[1], "ids");
  const int64_t vocab = attrs.require_int("num_embeddings");
  TG_CHECK(vocab >= 0, "ERR_TG_ARG", "attribute 'num_embeddings' must be >= 0, got ", vocab);
  padding_idx(attrs, vocab);
  const Shape& ids = in[1].shape;
  TG_CHECK(dy.shape.size() == ids.size() + 1 && std::equal(ids.begin(), ids.end(), dy.shape.begin()),
           "ERR_TG_SHAPE", "dy has shape ", shape_str(dy.shape), " but ids have shape ", shape_str(ids),
           "; dy must be ids' shape plus a trailing embedding dim");
  return {TensorSpec{{vocab, dy.shape.back()}, DType::f32}};
}

// Each weight row is one task's: it sums the dy rows of its ids in order.
void cpu_embedding_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext&) {
  const int64_t vocab = out[0].size(0);
  check_indices(in[1], vocab, "ids", vocab_range(vocab));
  scatter_add_rows(in[0], out[0], 1, vocab, out[0].size(1), bucket_indices(in[1], vocab), padding_idx(attrs, vocab));
}

}  // namespace

TG_REGISTER_OP({"index_select", {"x", "index"}, 1, infer_index_select, cpu_index_select_forward, grad_index_select,
                "x with dim `axis` (default 0) indexed by index (1-D, i32/i64, values in [0, size)), as "
                "torch.index_select: that dim becomes len(index); any dtype"});
TG_REGISTER_OP({"index_select_backward", {"dy", "index"}, 1, infer_index_select_backward,
                cpu_index_select_backward, nullptr,
                "zeros of `input_shape` with dy's slices added at index along `axis` (repeats accumulate): the "
                "gradient of index_select"});
TG_REGISTER_OP({"gather", {"x", "index"}, 1, infer_gather, cpu_gather_forward, grad_gather,
                "torch.gather: y[p] = x[p with coordinate `axis` replaced by index[p]]; index (i32/i64) has x's "
                "rank, no dim larger than x's off axis, and y has index's shape; any dtype"});
TG_REGISTER_OP({"gather_backward", {"dy", "index"}, 1, infer_gather_backward, cpu_gather_backward, nullptr,
                "zeros of `input_shape` with dy scatter-added where gather{axis} read (repeats accumulate): the "
                "gradient of gather"});
TG_REGISTER_OP({"embedding", {"weight", "ids"}, 1, infer_embedding, cpu_embedding_forward, grad_embedding,
                "rows of weight (V, D) picked by ids (i32/i64, any shape, in [0, V)) -> (..., D), as F.embedding; "
                "padding_idx (-1: none) only affects the gradient"});
TG_REGISTER_OP({"embedding_backward", {"dy", "ids"}, 1, infer_embedding_backward, cpu_embedding_backward, nullptr,
                "dy (..., D) rows summed per id into (num_embeddings, D), row padding_idx kept 0: the gradient of "
                "embedding with respect to weight"});

}  // namespace tg
