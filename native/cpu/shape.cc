// Layout ops: reshape, transpose and permute. Tensors are always contiguous,
// so reshape is a copy and transpose / permute gather into a fresh contiguous
// tensor. None of them looks at the values, so they take any dtype.
#include <cstring>

#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;

Attrs shape_attr(const Shape& shape) {
  Attrs a;
  a.set("shape", std::vector<int64_t>(shape));
  return a;
}

// ---- reshape{shape}: same elements, new shape; one dimension may be -1 ----

Shape reshape_target(const Shape& in, const std::vector<int64_t>& spec) {
  Shape out = spec;
  int64_t infer_at = -1;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == -1) {
      TG_CHECK(infer_at < 0, "ERR_TG_ARG", "attribute 'shape' ", shape_str(spec), " has more than one -1");
      infer_at = static_cast<int64_t>(i);
      out[i] = 1;
    } else {
      TG_CHECK(spec[i] >= 0, "ERR_TG_ARG", "attribute 'shape' ", shape_str(spec), " has a negative dimension ",
               spec[i]);
    }
  }
  const int64_t numel = shape_numel(in);
  const int64_t known = shape_numel(out);
  if (infer_at >= 0) {
    // A zero elsewhere leaves the -1 undetermined, as in torch.
    TG_CHECK(known != 0 && numel % known == 0, "ERR_TG_SHAPE", "cannot reshape x of shape ", shape_str(in), " (",
             numel, " elements) to ", shape_str(spec));
    out[static_cast<size_t>(infer_at)] = numel / known;
  } else {
    TG_CHECK(known == numel, "ERR_TG_SHAPE", "cannot reshape x of shape ", shape_str(in), " (", numel,
             " elements) to ", shape_str(spec), " (", known, " elements)");
  }
  return out;
}

std::vector<TensorSpec> infer_reshape(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  return {TensorSpec{reshape_target(in[0].shape, attrs.require_ints("shape")), in[0].dtype}};
}

void cpu_reshape_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                         const RunContext&) {
  if (in[0].nbytes() > 0) std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
}

std::vector<ValueId> grad_reshape(GraphBuilder& g, const GradContext& c) {
  return {g.add1("reshape", {c.grad_outputs[0]}, shape_attr(g.spec(c.inputs[0]).shape))};
}

// ---- permute{dims} / transpose{dim0, dim1}: out dim d is input dim perm[d] ----

std::vector<int64_t> permutation_from(const Attrs& attrs, int64_t rank) {
  const std::vector<int64_t> dims = attrs.require_ints("dims");
  TG_CHECK(static_cast<int64_t>(dims.size()) == rank, "ERR_TG_ARG", "attribute 'dims' ", shape_str(dims), " has ",
           dims.size(), " entries for x with ", rank, " dims");
  std::vector<int64_t> perm(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    perm[i] = normalize_axis(dims[i], rank, "attribute 'dims': dim");
    TG_CHECK(!seen[static_cast<size_t>(perm[i])], "ERR_TG_ARG", "attribute 'dims' ", shape_str(dims),
             " is not a permutation: dim ", perm[i], " appears twice");
    seen[static_cast<size_t>(perm[i])] = true;
  }
  return perm;
}

std::vector<int64_t> transposition_from(const Attrs& attrs, int64_t rank) {
  const int64_t d0 = normalize_axis(attrs.require_int("dim0"), rank, "attribute 'dim0'");
  const int64_t d1 = normalize_axis(attrs.require_int("dim1"), rank, "attribute 'dim1'");
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) perm[static_cast<size_t>(i)] = i;
  std::swap(perm[static_cast<size_t>(d0)], perm[static_cast<size_t>(d1)]);
  return perm;
}

Shape permuted(const Shape& shape, const std::vector<int64_t>& perm) {
  Shape out(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) out[d] = shape[static_cast<size_t>(perm[d])];
  return out;
}

std::vector<TensorSpec> infer_permute(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  return {TensorSpec{permuted(in[0].shape, permutation_from(attrs, rank)), in[0].dtype}};
}

std::vector<TensorSpec> infer_transpose(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  return {TensorSpec{permuted(in[0].shape, transposition_from(attrs, rank)), in[0].dtype}};
}

