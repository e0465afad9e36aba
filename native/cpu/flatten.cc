// flatten and unflatten, like torch.flatten / torch.unflatten: pure reshapes
// of contiguous data whose sizes follow from the input's own shape (so layers
// can use them without knowing the batch size). The kernels copy; the
// gradients reshape back to the input shape.
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

// Splits dim `axis` into `sizes` (one of which may be -1).
std::vector<TensorSpec> infer_unflatten(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Shape& s = in[0].shape;
  const int64_t rank = static_cast<int64_t>(s.size());
  const int64_t axis = normalize_axis(attrs.require_int("axis"), rank, "axis");
  std::vector<int64_t> sizes = attrs.require_ints("sizes");
  TG_CHECK(!sizes.empty(), "ERR_TG_ARG", "sizes must not be empty");
  const int64_t dim = s[static_cast<size_t>(axis)];
  int64_t known = 1, unknown = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      TG_CHECK(unknown < 0, "ERR_TG_ARG", "sizes ", shape_str(sizes), " has more than one -1");
      unknown = static_cast<int64_t>(i);
    } else {
      TG_CHECK(sizes[i] >= 0, "ERR_TG_ARG", "sizes ", shape_str(sizes), " has a negative size");
      known *= sizes[i];
    }
  }
  if (unknown >= 0) {
    TG_CHECK(known > 0 && dim % known == 0, "ERR_TG_SHAPE", "cannot split dim ", axis, " of size ", dim, " into ",
             shape_str(sizes));
    sizes[static_cast<size_t>(unknown)] = dim / known;
  } else {
    TG_CHECK(known == dim, "ERR_TG_SHAPE", "sizes ", shape_str(sizes), " multiply to ", known, ", not dim ", axis,
             " of size ", dim);
  }
  Shape out(s.begin(), s.begin() + axis);
  out.insert(out.end(), sizes.begin(), sizes.end());
  out.insert(out.end(), s.begin() + axis + 1, s.end());
  return {TensorSpec{out, in[0].dtype}};
}

std::vector<ValueId> grad_flatten(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("shape", g.spec(c.inputs[0]).shape);
  return {g.add1("reshape", {c.grad_outputs[0]}, a)};
}

}  // namespace

TG_REGISTER_OP({"flatten", {"x"}, 1, infer_flatten, cpu_flatten_forward, grad_flatten,
                "x (d0, ..., dn) -> dims start_dim..end_dim (default 1..-1) merged into one"});
TG_REGISTER_OP({"unflatten", {"x"}, 1, infer_unflatten, cpu_flatten_forward, grad_flatten,
                "x (..., d, ...) -> dim `axis` split into `sizes` (one may be -1)"});

}  // namespace tg
