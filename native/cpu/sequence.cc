// Token-sequence bookkeeping for transformer encoders and decoders: the
// position of every token (BERT's and GPT-2's arange, RoBERTa's count of
// non-padding tokens) and the key-padding mask the attention op reads, both
// computed from the batch's own tensors so that a graph compiled once serves
// every sequence length. Neither output is differentiable (integers, bools).
#include <cstring>

#include "../core/graph.h"
#include "cast.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 12;

// ---- position_ids(ids){offset=0, padding_idx=-1}: ids (..., T) -> (..., T), ids' dtype ----
// padding_idx -1: positions offset, offset + 1, ... along the last axis, as
// transformers' arange(past_length, past_length + T) for BERT and GPT-2.
// padding_idx >= 0: RoBERTa's create_position_ids_from_input_ids: a padding
// token gets padding_idx, any other padding_idx + offset + (the number of
// non-padding tokens up to and including it).

std::vector<TensorSpec> infer_position_ids(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  TG_CHECK(in[0].dtype == DType::i32 || in[0].dtype == DType::i64, "ERR_TG_DTYPE", "ids must be i32 or i64, got ",
           dtype_name(in[0].dtype));
  TG_CHECK(!in[0].shape.empty(), "ERR_TG_SHAPE", "ids must have at least 1 dim (..., T), got a scalar");
  TG_CHECK(attrs.get_int("offset", 0) >= 0, "ERR_TG_ARG", "attribute 'offset' must be >= 0, got ",
           attrs.get_int("offset", 0));
  TG_CHECK(attrs.get_int("padding_idx", -1) >= -1, "ERR_TG_ARG",
           "attribute 'padding_idx' must be -1 (none) or a token id >= 0, got ", attrs.get_int("padding_idx", -1));
  return {in[0]};
}

// ids, out: (rows, T), one row per task.
template <typename I>
void fill_positions(const I* ids, I* out, int64_t rows, int64_t t, int64_t offset, int64_t pad) {
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(t, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const I* row = ids + r * t;
      I* dst = out + r * t;
      if (pad < 0) {
        for (int64_t j = 0; j < t; ++j) dst[j] = static_cast<I>(offset + j);
        continue;
      }
      int64_t seen = 0;
      for (int64_t j = 0; j < t; ++j) {
        if (static_cast<int64_t>(row[j]) == pad) {
          dst[j] = static_cast<I>(pad);
        } else {
          ++seen;
          dst[j] = static_cast<I>(pad + offset + seen);
        }
      }
    }
  });
}

void cpu_position_ids_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                              const RunContext&) {
  const int64_t t = in[0].size(-1);
  const int64_t rows = t == 0 ? 0 : in[0].numel() / t;
  const int64_t offset = attrs.get_int("offset", 0);
  const int64_t pad = attrs.get_int("padding_idx", -1);
  if (in[0].dtype() == DType::i32) {
    fill_positions(in[0].data<int32_t>(), out[0].data<int32_t>(), rows, t, offset, pad);
  } else {
    fill_positions(in[0].data<int64_t>(), out[0].data<int64_t>(), rows, t, offset, pad);
  }
}

// ---- padding_mask(attention_mask): (N, T) -> bool (N, 1, 1, T) ----
// transformers' attention_mask (1: a token, 0: padding, any dtype) as the
// attention op's boolean mask over keys, broadcast over heads and queries.

std::vector<TensorSpec> infer_padding_mask(const std::vector<TensorSpec>& in, const Attrs&) {
  const Shape& s = in[0].shape;
  TG_CHECK(s.size() == 2, "ERR_TG_SHAPE", "attention_mask must have shape (N, T), got ", shape_str(s));
  return {TensorSpec{{s[0], 1, 1, s[1]}, DType::boolean}};
}

void cpu_padding_mask_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                              const RunContext&) {
  // Nonzero keeps the key, for every input dtype alike.
  cpu_cast(in[0].raw(), in[0].dtype(), out[0].raw(), DType::boolean, in[0].numel());
}

}  // namespace

TG_REGISTER_OP({"position_ids", {"ids"}, 1, infer_position_ids, cpu_position_ids_forward, nullptr,
                "positions along the last axis of ids (i32/i64, (..., T)) -> ids' shape and dtype: offset + "
                "0..T-1, or with padding_idx >= 0 RoBERTa's count of non-padding tokens (padding keeps padding_idx)"});
TG_REGISTER_OP({"padding_mask", {"attention_mask"}, 1, infer_padding_mask, cpu_padding_mask_forward, nullptr,
                "attention_mask (N, T), any dtype, nonzero = a token -> bool (N, 1, 1, T), the attention op's "
                "key mask"});

}  // namespace tg
