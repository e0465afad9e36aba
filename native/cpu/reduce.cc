// Reductions over a set of axes: sum and mean, with keepdim, and their
// backward ops, which broadcast dy back over the reduced axes. Sums
// accumulate in double so that long reductions keep f32 accuracy.
#include <algorithm>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr int64_t kBlock = 256;  // kept elements accumulated together when the innermost dim is kept

// reduced[d]: dim d of a rank-`rank` input is reduced. No `axes` attribute
// means every axis; an empty list means none.
std::vector<bool> reduced_dims(const Attrs& attrs, int64_t rank) {
  std::vector<bool> reduced(static_cast<size_t>(rank), !attrs.has("axes"));
  for (int64_t axis : attrs.get_ints("axes", {})) {
    const int64_t a = normalize_axis(axis, rank, "attribute 'axes': axis");
    TG_CHECK(!reduced[static_cast<size_t>(a)], "ERR_TG_ARG", "attribute 'axes' ",
             shape_str(attrs.get_ints("axes", {})), " names dim ", a, " twice");
    reduced[static_cast<size_t>(a)] = true;
  }
  return reduced;
}

Shape reduced_shape(const Shape& in, const std::vector<bool>& reduced, bool keepdim) {
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) {
      out.push_back(in[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

int64_t reduced_count(const Shape& in, const std::vector<bool>& reduced) {
  int64_t n = 1;
  for (size_t d = 0; d < in.size(); ++d) {
    if (reduced[d]) n *= in[d];
  }
  return n;
}

// The input as runs of adjacent dims of one kind (reduced or kept), size-1
// dims dropped; strides are in input elements. At least one group.
struct Group {
  int64_t size, stride;
  bool reduced;
};

std::vector<Group> group_dims(const Shape& in, const std::vector<bool>& reduced) {
  std::vector<Group> groups;
  int64_t stride = 1;
  for (size_t d = in.size(); d-- > 0;) {
    if (in[d] != 1) {
      if (!groups.empty() && groups.back().reduced == reduced[d]) {
        groups.back().size *= in[d];
      } else {
        groups.push_back(Group{in[d], stride, reduced[d]});
      }
    }
    stride *= in[d];
  }
  if (groups.empty()) groups.push_back(Group{1, 1, false});
  std::reverse(groups.begin(), groups.end());
  return groups;
}

// Input offsets of every combination of indices over `groups`, row-major.
std::vector<int64_t> offsets_of(const std::vector<Group>& groups) {
  std::vector<int64_t> offsets{0};
  for (const Group& g : groups) {
    std::vector<int64_t> next;
    next.reserve(offsets.size() * static_cast<size_t>(g.size));
    for (int64_t base : offsets) {
      for (int64_t i = 0; i < g.size; ++i) next.push_back(base + i * g.stride);
    }
    offsets.swap(next);
  }
  return offsets;
}

// Input offset of kept element `index` (row-major over the kept groups).
int64_t kept_offset(const std::vector<Group>& kept, int64_t index) {
  int64_t offset = 0;
  for (size_t d = kept.size(); d-- > 0;) {
    offset += (index % kept[d].size) * kept[d].stride;
    index /= kept[d].size;
  }
  return offset;
}

// y = scale * sum of x over the reduced dims; y is laid out as the kept dims.
void reduce_sum(const Tensor& x, const Tensor& y, const std::vector<bool>& reduced, double scale) {
  const std::vector<Group> groups = group_dims(x.shape(), reduced);
  std::vector<Group> kept, red;
  for (const Group& g : groups) (g.reduced ? red : kept).push_back(g);
  const float* px = x.data<float>();
  float* py = y.data<float>();

  if (!groups.back().reduced) {
    // Innermost dim kept (size I): add whole contiguous blocks of it per
    // reduced offset, kBlock kept elements at a time.
    const int64_t inner = kept.back().size;
    kept.pop_back();
    const std::vector<int64_t> red_off = offsets_of(red);
    const int64_t blocks = (inner + kBlock - 1) / kBlock;
    int64_t outer = 1;
    for (const Group& g : kept) outer *= g.size;
    const int64_t work = static_cast<int64_t>(red_off.size()) * std::min(inner, kBlock);
    parallel_range(outer * blocks, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, work)), [&](int64_t b, int64_t e) {
      double acc[kBlock];
      for (int64_t item = b; item < e; ++item) {
        const int64_t o = item / blocks, j0 = (item % blocks) * kBlock;
        const int64_t len = std::min(kBlock, inner - j0);
        const float* base = px + kept_offset(kept, o) + j0;
        std::fill(acc, acc + len, 0.0);
        for (int64_t off : red_off) {
          const float* p = base + off;
          for (int64_t j = 0; j < len; ++j) acc[j] += p[j];
        }
        float* out = py + o * inner + j0;
        for (int64_t j = 0; j < len; ++j) out[j] = static_cast<float>(acc[j] * scale);
      }
    });
    return;
  }

  // Innermost dim reduced (contiguous run of L): one output at a time.
  const int64_t run = red.back().size;
  red.pop_back();
  const std::vector<int64_t> red_off = offsets_of(red);
  int64_t outputs = 1;
  for (const Group& g : kept) outputs *= g.size;
  const int64_t work = static_cast<int64_t>(red_off.size()) * run;
  parallel_range(outputs, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, work)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const float* base = px + kept_offset(kept, o);
      double acc = 0.0;
      for (int64_t off : red_off) {
        const float* p = base + off;
        for (int64_t j = 0; j < run; ++j) acc += p[j];
      }
      py[o] = static_cast<float>(acc * scale);
    }
  });
}

