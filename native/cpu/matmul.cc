// matmul with torch.matmul batch broadcasting, and linear
// (torch.nn.functional.linear), both on cpu_sgemm. Their gradients are more
// matmuls plus reductions over broadcast batch dims, so the only dedicated
// backward op is linear_backward_weight, which sums dy^T x over all leading
// dims in one GEMM.
#include <algorithm>
#include <cstring>

#include "../core/graph.h"
#include "gemm.h"
#include "kernel_util.h"

namespace tg {

namespace {

// ---- matmul(a, b){transA, transB}: a (..., M, K), b (..., K, N) -> (..., M, N) ----
// With transA a is stored (..., K, M); with transB b is stored (..., N, K).

struct MatmulDims {
  Shape batch;  // broadcast batch dims of the output
  int64_t m, n, k;
};

MatmulDims matmul_dims(const Shape& a, const Shape& b, bool ta, bool tb) {
  TG_CHECK(a.size() >= 2, "ERR_TG_SHAPE", "a must have at least 2 dims (..., M, K), got ", shape_str(a));
  TG_CHECK(b.size() >= 2, "ERR_TG_SHAPE", "b must have at least 2 dims (..., K, N), got ", shape_str(b));
  const size_t ra = a.size(), rb = b.size();
  MatmulDims d;
  d.m = ta ? a[ra - 1] : a[ra - 2];
  const int64_t ka = ta ? a[ra - 2] : a[ra - 1];
  const int64_t kb = tb ? b[rb - 1] : b[rb - 2];
  d.n = tb ? b[rb - 2] : b[rb - 1];
  TG_CHECK(ka == kb, "ERR_TG_SHAPE", "inner dimensions differ: op(a) is (", d.m, ", ", ka, ") from a of shape ",
           shape_str(a), ta ? " (transA)" : "", ", op(b) is (", kb, ", ", d.n, ") from b of shape ", shape_str(b),
           tb ? " (transB)" : "");
  d.k = ka;
  const size_t ba = ra - 2, bb = rb - 2, rank = std::max(ba, bb);
  d.batch.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t sa = i + ba >= rank ? a[i + ba - rank] : 1;
    const int64_t sb = i + bb >= rank ? b[i + bb - rank] : 1;
    TG_CHECK(sa == sb || sa == 1 || sb == 1, "ERR_TG_SHAPE", "batch dims of a ", shape_str(a), " and b ",
             shape_str(b), " do not broadcast");
    d.batch[i] = sa == 1 ? sb : sa;
  }
  return d;
}

std::vector<TensorSpec> infer_matmul(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "a");
  require_float32(in[1], "b");
  const MatmulDims d = matmul_dims(in[0].shape, in[1].shape, attrs.get_bool("transA", false),
                                   attrs.get_bool("transB", false));
  Shape out = d.batch;
  out.push_back(d.m);
  out.push_back(d.n);
  return {TensorSpec{out, DType::f32}};
}

// Batch strides (in elements) of an operand per output batch dim: 0 where it
// is broadcast. `shape` is the operand's full shape.
std::vector<int64_t> batch_strides(const Shape& shape, const Shape& batch) {
  const size_t own = shape.size() - 2;
  std::vector<int64_t> strides(batch.size(), 0);
  int64_t s = shape[own] * shape[own + 1];
  for (size_t i = batch.size(), j = own; j-- > 0;) {
    --i;
    if (shape[j] != 1) strides[i] = s;
    s *= shape[j];
  }
  return strides;
}

// a: (..., M, K) or (..., K, M); b: (..., K, N) or (..., N, K); c: (batch..., M, N)
void cpu_matmul_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  const Tensor &a = in[0], &b = in[1], &c = out[0];
  if (c.numel() == 0) return;
  const bool ta = attrs.get_bool("transA", false), tb = attrs.get_bool("transB", false);
  const MatmulDims d = matmul_dims(a.shape(), b.shape(), ta, tb);
  const std::vector<int64_t> sa_all = batch_strides(a.shape(), d.batch);
  const std::vector<int64_t> sb_all = batch_strides(b.shape(), d.batch);

  // Batch dims of size > 1, each with the operands' strides. The longest
  // suffix along which each operand is either fully present or fully
  // broadcast is one strided GEMM batch; the dims before it are looped over.
  std::vector<int64_t> size, sa, sb;
  for (size_t i = 0; i < d.batch.size(); ++i) {
    if (d.batch[i] == 1) continue;
    size.push_back(d.batch[i]);
    sa.push_back(sa_all[i]);
    sb.push_back(sb_all[i]);
  }
  size_t split = size.size();
  int64_t inner = 1;
  while (split > 0 && (sa[split - 1] == 0) == (sa.back() == 0) && (sb[split - 1] == 0) == (sb.back() == 0)) {
    --split;
    inner *= size[split];
  }

  GemmArgs g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.m = d.m;
  g.n = d.n;
  g.k = d.k;
  g.lda = std::max<int64_t>(1, a.size(-1));
  g.ldb = std::max<int64_t>(1, b.size(-1));
  g.ldc = std::max<int64_t>(1, d.n);
  g.batch = inner;
  g.stride_a = size.empty() || sa.back() == 0 ? 0 : d.m * d.k;
  g.stride_b = size.empty() || sb.back() == 0 ? 0 : d.k * d.n;
  g.stride_c = d.m * d.n;
  int64_t outer = 1;
  for (size_t i = 0; i < split; ++i) outer *= size[i];
  std::vector<int64_t> idx(split, 0);
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off_a = 0, off_b = 0;
    for (size_t i = 0; i < split; ++i) {
      off_a += idx[i] * sa[i];
      off_b += idx[i] * sb[i];
    }
    g.a = a.data<float>() + off_a;
    g.b = b.data<float>() + off_b;
    g.c = c.data<float>() + o * inner * d.m * d.n;
    cpu_sgemm(g);
    for (size_t i = split; i-- > 0;) {
      if (++idx[i] < size[i]) break;
      idx[i] = 0;
    }
  }
}

