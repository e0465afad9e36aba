// flatten: merges dims start_dim..end_dim into one, like torch.flatten. A pure
// reshape of contiguous data, so the kernel is a copy; its gradient is a
// reshape back to the input shape.
#include <cstring>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

std::vector<TensorSpec> infer_flatten(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Shape& s = in[0].shape;
  const int64_t rank = static_cast<int64_t>(s.size());
  if (rank == 0) return {TensorSpec{{1}, in[0].dtype}};
  const int64_t start = normalize_axis(attrs.get_int("start_dim", 1), rank, "start_dim");
  const int64_t end = normalize_axis(attrs.get_int("end_dim", -1), rank, "end_dim");
  TG_CHECK(start <= end, "ERR_TG_ARG", "start_dim (", start, ") must not come after end_dim (", end, ")");
  Shape out(s.begin(), s.begin() + start);
  int64_t merged = 1;
  for (int64_t d = start; d <= end; ++d) merged *= s[static_cast<size_t>(d)];
  out.push_back(merged);
  out.insert(out.end(), s.begin() + end + 1, s.end());
  return {TensorSpec{out, in[0].dtype}};
}

void cpu_flatten_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                         const RunContext&) {
  if (in[0].nbytes()) std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
}

std::vector<ValueId> grad_flatten(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("shape", g.spec(c.inputs[0]).shape);
  return {g.add1("reshape", {c.grad_outputs[0]}, a)};
}

}  // namespace

TG_REGISTER_OP({"flatten", {"x"}, 1, infer_flatten, cpu_flatten_forward, grad_flatten,
                "x (d0, ..., dn) -> dims start_dim..end_dim (default 1..-1) merged into one"});

}  // namespace tg