// dst (out_shape) gathers src: element idx of dst is src[sum idx[d] * stride[d]],
// stride[d] being the source stride of output dim d.
template <typename T>
void gather_strided(const T* src, T* dst, const Shape& out_shape, const std::vector<int64_t>& stride) {
  // Drop size-1 dims and merge neighbours that are contiguous in the source,
  // so a transpose of (B, M, N) to (B, N, M) becomes a plain 3-d loop and a
  // no-op permutation a single copy loop.
  std::vector<int64_t> size, st;
  for (size_t d = 0; d < out_shape.size(); ++d) {
    if (out_shape[d] == 1) continue;
    if (!size.empty() && st.back() == stride[d] * out_shape[d]) {
      size.back() *= out_shape[d];
      st.back() = stride[d];
    } else {
      size.push_back(out_shape[d]);
      st.push_back(stride[d]);
    }
  }
  if (size.empty()) {
    size.push_back(1);
    st.push_back(1);
  }
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < size.size(); ++d) rows *= size[d];
  const int64_t inner = size.back(), inner_stride = st.back();
  const size_t outer_dims = size.size() - 1;
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(outer_dims);
    int64_t offset = 0;
    for (size_t d = outer_dims, r = static_cast<size_t>(b); d-- > 0;) {
      idx[d] = static_cast<int64_t>(r % static_cast<size_t>(size[d]));
      r /= static_cast<size_t>(size[d]);
      offset += idx[d] * st[d];
    }
    for (int64_t row = b; row < e; ++row) {
      const T* s = src + offset;
      T* o = dst + row * inner;
      for (int64_t j = 0; j < inner; ++j) o[j] = s[j * inner_stride];
      for (size_t d = outer_dims; d-- > 0;) {
        offset += st[d];
        if (++idx[d] < size[d]) break;
        offset -= idx[d] * st[d];
        idx[d] = 0;
      }
    }
  });
}

void permute_copy(const Tensor& x, const Tensor& y, const std::vector<int64_t>& perm) {
  if (x.numel() == 0) return;
  const Shape& in = x.shape();
  std::vector<int64_t> in_stride(in.size());
  int64_t s = 1;
  for (size_t d = in.size(); d-- > 0;) {
    in_stride[d] = s;
    s *= in[d];
  }
  std::vector<int64_t> stride(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) stride[d] = in_stride[static_cast<size_t>(perm[d])];
  switch (dtype_size(x.dtype())) {
    case 1: return gather_strided(x.data<uint8_t>(), y.data<uint8_t>(), y.shape(), stride);
    case 2: return gather_strided(x.data<uint16_t>(), y.data<uint16_t>(), y.shape(), stride);
    case 4: return gather_strided(x.data<uint32_t>(), y.data<uint32_t>(), y.shape(), stride);
    case 8: return gather_strided(x.data<uint64_t>(), y.data<uint64_t>(), y.shape(), stride);
    default: fail("ERR_TG_DTYPE", "permute: unsupported element size for ", dtype_name(x.dtype()));
  }
}

void cpu_permute_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                         const RunContext&) {
  permute_copy(in[0], out[0], permutation_from(attrs, in[0].dim()));
}

void cpu_transpose_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                           const RunContext&) {
  permute_copy(in[0], out[0], transposition_from(attrs, in[0].dim()));
}

std::vector<ValueId> grad_permute(GraphBuilder& g, const GradContext& c) {
  const std::vector<int64_t> perm = permutation_from(c.attrs, static_cast<int64_t>(g.spec(c.inputs[0]).shape.size()));
  std::vector<int64_t> inverse(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) inverse[static_cast<size_t>(perm[d])] = static_cast<int64_t>(d);
  Attrs a;
  a.set("dims", inverse);
  return {g.add1("permute", {c.grad_outputs[0]}, a)};
}

// A transposition is its own inverse.
std::vector<ValueId> grad_transpose(GraphBuilder& g, const GradContext& c) {
  return {g.add1("transpose", {c.grad_outputs[0]}, c.attrs)};
}

}  // namespace

TG_REGISTER_OP({"reshape", {"x"}, 1, infer_reshape, cpu_reshape_forward, grad_reshape,
                "x with a new shape of the same numel; one dimension of `shape` may be -1"});
TG_REGISTER_OP({"transpose", {"x"}, 1, infer_transpose, cpu_transpose_forward, grad_transpose,
                "x with dims dim0 and dim1 swapped (contiguous copy)"});
TG_REGISTER_OP({"permute", {"x"}, 1, infer_permute, cpu_permute_forward, grad_permute,
                "x with its dims reordered: output dim d is input dim dims[d] (contiguous copy)"});

}  // namespace tg