ValueId matmul_node(GraphBuilder& g, ValueId a, ValueId b, bool ta, bool tb) {
  Attrs attrs;
  attrs.set("transA", ta);
  attrs.set("transB", tb);
  return g.add1("matmul", {a, b}, attrs);
}

ValueId reshape_node(GraphBuilder& g, ValueId x, const Shape& shape) {
  Attrs attrs;
  attrs.set("shape", std::vector<int64_t>(shape));
  return g.add1("reshape", {x}, attrs);
}

// The gradient of a broadcast operand: v summed down to the operand's shape.
ValueId sum_to_shape(GraphBuilder& g, ValueId v, const Shape& shape) {
  if (g.spec(v).shape == shape) return v;
  Attrs attrs;
  attrs.set("shape", std::vector<int64_t>(shape));
  return g.add1("sum_to", {v}, attrs);
}

// With Y = op(A) op(B): d op(A) = dY op(B)^T and d op(B) = op(A)^T dY, transposed
// back where the operand is stored transposed.
std::vector<ValueId> grad_matmul(GraphBuilder& g, const GradContext& c) {
  const bool ta = c.attrs.get_bool("transA", false), tb = c.attrs.get_bool("transB", false);
  const ValueId a = c.inputs[0], b = c.inputs[1], dy = c.grad_outputs[0];
  const Shape sa = g.spec(a).shape, sb = g.spec(b).shape;
  std::vector<ValueId> grads{kNoValue, kNoValue};
  if (c.needs_grad[0]) {
    const ValueId da = ta ? matmul_node(g, b, dy, tb, true) : matmul_node(g, dy, b, false, !tb);
    grads[0] = sum_to_shape(g, da, sa);
  }
  if (c.needs_grad[1]) {
    if (sb.size() == 2 && sa.size() > 2 && !ta) {
      // A shared matrix times a batch of row-stacked ones: flatten the batch
      // into the rows, so the sum over it happens inside one GEMM.
      const int64_t rows = shape_numel(Shape(sa.begin(), sa.end() - 1));
      const ValueId a2 = reshape_node(g, a, {rows, sa.back()});
      const ValueId dy2 = reshape_node(g, dy, {rows, g.spec(dy).shape.back()});
      grads[1] = tb ? matmul_node(g, dy2, a2, true, false) : matmul_node(g, a2, dy2, true, false);
    } else {
      const ValueId db = tb ? matmul_node(g, dy, a, true, ta) : matmul_node(g, a, dy, !ta, false);
      grads[1] = sum_to_shape(g, db, sb);
    }
  }
  return grads;
}

// ---- linear(x, weight, bias?): x (..., in), weight (out, in), bias (out,) -> (..., out) ----

std::vector<TensorSpec> infer_linear(const std::vector<TensorSpec>& in, const Attrs&) {
  require_float32(in[0], "x");
  require_float32(in[1], "weight");
  const Shape &x = in[0].shape, &w = in[1].shape;
  TG_CHECK(!x.empty(), "ERR_TG_SHAPE", "x must have at least 1 dim (..., in), got a scalar");
  TG_CHECK(w.size() == 2, "ERR_TG_SHAPE", "weight must have shape (out, in), got ", shape_str(w));
  TG_CHECK(x.back() == w[1], "ERR_TG_SHAPE", "x has ", x.back(), " features (last dim of ", shape_str(x),
           ") but weight ", shape_str(w), " expects ", w[1]);
  if (in.size() == 3) {
    require_float32(in[2], "bias");
    TG_CHECK(in[2].shape == Shape{w[0]}, "ERR_TG_SHAPE", "bias must have shape (", w[0], ",) for weight ",
             shape_str(w), ", got ", shape_str(in[2].shape));
  }
  Shape out = x;
  out.back() = w[0];
  return {TensorSpec{out, DType::f32}};
}

