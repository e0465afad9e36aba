#include "eager.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "../cpu/cast.h"
#include "../cpu/gemm.h"
#include "autodiff.h"
#include "error.h"
#include "graph.h"
#include "interpreter.h"
#ifdef TG_WITH_CUDA
#include "../cuda/cuda_backend.h"
#endif

namespace tg {

Tensor to_device(const Tensor& x, const Device& device) {
  TG_CHECK(x.device().type == DeviceType::cpu, "ERR_TG_DEVICE", "to_device: source must be a host tensor, got ",
           x.device().str());
  if (device.type == DeviceType::cpu) return x;
#ifdef TG_WITH_CUDA
  Tensor out = Tensor::empty(x.shape(), x.dtype(), device);
  cuda_copy_to_device(device.index, out.raw(), x.raw(), x.nbytes());
  return out;
#else
  fail("ERR_TG_DEVICE", "to_device: ", device.str(), " is not available in a build without CUDA");
#endif
}

Tensor to_host(const Tensor& x) {
  if (x.device().type == DeviceType::cpu) return x;
#ifdef TG_WITH_CUDA
  Tensor out = Tensor::empty(x.shape(), x.dtype(), Device{});
  cuda_copy_to_host(x.device().index, out.raw(), x.raw(), x.nbytes());
  return out;
#else
  fail("ERR_TG_DEVICE", "to_host: ", x.device().str(), " is not available in a build without CUDA");
#endif
}

namespace {

struct MatrixShape {
  int64_t batch;  // 0 when the operand is a single (rank-2) matrix
  int64_t rows, cols;
};

MatrixShape matrix_shape(const Tensor& t, const char* name) {
  TG_CHECK(t.dtype() == DType::f32, "ERR_TG_DTYPE", "gemm: ", name, " must be f32, got ", dtype_name(t.dtype()));
  TG_CHECK(t.dim() == 2 || t.dim() == 3, "ERR_TG_SHAPE", "gemm: ", name,
           " must have shape (rows, cols) or (batch, rows, cols), got ", shape_str(t.shape()));
  if (t.dim() == 2) return {0, t.size(0), t.size(1)};
  return {t.size(0), t.size(1), t.size(2)};
}

}  // namespace

Tensor eager_gemm(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& attrs, const Device& device) {
  const MatrixShape sa = matrix_shape(a, "a"), sb = matrix_shape(b, "b");
  const int64_t m = attrs.trans_a ? sa.cols : sa.rows;
  const int64_t ka = attrs.trans_a ? sa.rows : sa.cols;
  const int64_t kb = attrs.trans_b ? sb.cols : sb.rows;
  const int64_t n = attrs.trans_b ? sb.rows : sb.cols;
  TG_CHECK(ka == kb, "ERR_TG_SHAPE", "gemm: inner dimensions differ: op(a) is (", m, ", ", ka, ") from a of shape ",
           shape_str(a.shape()), attrs.trans_a ? " (transA)" : "", ", op(b) is (", kb, ", ", n, ") from b of shape ",
           shape_str(b.shape()), attrs.trans_b ? " (transB)" : "");
  TG_CHECK(sa.batch == 0 || sb.batch == 0 || sa.batch == sb.batch, "ERR_TG_SHAPE",
           "gemm: batch sizes differ: a has shape ", shape_str(a.shape()), ", b has shape ", shape_str(b.shape()));
  const int64_t batch = sa.batch > 0 ? sa.batch : sb.batch;
  Shape out_shape = batch > 0 ? Shape{batch, m, n} : Shape{m, n};

  const bool use_c = c.defined() && attrs.beta != 0.0f;
  TG_CHECK(c.defined() || attrs.beta == 0.0f, "ERR_TG_ARG", "gemm: beta=", attrs.beta, " needs an input c");
  if (c.defined()) {
    TG_CHECK(c.dtype() == DType::f32, "ERR_TG_DTYPE", "gemm: c must be f32, got ", dtype_name(c.dtype()));
    TG_CHECK(c.shape() == out_shape, "ERR_TG_SHAPE", "gemm: c must have the output shape ", shape_str(out_shape),
             ", got ", shape_str(c.shape()));
  }

  GemmArgs g;
  g.trans_a = attrs.trans_a;
  g.trans_b = attrs.trans_b;
  g.m = m;
  g.n = n;
  g.k = ka;
  g.alpha = attrs.alpha;
  g.beta = use_c ? attrs.beta : 0.0f;
  // Leading dimensions of empty matrices are still at least 1, as in BLAS.
  g.lda = std::max<int64_t>(1, sa.cols);
  g.ldb = std::max<int64_t>(1, sb.cols);
  g.ldc = std::max<int64_t>(1, n);
  g.batch = batch > 0 ? batch : 1;
  g.stride_a = sa.batch > 0 ? sa.rows * sa.cols : 0;
  g.stride_b = sb.batch > 0 ? sb.rows * sb.cols : 0;
  g.stride_c = m * n;

  if (device.type == DeviceType::cpu) {
    Tensor out = Tensor::empty(out_shape, DType::f32, device);
    if (use_c) std::memcpy(out.raw(), c.raw(), c.nbytes());
    g.a = a.data<float>();
    g.b = b.data<float>();
    g.c = out.data<float>();
    cpu_sgemm(g);
    return out;
  }
#ifdef TG_WITH_CUDA
  const Tensor da = to_device(a, device), db = to_device(b, device);
  Tensor dc = use_c ? to_device(c, device) : Tensor::empty(out_shape, DType::f32, device);
  g.a = da.data<float>();
  g.b = db.data<float>();
  g.c = dc.data<float>();
  cuda_sgemm(device.index, g);
  return to_host(dc);
#else
  fail("ERR_TG_DEVICE", "gemm: ", device.str(), " is not available in a build without CUDA");
#endif
}

Tensor eager_cast(const Tensor& x, DType dtype, const Device& device) {
  if (device.type == DeviceType::cpu) {
    Tensor out = Tensor::empty(x.shape(), dtype, device);
    cpu_cast(x.raw(), x.dtype(), out.raw(), dtype, x.numel());
    return out;
  }
#ifdef TG_WITH_CUDA
  const Tensor dx = to_device(x, device);
  Tensor out = Tensor::empty(x.shape(), dtype, device);
  cuda_cast(device.index, dx.raw(), x.dtype(), out.raw(), dtype, x.numel());
  return to_host(out);
#else
  fail("ERR_TG_DEVICE", "cast: ", device.str(), " is not available in a build without CUDA");
#endif
}

namespace {

// Results handed to JS must own their memory; a gradient can be a fed tensor
// itself (the rule of add passes the incoming gradient through).
std::vector<Tensor> owned(std::vector<Tensor> ts) {
  for (Tensor& t : ts) {
    if (!t.defined() || t.buffer()->owned()) continue;
    Tensor copy = Tensor::empty(t.shape(), t.dtype(), Device{});
    if (t.nbytes()) std::memcpy(copy.raw(), t.raw(), t.nbytes());
    t = copy;
  }
  return ts;
}

// The graph's fed tensors in `device` memory (host tensors are copied there).
std::map<ValueId, Tensor> on_device(const std::map<ValueId, Tensor>& bound, const Device& device) {
  std::map<ValueId, Tensor> moved;
  for (const auto& kv : bound) moved[kv.first] = to_device(kv.second, device);
  return moved;
}

// Runs the graph once with the fed host tensors, returning host results.
std::vector<Tensor> run_on(const Graph& g, const std::map<ValueId, Tensor>& bound, const std::vector<ValueId>& fetch,
                           const RunContext& ctx, const Device& device) {
  require_kernels(g, device);  // before any copy to the device
  if (device.type == DeviceType::cpu) return owned(interpret(g, bound, fetch, ctx));
  std::vector<Tensor> values = interpret(g, on_device(bound, device), fetch, ctx, InterpretOptions{device});
  for (Tensor& t : values) t = to_host(t);
  return values;
}

// Milliseconds of one run of the graph on `device`, the mean of `repeat` runs
// on inputs already there. Called after run_on, whose run has warmed the
// caching allocator and reported any fault with the name of its node.
double time_runs(const Graph& g, const std::map<ValueId, Tensor>& bound, const std::vector<ValueId>& fetch,
                 const RunContext& ctx, const Device& device, int repeat) {
  const std::map<ValueId, Tensor> here = device.type == DeviceType::cpu ? bound : on_device(bound, device);
  if (device.type == DeviceType::cpu) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeat; ++i) interpret(g, here, fetch, ctx);
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    return elapsed.count() / repeat;
  }
#ifdef TG_WITH_CUDA
  return cuda_time_ms(device.index, repeat,
                      [&] { interpret(g, here, fetch, ctx, InterpretOptions{device, /*wait_each_node=*/false}); });
#else
  fail("ERR_TG_DEVICE", "timing: ", device.str(), " is not available in a build without CUDA");
#endif
}