// dx (x's shape) = scale * dy broadcast over the reduced dims.
void broadcast_back(const Tensor& dy, const Tensor& dx, const std::vector<bool>& reduced, float scale) {
  const std::vector<Group> groups = group_dims(dx.shape(), reduced);
  // Strides of each group in dy, whose layout is the kept dims: 0 for reduced groups.
  std::vector<int64_t> dy_stride(groups.size());
  int64_t s = 1;
  for (size_t d = groups.size(); d-- > 0;) {
    dy_stride[d] = groups[d].reduced ? 0 : s;
    if (!groups[d].reduced) s *= groups[d].size;
  }
  const int64_t inner = groups.back().size, inner_stride = dy_stride.back();
  const int64_t rows = dx.numel() / std::max<int64_t>(1, inner);
  const float* pdy = dy.data<float>();
  float* pdx = dx.data<float>();
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      int64_t offset = 0;
      for (size_t d = groups.size() - 1, r = static_cast<size_t>(row); d-- > 0;) {
        offset += static_cast<int64_t>(r % static_cast<size_t>(groups[d].size)) * dy_stride[d];
        r /= static_cast<size_t>(groups[d].size);
      }
      const float* src = pdy + offset;
      float* dst = pdx + row * inner;
      for (int64_t j = 0; j < inner; ++j) dst[j] = scale * src[j * inner_stride];
    }
  });
}

// ---- sum / mean{axes, keepdim} ----

std::vector<TensorSpec> infer_reduce(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  const std::vector<bool> reduced = reduced_dims(attrs, static_cast<int64_t>(in[0].shape.size()));
  return {TensorSpec{reduced_shape(in[0].shape, reduced, attrs.get_bool("keepdim", false)), DType::f32}};
}

void cpu_sum_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                     const RunContext&) {
  reduce_sum(in[0], out[0], reduced_dims(attrs, in[0].dim()), 1.0);
}

// The mean of no elements is NaN (0 * inf), as in torch.
void cpu_mean_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                      const RunContext&) {
  const std::vector<bool> reduced = reduced_dims(attrs, in[0].dim());
  reduce_sum(in[0], out[0], reduced, 1.0 / static_cast<double>(reduced_count(in[0].shape(), reduced)));
}

// ---- sum_backward / mean_backward(dy){shape, axes, keepdim}: dy broadcast back to `shape` ----

std::vector<TensorSpec> infer_reduce_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "dy");
  const Shape shape = attrs.require_ints("shape");
  const std::vector<bool> reduced = reduced_dims(attrs, static_cast<int64_t>(shape.size()));
  const Shape expected = reduced_shape(shape, reduced, attrs.get_bool("keepdim", false));
  TG_CHECK(in[0].shape == expected, "ERR_TG_SHAPE", "dy has shape ", shape_str(in[0].shape), " but reducing ",
           shape_str(shape), " gives ", shape_str(expected));
  return {TensorSpec{shape, DType::f32}};
}

void cpu_sum_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                      const RunContext&) {
  broadcast_back(in[0], out[0], reduced_dims(attrs, out[0].dim()), 1.0f);
}

void cpu_mean_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                       const RunContext&) {
  const std::vector<bool> reduced = reduced_dims(attrs, out[0].dim());
  const double count = static_cast<double>(reduced_count(out[0].shape(), reduced));
  broadcast_back(in[0], out[0], reduced, static_cast<float>(1.0 / count));
}

std::vector<ValueId> grad_with(const char* op, GraphBuilder& g, const GradContext& c) {
  Attrs a = c.attrs;
  a.set("shape", std::vector<int64_t>(g.spec(c.inputs[0]).shape));
  return {g.add1(op, {c.grad_outputs[0]}, a)};
}
std::vector<ValueId> grad_sum(GraphBuilder& g, const GradContext& c) { return grad_with("sum_backward", g, c); }
std::vector<ValueId> grad_mean(GraphBuilder& g, const GradContext& c) { return grad_with("mean_backward", g, c); }

}  // namespace

TG_REGISTER_OP({"sum", {"x"}, 1, infer_reduce, cpu_sum_forward, grad_sum,
                "sum of x over `axes` (default: all; negative allowed), dropping them unless keepdim"});
TG_REGISTER_OP({"mean", {"x"}, 1, infer_reduce, cpu_mean_forward, grad_mean,
                "mean of x over `axes` (default: all; negative allowed), dropping them unless keepdim"});
TG_REGISTER_OP({"sum_backward", {"dy"}, 1, infer_reduce_backward, cpu_sum_backward, nullptr,
                "dy broadcast back to `shape` over the `axes` a sum{axes, keepdim} reduced"});
TG_REGISTER_OP({"mean_backward", {"dy"}, 1, infer_reduce_backward, cpu_mean_backward, nullptr,
                "dy / count broadcast back to `shape` over the `axes` a mean{axes, keepdim} reduced"});

}  // namespace tg