// x: (R, in) flattened; weight: (out, in); bias: (out,); y: (R, out)
void cpu_linear_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                        const RunContext&) {
  const Tensor &x = in[0], &w = in[1], &y = out[0];
  const int64_t features_out = w.size(0), features_in = w.size(1);
  const int64_t rows = y.numel() / std::max<int64_t>(1, features_out);
  if (y.numel() == 0) return;
  GemmArgs g;
  g.trans_b = true;
  g.m = rows;
  g.n = features_out;
  g.k = features_in;
  g.a = x.data<float>();
  g.lda = std::max<int64_t>(1, features_in);
  g.b = w.data<float>();
  g.ldb = std::max<int64_t>(1, features_in);
  g.c = y.data<float>();
  g.ldc = features_out;
  if (in.size() == 3) {
    // Start C at the bias and accumulate the product onto it (beta = 1).
    const float* bias = in[2].data<float>();
    float* py = y.data<float>();
    parallel_range(rows, std::max<int64_t>(1, (1 << 14) / features_out), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) std::memcpy(py + r * features_out, bias, sizeof(float) * features_out);
    });
    g.beta = 1.0f;
  }
  cpu_sgemm(g);
}

// ---- linear_backward_weight(dy, x): dW = sum over leading dims of dy^T x ----

std::vector<TensorSpec> infer_linear_backward_weight(const std::vector<TensorSpec>& in, const Attrs&) {
  require_float32(in[0], "dy");
  require_float32(in[1], "x");
  const Shape &dy = in[0].shape, &x = in[1].shape;
  TG_CHECK(!dy.empty() && dy.size() == x.size() && std::equal(dy.begin(), dy.end() - 1, x.begin()), "ERR_TG_SHAPE",
           "dy ", shape_str(dy), " and x ", shape_str(x), " must have the same leading dims (..., out) and (..., in)");
  return {TensorSpec{Shape{dy.back(), x.back()}, DType::f32}};
}

// dy: (R, out) flattened; x: (R, in); dw: (out, in)
void cpu_linear_backward_weight(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                                const RunContext&) {
  const Tensor &dy = in[0], &x = in[1], &dw = out[0];
  const int64_t features_out = dw.size(0), features_in = dw.size(1);
  if (dw.numel() == 0) return;
  GemmArgs g;
  g.trans_a = true;
  g.m = features_out;
  g.n = features_in;
  g.k = dy.numel() / features_out;
  g.a = dy.data<float>();
  g.lda = features_out;
  g.b = x.data<float>();
  g.ldb = features_in;
  g.c = dw.data<float>();
  g.ldc = features_in;
  cpu_sgemm(g);
}

// dx = dy W, dW = dy^T x, db = dy summed over the leading dims; only for the
// inputs that need it, so a frozen layer costs nothing but its dx.
std::vector<ValueId> grad_linear(GraphBuilder& g, const GradContext& c) {
  const ValueId x = c.inputs[0], w = c.inputs[1], dy = c.grad_outputs[0];
  const Shape sx = g.spec(x).shape;
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);
  if (c.needs_grad[0]) {
    if (sx.size() == 1) {
      // matmul needs a matrix: treat the single row as (1, out).
      const ValueId row = matmul_node(g, reshape_node(g, dy, {1, g.spec(w).shape[0]}), w, false, false);
      grads[0] = reshape_node(g, row, sx);
    } else {
      grads[0] = matmul_node(g, dy, w, false, false);
    }
  }
  if (c.needs_grad[1]) grads[1] = g.add1("linear_backward_weight", {dy, x});
  if (c.inputs.size() == 3 && c.needs_grad[2]) {
    // For a single row (rank-1 x) the axis list is empty and sum copies dy.
    std::vector<int64_t> leading(sx.size() - 1);
    for (size_t i = 0; i < leading.size(); ++i) leading[i] = static_cast<int64_t>(i);
    Attrs attrs;
    attrs.set("axes", leading);
    grads[2] = g.add1("sum", {dy}, attrs);
  }
  return grads;
}

}  // namespace

TG_REGISTER_OP({"matmul", {"a", "b"}, 1, infer_matmul, cpu_matmul_forward, grad_matmul,
                "op(a) @ op(b), a (..., M, K), b (..., K, N), batch dims broadcast; transA / transB swap the last "
                "two dims of an operand"});
TG_REGISTER_OP({"linear", {"x", "weight", "bias?"}, 1, infer_linear, cpu_linear_forward, grad_linear,
                "x @ weight^T + bias: x (..., in), weight (out, in), bias (out,) -> (..., out)"});
TG_REGISTER_OP({"linear_backward_weight", {"dy", "x"}, 1, infer_linear_backward_weight, cpu_linear_backward_weight,
                nullptr, "dy^T x summed over the leading dims: dy (..., out), x (..., in) -> (out, in)"});

}  // namespace tg