// A graph holding one node of `op`, fed by inputs named after the op's inputs.
struct OneNodeGraph {
  Graph graph;
  GraphBuilder builder{graph};
  std::map<ValueId, Tensor> bound;  // graph inputs -> the tensors fed
  std::vector<ValueId> inputs, outputs;

  OneNodeGraph(const OpDef& def, const std::vector<Tensor>& tensors, const Attrs& attrs) {
    for (size_t i = 0; i < tensors.size(); ++i) {
      std::string name = i < def.inputs.size() ? def.inputs[i] : "input" + std::to_string(i);
      if (!name.empty() && name.back() == '?') name.pop_back();
      ValueId v = builder.input(name, TensorSpec{tensors[i].shape(), tensors[i].dtype()});
      bound[v] = tensors[i];
      inputs.push_back(v);
    }
    outputs = builder.add(def.name, inputs, attrs, def.name);
  }
};

}  // namespace

std::vector<Tensor> eager_op(const std::string& op, const std::vector<Tensor>& inputs, const Attrs& attrs,
                             const Device& device, const RunContext& ctx) {
  OneNodeGraph one(find_op(op), inputs, attrs);
  return run_on(one.graph, one.bound, one.outputs, ctx, device);
}

VjpResult eager_vjp(const std::string& op, const std::vector<Tensor>& inputs, const Attrs& attrs,
                    const std::vector<Tensor>& grad_outputs, const Device& device, const RunContext& ctx,
                    int repeat) {
  const OpDef& def = find_op(op);
  TG_CHECK(def.grad != nullptr, "ERR_TG_ARG", "op '", op, "' is not differentiable");
  OneNodeGraph one(def, inputs, attrs);
  Graph& g = one.graph;
  GraphBuilder& b = one.builder;
  std::map<ValueId, Tensor>& bound = one.bound;
  const std::vector<ValueId>& ids = one.inputs;
  const std::vector<ValueId>& outs = one.outputs;
  TG_CHECK(grad_outputs.size() == outs.size(), "ERR_TG_ARG", "vjp of '", op, "': ", outs.size(),
           " output gradient(s) expected, got ", grad_outputs.size());
  std::vector<ValueId> seeded, seeds;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!grad_outputs[i].defined()) continue;
    const TensorSpec& s = g.values[static_cast<size_t>(outs[i])].spec;
    ValueId seed = b.input("grad_output" + std::to_string(i), s);
    check_binding(g, seed, grad_outputs[i]);
    bound[seed] = grad_outputs[i];
    seeded.push_back(outs[i]);
    seeds.push_back(seed);
  }
  const size_t first_backward = g.nodes.size();
  std::vector<ValueId> wrt;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (is_floating(inputs[i].dtype())) wrt.push_back(ids[i]);
  }
  std::vector<ValueId> grads = build_backward(b, seeded, seeds, wrt);

  std::vector<ValueId> fetch = outs;
  for (ValueId gv : grads) {
    if (gv != kNoValue) fetch.push_back(gv);
  }
  std::vector<Tensor> values = run_on(g, bound, fetch, ctx, device);

  VjpResult r;
  if (repeat > 0) r.ms = time_runs(g, bound, fetch, ctx, device, repeat);
  r.outputs.assign(values.begin(), values.begin() + static_cast<long>(outs.size()));
  size_t next = outs.size(), w = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!is_floating(inputs[i].dtype())) {
      r.input_grads.emplace_back();
      continue;
    }
    r.input_grads.push_back(grads[w++] != kNoValue ? values[next++] : Tensor());
  }
  for (size_t i = first_backward; i < g.nodes.size(); ++i) r.ops_used.push_back(g.nodes[i].op->name);
  return r;
}

}  // namespace tg
