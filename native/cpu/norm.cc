// Normalisation with torch.nn.functional semantics: batch_norm (F.batch_norm:
// batch statistics and PyTorch's running-average rule, with the unbiased
// variance, in training; the running statistics in eval mode or when frozen),
// layer_norm (F.layer_norm, outputs as aten::native_layer_norm) and group_norm
// (F.group_norm, outputs as aten::native_group_norm), each with a
// "<op>_backward" op. The statistics these ops output depend on x too, so two
// more ops carry the gradient that reaches x through them: PyTorch never needs
// that, but it makes every rule the exact vector-Jacobian product of its op.
// Statistics are one-pass sums around a shift (an element of the data), so the
// variance does not cancel when |mean| >> std; a few terms at a time are added
// in float vectors, the rest in double. Every reduction runs over pieces fixed
// by the shape, added in a fixed order, so no result depends on the thread
// count (or on the SIMD level).
#include <array>
#include <cmath>
#include <cstring>

#include "../core/cpu_features.h"
#include "../core/graph.h"
#include "kernel_util.h"

namespace tg {

namespace {

constexpr int64_t kGrain = 1 << 14;
// Most parts a batch (batch_norm) or a set of rows (layer_norm's dweight) is
// cut into; each part's sums are kept apart and the parts added in order.
constexpr int64_t kMaxParts = 32;
// group_norm rows longer than this are summed in segments, in parallel.
constexpr int64_t kSegment = 1 << 14;

// ---- row kernels -----------------------------------------------------------
// The loops the ops spend their time in, compiled for the baseline ISA and, on
// x86-64, again for AVX2, picked at run time by simd_level(). They use no FMA
// and the vector extensions fix the lanes, so both builds compute the same
// operations in the same order: results do not depend on the SIMD level.

typedef float f32x8 __attribute__((vector_size(32)));
typedef double f64x8 __attribute__((vector_size(64)));

#define TG_NORM_INLINE inline __attribute__((always_inline))

TG_NORM_INLINE void load8(f32x8& v, const float* p) { std::memcpy(&v, p, sizeof v); }

struct Sums {
  double a, b;
};

constexpr int64_t kBlock = 128;  // elements per float block of sums_impl

// Over i in [0, n): a = sum of u_i and b = sum of u_i (q_i - qc), where
// u_i = (p_i - pc) w_i (w_i = 1 without W). Each block of 128 is summed in 32
// float lanes, 4 terms per lane, and added into 8 double lanes: the inner loop
// runs on float vectors, yet rounding does not grow with n. The order depends
// on n alone.
template <bool W>
TG_NORM_INLINE Sums sums_impl(const float* p, const float* w, const float* q, int64_t n, float pc, float qc) {
  f64x8 a = {}, b = {};
  int64_t i = 0;
  auto term = [&](int64_t o, f32x8& u, f32x8& uq) {
    f32x8 pv, qv;
    load8(pv, p + o);
    load8(qv, q + o);
    u = pv - pc;
    if (W) {
      f32x8 wv;
      load8(wv, w + o);
      u *= wv;
    }
    uq = u * (qv - qc);
  };
  for (; i + kBlock <= n; i += kBlock) {
    // Named accumulators: GCC keeps an array of vectors in memory.
    f32x8 a0 = {}, a1 = {}, a2 = {}, a3 = {}, b0 = {}, b1 = {}, b2 = {}, b3 = {}, u, uq;
    for (int64_t k = i; k < i + kBlock; k += 32) {
      term(k, u, uq);
      a0 += u;
      b0 += uq;
      term(k + 8, u, uq);
      a1 += u;
      b1 += uq;
      term(k + 16, u, uq);
      a2 += u;
      b2 += uq;
      term(k + 24, u, uq);
      a3 += u;
      b3 += uq;
    }
    a += __builtin_convertvector((a0 + a1) + (a2 + a3), f64x8);
    b += __builtin_convertvector((b0 + b1) + (b2 + b3), f64x8);
  }
  for (; i + 8 <= n; i += 8) {
    f32x8 u, uq;
    term(i, u, uq);
    a += __builtin_convertvector(u, f64x8);
    b += __builtin_convertvector(uq, f64x8);
  }
  Sums s{0.0, 0.0};
  for (int j = 0; j < 8; ++j) {
    s.a += a[j];
    s.b += b[j];
  }
  for (; i < n; ++i) {
    const double u = (static_cast<double>(p[i]) - pc) * (W ? static_cast<double>(w[i]) : 1.0);
    s.a += u;
    s.b += u * (static_cast<double>(q[i]) - qc);
  }
  return s;
}

// y = (x - m) k + c
TG_NORM_INLINE void affine_impl(const float* x, int64_t n, float m, float k, float c, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * k + c;
}

// y = p k1 + ((x - m) k2 + k3)
TG_NORM_INLINE void affine2_impl(const float* p, float k1, const float* x, int64_t n, float m, float k2, float k3,
                                 float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = p[i] * k1 + ((x[i] - m) * k2 + k3);
}

// y = (x - m) k w + b, w and b elementwise and optional (b only with w).
TG_NORM_INLINE void scale_shift_impl(const float* x, int64_t n, float m, float k, const float* w, const float* b,
                                     float* y) {
  if (b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * k * w[i] + b[i];
  } else if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * k * w[i];
  } else {
    affine_impl(x, n, m, k, 0.0f, y);
  }
}

// dx = dy w k1 + ((x - m) k2 + k3), w elementwise and optional.
TG_NORM_INLINE void weighted_affine2_impl(const float* dy, const float* w, float k1, const float* x, int64_t n, float m,
                                          float k2, float k3, float* dx) {
  if (w) {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * w[i] * k1 + ((x[i] - m) * k2 + k3);
  } else {
    affine2_impl(dy, k1, x, n, m, k2, k3, dx);
  }
}

// Over `rows` (at most 4) rows of n elements of dy and x: dw += dy (x - m) k
// and db += dy, m and k per row. Four rows are added in float, then in double.
TG_NORM_INLINE void param_acc_impl(const float* dy, const float* x, int64_t rows, const float* m, const float* k,
                                   int64_t n, double* dw, double* db) {
  if (rows == 4) {
    const float *d0 = dy, *d1 = dy + n, *d2 = dy + 2 * n, *d3 = dy + 3 * n;
    const float *x0 = x, *x1 = x + n, *x2 = x + 2 * n, *x3 = x + 3 * n;
    for (int64_t i = 0; i < n; ++i) {
      dw[i] += static_cast<double>((d0[i] * ((x0[i] - m[0]) * k[0]) + d1[i] * ((x1[i] - m[1]) * k[1])) +
                                   (d2[i] * ((x2[i] - m[2]) * k[2]) + d3[i] * ((x3[i] - m[3]) * k[3])));
      db[i] += static_cast<double>((d0[i] + d1[i]) + (d2[i] + d3[i]));
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* dr = dy + r * n;
    const float* xr = x + r * n;
    for (int64_t i = 0; i < n; ++i) {
      dw[i] += static_cast<double>(dr[i] * ((xr[i] - m[r]) * k[r]));
      db[i] += static_cast<double>(dr[i]);
    }
  }
}

// Per column c of `rows` rows of p and q (row stride `stride`), over c in
// [0, n): pa[c] += sum of u = p - pc[c] and pb[c] += sum of u (q - qc[c]);
// four rows at a time are summed in float, then added in double.
TG_NORM_INLINE void column_sums_impl(const float* p, const float* q, int64_t stride, int64_t rows, const float* pc,
                                     const float* qc, int64_t n, double* pa, double* pb) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* p0 = p + r * stride;
    const float* q0 = q + r * stride;
    for (int64_t c = 0; c < n; ++c) {
      const float u0 = p0[c] - pc[c], u1 = p0[stride + c] - pc[c], u2 = p0[2 * stride + c] - pc[c],
                  u3 = p0[3 * stride + c] - pc[c];
      pa[c] += static_cast<double>((u0 + u1) + (u2 + u3));
      pb[c] += static_cast<double>((u0 * (q0[c] - qc[c]) + u1 * (q0[stride + c] - qc[c])) +
                                   (u2 * (q0[2 * stride + c] - qc[c]) + u3 * (q0[3 * stride + c] - qc[c])));
    }
  }
  for (; r < rows; ++r) {
    const float* p0 = p + r * stride;
    const float* q0 = q + r * stride;
    for (int64_t c = 0; c < n; ++c) {
      const float u = p0[c] - pc[c];
      pa[c] += static_cast<double>(u);
      pb[c] += static_cast<double>(u * (q0[c] - qc[c]));
    }
  }
}

// y = p k1 + ((x - m) k2 + k3) with per-element coefficients; no p term without p.
TG_NORM_INLINE void columns_affine_impl(const float* p, const float* k1, const float* x, const float* m,
                                        const float* k2, const float* k3, int64_t n, float* y) {
  if (p) {
    for (int64_t i = 0; i < n; ++i) y[i] = p[i] * k1[i] + ((x[i] - m[i]) * k2[i] + k3[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m[i]) * k2[i] + k3[i];
  }
}

struct RowKernels {
  Sums (*sums)(const float* p, const float* q, int64_t n, float pc, float qc);
  Sums (*weighted_sums)(const float* p, const float* w, const float* q, int64_t n, float qc);
  void (*affine)(const float* x, int64_t n, float m, float k, float c, float* y);
  void (*affine2)(const float* p, float k1, const float* x, int64_t n, float m, float k2, float k3, float* y);
  void (*scale_shift)(const float* x, int64_t n, float m, float k, const float* w, const float* b, float* y);
  void (*weighted_affine2)(const float* dy, const float* w, float k1, const float* x, int64_t n, float m, float k2,
                           float k3, float* dx);
  void (*param_acc)(const float* dy, const float* x, int64_t rows, const float* m, const float* k, int64_t n,
                    double* dw, double* db);
  void (*column_sums)(const float* p, const float* q, int64_t stride, int64_t rows, const float* pc, const float* qc,
                      int64_t n, double* pa, double* pb);
  void (*columns_affine)(const float* p, const float* k1, const float* x, const float* m, const float* k2,
                         const float* k3, int64_t n, float* y);
};

#define TG_NORM_KERNELS(NAME, ATTR)                                                                                \
  ATTR Sums NAME##_sums(const float* p, const float* q, int64_t n, float pc, float qc) {                            \
    return sums_impl<false>(p, nullptr, q, n, pc, qc);                                                             \
  }                                                                                                                \
  ATTR Sums NAME##_weighted_sums(const float* p, const float* w, const float* q, int64_t n, float qc) {            \
    return sums_impl<true>(p, w, q, n, 0.0f, qc);                                                                  \
  }                                                                                                                \
  ATTR void NAME##_affine(const float* x, int64_t n, float m, float k, float c, float* y) {                        \
    affine_impl(x, n, m, k, c, y);                                                                                 \
  }                                                                                                                \
  ATTR void NAME##_affine2(const float* p, float k1, const float* x, int64_t n, float m, float k2, float k3,        \
                           float* y) {                                                                             \
    affine2_impl(p, k1, x, n, m, k2, k3, y);                                                                       \
  }                                                                                                                \
  ATTR void NAME##_scale_shift(const float* x, int64_t n, float m, float k, const float* w, const float* b,        \
                               float* y) {                                                                         \
    scale_shift_impl(x, n, m, k, w, b, y);                                                                         \
  }                                                                                                                \
  ATTR void NAME##_weighted_affine2(const float* dy, const float* w, float k1, const float* x, int64_t n, float m,  \
                                    float k2, float k3, float* dx) {                                               \
    weighted_affine2_impl(dy, w, k1, x, n, m, k2, k3, dx);                                                         \
  }                                                                                                                \
  ATTR void NAME##_param_acc(const float* dy, const float* x, int64_t rows, const float* m, const float* k,        \
                             int64_t n, double* dw, double* db) {                                                  \
    param_acc_impl(dy, x, rows, m, k, n, dw, db);                                                                  \
  }                                                                                                                \
  ATTR void NAME##_column_sums(const float* p, const float* q, int64_t stride, int64_t rows, const float* pc,      \
                               const float* qc, int64_t n, double* pa, double* pb) {                               \
    column_sums_impl(p, q, stride, rows, pc, qc, n, pa, pb);                                                       \
  }                                                                                                                \
  ATTR void NAME##_columns_affine(const float* p, const float* k1, const float* x, const float* m, const float* k2, \
                                  const float* k3, int64_t n, float* y) {                                          \
    columns_affine_impl(p, k1, x, m, k2, k3, n, y);                                                                \
  }                                                                                                                \
  const RowKernels NAME##_kernels{NAME##_sums,           NAME##_weighted_sums, NAME##_affine,                      \
                                  NAME##_affine2,        NAME##_scale_shift,   NAME##_weighted_affine2,            \
                                  NAME##_param_acc,      NAME##_column_sums,   NAME##_columns_affine};

TG_NORM_KERNELS(base, )
#if defined(__x86_64__)
TG_NORM_KERNELS(avx2, __attribute__((target("avx2"))))
#endif

const RowKernels& row_kernels() {
#if defined(__x86_64__)
  if (simd_level() >= SimdLevel::avx2) return avx2_kernels;
#endif
  return base_kernels;
}

// ---- shared pieces ---------------------------------------------------------

struct Moments {
  double mean, var;  // var biased (divided by the count)
};

// From s1 = sum(x - shift) and s2 = sum((x - shift)^2) over `count` elements.
Moments moments_of(double shift, double s1, double s2, int64_t count) {
  const double d = s1 / static_cast<double>(count);
  return {shift + d, std::max(0.0, s2 / static_cast<double>(count) - d * d)};
}

double read_eps(const Attrs& a) {
  const double eps = a.get_float("eps", 1e-5);
  TG_CHECK(eps >= 0.0, "ERR_TG_ARG", "attribute 'eps' must be >= 0, got ", eps);
  return eps;
}

// Which of (dx, dweight, dbias) a backward op computes; the others are (0)-shaped.
std::array<bool, 3> output_mask(const Attrs& a) {
  const std::vector<int64_t> m = a.get_ints("output_mask", {1, 1, 1});
  TG_CHECK(m.size() == 3 && std::all_of(m.begin(), m.end(), [](int64_t v) { return v == 0 || v == 1; }),
           "ERR_TG_ARG", "attribute 'output_mask' must be 3 flags (0 or 1) for dx, dweight, dbias, got ",
           shape_str(m));
  return {m[0] == 1, m[1] == 1, m[2] == 1};
}

std::vector<TensorSpec> masked_grad_specs(const Attrs& a, const Shape& x, const Shape& param) {
  const std::array<bool, 3> mask = output_mask(a);
  return {TensorSpec{mask[0] ? x : Shape{0}}, TensorSpec{mask[1] ? param : Shape{0}},
          TensorSpec{mask[2] ? param : Shape{0}}};
}

void require_param(const TensorSpec& s, const char* what, const Shape& want, const char* of) {
  require_float32(s, what);
  TG_CHECK(s.shape == want, "ERR_TG_SHAPE", what, " has shape ", shape_str(s.shape), " but must be ",
           shape_str(want), " (", of, ")");
}

void require_channels_first(const TensorSpec& x, const char* what) {
  require_float32(x, what);
  TG_CHECK(x.shape.size() >= 2, "ERR_TG_SHAPE", what, " must have shape (N, C, ...), got ", shape_str(x.shape));
}

// Zeros shaped like v, standing in for a gradient that does not reach it.
ValueId zeros_like(GraphBuilder& g, ValueId v) {
  Attrs a;
  a.set("value", 0.0);
  return g.add1("scale", {v}, a);
}

ValueId add_grad(GraphBuilder& g, ValueId acc, ValueId term) {
  return acc == kNoValue ? term : g.add1("add", {acc, term});
}

std::vector<int64_t> mask_attr(bool dx, bool dw, bool db) { return {dx ? 1 : 0, dw ? 1 : 0, db ? 1 : 0}; }

// ---- (N, C, L) layout: batch_norm ------------------------------------------

// x of shape (N, C, d1, ...) viewed as (N, C, L), L the product of the dims
// after C (1 without them).
struct NCL {
  int64_t n, c, l;
};
NCL ncl_of(const Shape& s) { return {s[0], s[1], shape_numel(Shape(s.begin() + 2, s.end()))}; }

// Per channel c of p, q: (N, C, L): sa[c] = sum over (n, l) of (p - pc[c]) and
// sb[c] = sum of (p - pc[c]) (q - qc[c]). Tasks are (part of the batch, block
// of channels); each (part, channel) sum is kept apart and the parts added in
// order.
void channel_sums(const float* p, const float* q, const NCL& s, const float* pc, const float* qc, double* sa,
                  double* sb) {
  const RowKernels& k = row_kernels();
  const int64_t numel = s.n * s.c * s.l;
  const int64_t parts = std::max<int64_t>(1, std::min({s.n, kMaxParts, numel / kGrain}));
  const int64_t rows = std::max<int64_t>(1, (s.n + parts - 1) / parts);
  const int64_t width = std::clamp<int64_t>(kGrain / (rows * std::max<int64_t>(1, s.l)), 1, std::max<int64_t>(1, s.c));
  const int64_t blocks = (s.c + width - 1) / width;
  std::vector<double> partial(static_cast<size_t>(parts * 2 * s.c), 0.0);
  thread_pool().parallel_for(parts * blocks, [&](int64_t t) {
    const int64_t part = t / blocks, c0 = (t % blocks) * width, c1 = std::min(s.c, c0 + width);
    const int64_t n0 = part * rows, n1 = std::min(s.n, n0 + rows);
    double* pa = partial.data() + part * 2 * s.c;
    double* pb = pa + s.c;
    if (s.l == 1) {
      // (N, C): a row is contiguous over the channels, so sum down columns.
      k.column_sums(p + n0 * s.c + c0, q + n0 * s.c + c0, s.c, n1 - n0, pc + c0, qc + c0, c1 - c0, pa + c0, pb + c0);
      return;
    }
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t off = (n * s.c + c) * s.l;
        const Sums r = k.sums(p + off, q + off, s.l, pc[c], qc[c]);
        pa[c] += r.a;
        pb[c] += r.b;
      }
    }
  });
  std::fill(sa, sa + s.c, 0.0);
  std::fill(sb, sb + s.c, 0.0);
  for (int64_t part = 0; part < parts; ++part) {
    const double* pa = partial.data() + part * 2 * s.c;
    const double* pb = pa + s.c;
    for (int64_t c = 0; c < s.c; ++c) {
      sa[c] += pa[c];
      sb[c] += pb[c];
    }
  }
}

// out = p k1[c] + ((q - qc[c]) k2[c] + k3[c]) over (N, C, L); without p
// (empty k1) the first term is dropped.
void channel_map(const float* p, const float* q, float* out, const NCL& s, const std::vector<float>& qc,
                 const std::vector<float>& k1, const std::vector<float>& k2, const std::vector<float>& k3) {
  const RowKernels& k = row_kernels();
  if (s.l == 1) {
    parallel_range(s.n, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.c)), [&](int64_t b, int64_t e) {
      for (int64_t n = b; n < e; ++n) {
        const int64_t off = n * s.c;
        k.columns_affine(p ? p + off : nullptr, k1.data(), q + off, qc.data(), k2.data(), k3.data(), s.c, out + off);
      }
    });
    return;
  }
  parallel_range(s.n * s.c, std::max<int64_t>(1, kGrain / s.l), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const int64_t c = plane % s.c, off = plane * s.l;
      if (p) {
        k.affine2(p + off, k1[c], q + off, s.l, qc[c], k2[c], k3[c], out + off);
      } else {
        k.affine(q + off, s.l, qc[c], k2[c], k3[c], out + off);
      }
    }
  });
}

// ---- batch_norm(x, running_mean, running_var, weight?, bias?){momentum, eps, use_running_stats, use_batch_stats} ----

// Which statistics normalise: use_running_stats (a frozen layer) always takes
// the running ones; use_batch_stats (track_running_stats=False, where PyTorch
// has no running statistics at all) always the batch's, in eval mode too.
struct BnMode {
  bool use_running_stats, use_batch_stats;
};

BnMode bn_mode(const Attrs& a) {
  const BnMode mode{a.get_bool("use_running_stats", false), a.get_bool("use_batch_stats", false)};
  TG_CHECK(!(mode.use_running_stats && mode.use_batch_stats), "ERR_TG_ARG",
           "attributes 'use_running_stats' and 'use_batch_stats' cannot both be true");
  return mode;
}

void set_mode(Attrs& a, const BnMode& mode) {
  a.set("use_running_stats", mode.use_running_stats);
  a.set("use_batch_stats", mode.use_batch_stats);
}

// Batch statistics (and the running-average update) in training mode unless
// the layer is frozen; the running statistics otherwise.
bool batch_stats(const BnMode& mode, const RunContext& ctx) {
  return mode.use_batch_stats || (ctx.training && !mode.use_running_stats);
}

struct BnConfig {
  double momentum, eps;
  BnMode mode;
};

BnConfig bn_config(const Attrs& a) {
  const BnConfig cfg{a.get_float("momentum", 0.1), read_eps(a), bn_mode(a)};
  TG_CHECK(cfg.momentum >= 0.0 && cfg.momentum <= 1.0, "ERR_TG_ARG", "attribute 'momentum' must be in [0, 1], got ",
           cfg.momentum);
  return cfg;
}

bool batch_stats(const BnConfig& cfg, const RunContext& ctx) { return batch_stats(cfg.mode, ctx); }

std::vector<TensorSpec> infer_batch_norm(const std::vector<TensorSpec>& in, const Attrs& a) {
  bn_config(a);
  require_channels_first(in[0], "x");
  const Shape c{in[0].shape[1]};
  const char* of = "one value per channel of x";
  const char* names[] = {"x", "running_mean", "running_var", "weight", "bias"};
  for (size_t i = 1; i < in.size(); ++i) require_param(in[i], names[i], c, of);
  const TensorSpec vec{c};
  return {in[0], vec, vec, vec, vec};
}

// x: (N, C, L); running_mean, running_var, weight, bias, and outputs 1-4: (C).
void cpu_batch_norm_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext& ctx) {
  const BnConfig cfg = bn_config(attrs);
  const Tensor& x = in[0];
  const NCL s = ncl_of(x.shape());
  const int64_t m = s.n * s.l;  // values per channel
  const float* px = x.data<float>();
  const float* rm = in[1].data<float>();
  const float* rv = in[2].data<float>();
  const float* w = in.size() > 3 ? in[3].data<float>() : nullptr;
  const float* b = in.size() > 4 ? in[4].data<float>() : nullptr;
  float* save_mean = out[1].data<float>();
  float* save_invstd = out[2].data<float>();
  float* new_rm = out[3].data<float>();
  float* new_rv = out[4].data<float>();
  const size_t nc = static_cast<size_t>(s.c);

  if (batch_stats(cfg, ctx)) {
    TG_CHECK(m > 1, "ERR_TG_SHAPE", "batch_norm in training mode needs more than 1 value per channel, got x of shape ",
             shape_str(x.shape()));
    // Each channel's first element is its shift.
    std::vector<float> shift(nc);
    std::vector<double> s1(nc), s2(nc);
    for (int64_t c = 0; c < s.c; ++c) shift[c] = px[c * s.l];
    channel_sums(px, px, s, shift.data(), shift.data(), s1.data(), s2.data());
    const double unbias = static_cast<double>(m) / static_cast<double>(m - 1);
    for (int64_t c = 0; c < s.c; ++c) {
      const Moments mo = moments_of(shift[c], s1[c], s2[c], m);
      save_mean[c] = static_cast<float>(mo.mean);
      save_invstd[c] = static_cast<float>(1.0 / std::sqrt(mo.var + cfg.eps));
      new_rm[c] = static_cast<float>((1.0 - cfg.momentum) * rm[c] + cfg.momentum * mo.mean);
      new_rv[c] = static_cast<float>((1.0 - cfg.momentum) * rv[c] + cfg.momentum * mo.var * unbias);
    }
  } else {
    for (int64_t c = 0; c < s.c; ++c) {
      save_mean[c] = rm[c];
      save_invstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rv[c]) + cfg.eps));
      new_rm[c] = rm[c];
      new_rv[c] = rv[c];
    }
  }
  std::vector<float> center(save_mean, save_mean + nc), k2(nc), k3(nc, 0.0f);
  for (int64_t c = 0; c < s.c; ++c) {
    k2[c] = w ? save_invstd[c] * w[c] : save_invstd[c];
    if (b) k3[c] = b[c];
  }
  channel_map(nullptr, px, out[0].data<float>(), s, center, {}, k2, k3);
}

std::vector<ValueId> grad_batch_norm(GraphBuilder& g, const GradContext& c) {
  const ValueId x = c.inputs[0], dy = c.grad_outputs[0];
  const ValueId save_mean = c.outputs[1], save_invstd = c.outputs[2];
  const bool has_w = c.inputs.size() > 3, has_b = c.inputs.size() > 4;
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);
  const bool dx = c.needs_grad[0], dw = has_w && c.needs_grad[3], db = has_b && c.needs_grad[4];
  // Which statistics to use is only known when the graph runs (RunContext),
  // so the backward ops read it too; the mode travels in the attrs.
  const BnMode mode = bn_mode(c.attrs);
  if (dy != kNoValue && (dx || dw || db)) {
    Attrs a;
    set_mode(a, mode);
    a.set("output_mask", mask_attr(dx, dw, db));
    std::vector<ValueId> in{dy, x, save_mean, save_invstd};
    if (has_w) in.push_back(c.inputs[3]);
    const std::vector<ValueId> r = g.add("batch_norm_backward", in, a);
    if (dx) grads[0] = r[0];
    if (dw) grads[3] = r[1];
    if (db) grads[4] = r[2];
  }
  const bool stats_grad = std::any_of(c.grad_outputs.begin() + 1, c.grad_outputs.end(),
                                      [](ValueId v) { return v != kNoValue; });
  if (dx && stats_grad) {
    std::vector<ValueId> in{x, save_mean, save_invstd};
    ValueId zeros = kNoValue;  // one (C) zeros node for every statistic without a gradient
    for (size_t k = 1; k < 5; ++k) {
      if (c.grad_outputs[k] == kNoValue && zeros == kNoValue) zeros = zeros_like(g, save_mean);
      in.push_back(c.grad_outputs[k] != kNoValue ? c.grad_outputs[k] : zeros);
    }
    Attrs a;
    a.set("momentum", c.attrs.get_float("momentum", 0.1));
    set_mode(a, mode);
    grads[0] = add_grad(g, grads[0], g.add1("batch_norm_stats_backward", in, a));
  }
  return grads;  // the running statistics are buffers: no gradient
}

// ---- batch_norm_backward(dy, x, save_mean, save_invstd, weight?){use_running_stats, use_batch_stats, output_mask} ----

std::vector<TensorSpec> infer_batch_norm_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  bn_mode(a);
  require_float32(in[0], "dy");
  require_channels_first(in[1], "x");
  require_same_shape(in[0], "dy", in[1], "x");
  const Shape c{in[1].shape[1]};
  const char* names[] = {"dy", "x", "save_mean", "save_invstd", "weight"};
  for (size_t i = 2; i < in.size(); ++i) require_param(in[i], names[i], c, "one value per channel of x");
  return masked_grad_specs(a, in[1].shape, c);
}

// dy, x, dx: (N, C, L); save_mean, save_invstd, weight, dweight, dbias: (C).
void cpu_batch_norm_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext& ctx) {
  const bool batch = batch_stats(bn_mode(attrs), ctx);
  const std::array<bool, 3> mask = output_mask(attrs);
  const NCL s = ncl_of(in[1].shape());
  const int64_t m = s.n * s.l;
  const float* dy = in[0].data<float>();
  const float* x = in[1].data<float>();
  const float* mean = in[2].data<float>();
  const float* invstd = in[3].data<float>();
  const float* w = in.size() > 4 ? in[4].data<float>() : nullptr;
  const size_t nc = static_cast<size_t>(s.c);

  // sum dy and sum dy (x - mean) per channel: dbias and dweight / invstd, and
  // what the batch statistics pass back to dx.
  std::vector<double> sdy(nc), sdyx(nc);
  if (mask[1] || mask[2] || (mask[0] && batch)) {
    const std::vector<float> zero(nc, 0.0f);
    channel_sums(dy, x, s, zero.data(), mean, sdy.data(), sdyx.data());
  }
  if (mask[1]) {
    float* dw = out[1].data<float>();
    for (int64_t c = 0; c < s.c; ++c) dw[c] = static_cast<float>(sdyx[c] * invstd[c]);
  }
  if (mask[2]) {
    float* db = out[2].data<float>();
    for (int64_t c = 0; c < s.c; ++c) db[c] = static_cast<float>(sdy[c]);
  }
  if (!mask[0]) return;
  // dx = w invstd (dy - mean(dy) - xhat mean(dy xhat)) with batch statistics;
  // dx = w invstd dy when they are constants.
  std::vector<float> center(mean, mean + nc), k1(nc), k2(nc, 0.0f), k3(nc, 0.0f);
  for (int64_t c = 0; c < s.c; ++c) {
    const double wi = (w ? w[c] : 1.0) * invstd[c];
    k1[c] = static_cast<float>(wi);
    if (batch) {
      const double is = invstd[c];
      k2[c] = static_cast<float>(-wi * is * is * sdyx[c] / static_cast<double>(m));
      k3[c] = static_cast<float>(-wi * sdy[c] / static_cast<double>(m));
    }
  }
  channel_map(dy, x, out[0].data<float>(), s, center, k1, k2, k3);
}

// ---- batch_norm_stats_backward(x, save_mean, save_invstd, dsave_mean, dsave_invstd,
//      dnew_running_mean, dnew_running_var){momentum, use_running_stats, use_batch_stats} ----

std::vector<TensorSpec> infer_batch_norm_stats_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  bn_config(a);
  require_channels_first(in[0], "x");
  const Shape c{in[0].shape[1]};
  const char* names[] = {"x", "save_mean", "save_invstd", "dsave_mean", "dsave_invstd", "dnew_running_mean",
                         "dnew_running_var"};
  for (size_t i = 1; i < in.size(); ++i) require_param(in[i], names[i], c, "one value per channel of x");
  return {in[0]};
}

// x, dx: (N, C, L); the rest (C). With batch statistics mean = sum(x) / M and
// var = sum((x - mean)^2) / M, so d/dx = dmean / M + 2 dvar (x - mean) / M,
// where dmean and dvar collect save_mean, save_invstd = (var + eps)^-1/2 and
// the running-average update (unbiased variance var M / (M - 1)).
void cpu_batch_norm_stats_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                                   const Attrs& attrs, const RunContext& ctx) {
  const BnConfig cfg = bn_config(attrs);
  float* dx = out[0].data<float>();
  if (!batch_stats(cfg, ctx)) {
    // The outputs were copies of (functions of) the running statistics.
    std::fill(dx, dx + out[0].numel(), 0.0f);
    return;
  }
  const NCL s = ncl_of(in[0].shape());
  const int64_t m = s.n * s.l;
  const float* mean = in[1].data<float>();
  const float* invstd = in[2].data<float>();
  const float* dmean = in[3].data<float>();
  const float* dinvstd = in[4].data<float>();
  const float* drm = in[5].data<float>();
  const float* drv = in[6].data<float>();
  const size_t nc = static_cast<size_t>(s.c);
  const double md = static_cast<double>(m);
  const double unbias = m > 1 ? md / (md - 1.0) : 0.0;
  std::vector<float> center(mean, mean + nc), k2(nc), k3(nc);
  for (int64_t c = 0; c < s.c; ++c) {
    const double is = invstd[c];
    const double dm = dmean[c] + cfg.momentum * drm[c];
    const double dv = -0.5 * is * is * is * dinvstd[c] + cfg.momentum * unbias * drv[c];
    k2[c] = static_cast<float>(2.0 * dv / md);
    k3[c] = static_cast<float>(dm / md);
  }
  channel_map(nullptr, in[0].data<float>(), dx, s, center, {}, k2, k3);
}

// ---- rows: layer_norm, group_norm ------------------------------------------

// ---- moments_backward(x, mean, rstd, dmean, drstd) ----
// x viewed as (R, D), R = mean's element count; mean = sum(x) / D and
// rstd = (var + eps)^-1/2 per row, var = sum((x - mean)^2) / D.

std::vector<TensorSpec> infer_moments_backward(const std::vector<TensorSpec>& in, const Attrs&) {
  const char* names[] = {"x", "mean", "rstd", "dmean", "drstd"};
  for (size_t i = 0; i < in.size(); ++i) require_float32(in[i], names[i]);
  for (size_t i = 2; i < in.size(); ++i) require_same_shape(in[i], names[i], in[1], "mean");
  const int64_t rows = shape_numel(in[1].shape), n = shape_numel(in[0].shape);
  TG_CHECK(rows > 0 ? n % rows == 0 : n == 0, "ERR_TG_SHAPE", "mean has ", rows,
           " elements, which must split x of shape ", shape_str(in[0].shape), " into equal rows");
  return {in[0]};
}

// d/dx_i = dmean / D + 2 dvar (x_i - mean) / D with dvar = -rstd^3 drstd / 2.
void cpu_moments_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs&,
                          const RunContext&) {
  const int64_t rows = in[1].numel();
  if (rows == 0) return;
  const int64_t d = in[0].numel() / rows;
  const float* x = in[0].data<float>();
  const float* mean = in[1].data<float>();
  const float* rstd = in[2].data<float>();
  const float* dmean = in[3].data<float>();
  const float* drstd = in[4].data<float>();
  float* dx = out[0].data<float>();
  const RowKernels& k = row_kernels();
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, d)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const double rs = rstd[r];
      const float k2 = static_cast<float>(-rs * rs * rs * drstd[r] / static_cast<double>(d));
      const float k3 = static_cast<float>(dmean[r] / static_cast<double>(d));
      k.affine(x + r * d, d, mean[r], k2, k3, dx + r * d);
    }
  });
}

// Adds the gradient reaching x through the mean and rstd outputs (1 and 2).
ValueId row_stats_grad(GraphBuilder& g, const GradContext& c, ValueId dx) {
  if (c.grad_outputs[1] == kNoValue && c.grad_outputs[2] == kNoValue) return dx;
  const ValueId mean = c.outputs[1], rstd = c.outputs[2];
  const ValueId dmean = c.grad_outputs[1] != kNoValue ? c.grad_outputs[1] : zeros_like(g, mean);
  const ValueId drstd = c.grad_outputs[2] != kNoValue ? c.grad_outputs[2] : zeros_like(g, rstd);
  return add_grad(g, dx, g.add1("moments_backward", {c.inputs[0], mean, rstd, dmean, drstd}));
}

// ---- layer_norm(x, weight?, bias?){normalized_shape, eps} ----

// The trailing dims normalised over; checked against x's shape.
Shape normalized_shape(const Attrs& a, const Shape& x) {
  const Shape ns = a.require_ints("normalized_shape");
  TG_CHECK(!ns.empty(), "ERR_TG_ARG", "attribute 'normalized_shape' must name at least one dim");
  TG_CHECK(ns.size() <= x.size() && std::equal(ns.begin(), ns.end(), x.end() - static_cast<long>(ns.size())),
           "ERR_TG_SHAPE", "normalized_shape ", shape_str(ns), " must match the last dims of x, which has shape ",
           shape_str(x));
  return ns;
}

std::vector<TensorSpec> infer_layer_norm(const std::vector<TensorSpec>& in, const Attrs& a) {
  read_eps(a);
  require_float32(in[0], "x");
  const Shape ns = normalized_shape(a, in[0].shape);
  if (in.size() > 1) require_param(in[1], "weight", ns, "normalized_shape");
  if (in.size() > 2) require_param(in[2], "bias", ns, "normalized_shape");
  const TensorSpec stats{Shape(in[0].shape.begin(), in[0].shape.end() - static_cast<long>(ns.size()))};
  return {in[0], stats, stats};
}

// x, y: (R, D); weight, bias: (D); mean, rstd: (R).
void cpu_layer_norm_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext&) {
  const double eps = read_eps(attrs);
  const int64_t rows = out[1].numel();
  if (rows == 0) return;
  const int64_t d = in[0].numel() / rows;
  const float* x = in[0].data<float>();
  const float* w = in.size() > 1 ? in[1].data<float>() : nullptr;
  const float* bias = in.size() > 2 ? in[2].data<float>() : nullptr;
  float* y = out[0].data<float>();
  float* mean_out = out[1].data<float>();
  float* rstd_out = out[2].data<float>();
  const RowKernels& k = row_kernels();
  parallel_range(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, d)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * d;
      // The row's first element is its shift.
      const float shift = d > 0 ? xr[0] : 0.0f;
      const Sums sums = k.sums(xr, xr, d, shift, shift);
      const Moments mo = moments_of(shift, sums.a, sums.b, d);
      const float m = static_cast<float>(mo.mean), rs = static_cast<float>(1.0 / std::sqrt(mo.var + eps));
      mean_out[r] = m;
      rstd_out[r] = rs;
      k.scale_shift(xr, d, m, rs, w, bias, y + r * d);
    }
  });
}

// The rule layer_norm and group_norm share: one fused backward op from the
// saved (mean, rstd), told by output_mask which of dx, dweight, dbias to make,
// plus the path through the statistics when they receive gradients too.
std::vector<ValueId> grad_row_norm(GraphBuilder& g, const GradContext& c, const char* backward_op, Attrs a) {
  const ValueId dy = c.grad_outputs[0];
  const bool has_w = c.inputs.size() > 1, has_b = c.inputs.size() > 2;
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);
  const bool dx = c.needs_grad[0], dw = has_w && c.needs_grad[1], db = has_b && c.needs_grad[2];
  if (dy != kNoValue && (dx || dw || db)) {
    a.set("output_mask", mask_attr(dx, dw, db));
    std::vector<ValueId> in{dy, c.inputs[0], c.outputs[1], c.outputs[2]};
    if (has_w) in.push_back(c.inputs[1]);
    const std::vector<ValueId> r = g.add(backward_op, in, a);
    if (dx) grads[0] = r[0];
    if (dw) grads[1] = r[1];
    if (db) grads[2] = r[2];
  }
  if (dx) grads[0] = row_stats_grad(g, c, grads[0]);
  return grads;
}

std::vector<ValueId> grad_layer_norm(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("normalized_shape", c.attrs.require_ints("normalized_shape"));
  return grad_row_norm(g, c, "layer_norm_backward", a);
}

// ---- layer_norm_backward(dy, x, mean, rstd, weight?){normalized_shape, output_mask} ----

std::vector<TensorSpec> infer_layer_norm_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  require_float32(in[0], "dy");
  require_float32(in[1], "x");
  require_same_shape(in[0], "dy", in[1], "x");
  const Shape ns = normalized_shape(a, in[1].shape);
  const Shape stats(in[1].shape.begin(), in[1].shape.end() - static_cast<long>(ns.size()));
  require_param(in[2], "mean", stats, "x's dims before normalized_shape");
  require_param(in[3], "rstd", stats, "x's dims before normalized_shape");
  if (in.size() > 4) require_param(in[4], "weight", ns, "normalized_shape");
  return masked_grad_specs(a, in[1].shape, ns);
}

// dy, x, dx: (R, D); mean, rstd: (R); weight, dweight, dbias: (D). With
// g = dy w and xhat = (x - mean) rstd:
// dx = rstd (g - mean(g) - xhat mean(g xhat)), dweight = sum over rows of dy xhat, dbias = sum of dy.
void cpu_layer_norm_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  const std::array<bool, 3> mask = output_mask(attrs);
  const int64_t rows = in[2].numel();
  const int64_t d = rows > 0 ? in[1].numel() / rows : shape_numel(normalized_shape(attrs, in[1].shape()));
  const float* dy = in[0].data<float>();
  const float* x = in[1].data<float>();
  const float* mean = in[2].data<float>();
  const float* rstd = in[3].data<float>();
  const float* w = in.size() > 4 ? in[4].data<float>() : nullptr;
  const bool params = mask[1] || mask[2];
  // Rows are cut into parts by the shape alone; each part sums its rows'
  // dweight and dbias terms in order, and the parts are added in order.
  const int64_t parts = std::max<int64_t>(1, std::min({rows, kMaxParts, rows * d / kGrain}));
  const int64_t span = std::max<int64_t>(1, (rows + parts - 1) / parts);
  const size_t width = static_cast<size_t>(d);
  std::vector<double> pdw(params ? parts * width : 0, 0.0), pdb(params ? parts * width : 0, 0.0);
  float* dx = mask[0] ? out[0].data<float>() : nullptr;
  const RowKernels& k = row_kernels();
  thread_pool().parallel_for(parts, [&](int64_t part) {
    const int64_t end = std::min(rows, (part + 1) * span);
    // Four rows at a time, so their dweight and dbias terms are added in float first.
    for (int64_t r0 = part * span; r0 < end; r0 += 4) {
      const int64_t nr = std::min<int64_t>(4, end - r0);
      for (int64_t r = r0; dx && r < r0 + nr; ++r) {
        const float* dyr = dy + r * d;
        const float* xr = x + r * d;
        const float m = mean[r], rs = rstd[r];
        // sum g and sum g (x - mean), g = dy w.
        const Sums g = w ? k.weighted_sums(dyr, w, xr, d, m) : k.sums(dyr, xr, d, 0.0f, m);
        const double rd = rs;
        const float k2 = static_cast<float>(-rd * rd * rd * g.b / static_cast<double>(d));
        const float k3 = static_cast<float>(-rd * g.a / static_cast<double>(d));
        k.weighted_affine2(dyr, w, rs, xr, d, m, k2, k3, dx + r * d);
      }
      if (params) {
        k.param_acc(dy + r0 * d, x + r0 * d, nr, mean + r0, rstd + r0, d, pdw.data() + part * width,
                    pdb.data() + part * width);
      }
    }
  });
  if (!params) return;
  float* dw = mask[1] ? out[1].data<float>() : nullptr;
  float* db = mask[2] ? out[2].data<float>() : nullptr;
  parallel_range(d, std::max<int64_t>(1, kGrain / parts), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double sw = 0.0, sb = 0.0;
      for (int64_t part = 0; part < parts; ++part) {
        sw += pdw[part * width + i];
        sb += pdb[part * width + i];
      }
      if (dw) dw[i] = static_cast<float>(sw);
      if (db) db[i] = static_cast<float>(sb);
    }
  });
}

// ---- group_norm(x, weight?, bias?){num_groups, eps} ----

int64_t num_groups(const Attrs& a, const Shape& x) {
  const int64_t g = a.require_int("num_groups");
  TG_CHECK(g > 0, "ERR_TG_ARG", "attribute 'num_groups' must be positive, got ", g);
  TG_CHECK(x[1] % g == 0, "ERR_TG_SHAPE", "num_groups ", g, " must divide the ", x[1],
           " channels of x, which has shape ", shape_str(x));
  return g;
}

std::vector<TensorSpec> infer_group_norm(const std::vector<TensorSpec>& in, const Attrs& a) {
  read_eps(a);
  require_channels_first(in[0], "x");
  const int64_t g = num_groups(a, in[0].shape);
  const Shape c{in[0].shape[1]};
  if (in.size() > 1) require_param(in[1], "weight", c, "one value per channel of x");
  if (in.size() > 2) require_param(in[2], "bias", c, "one value per channel of x");
  const TensorSpec stats{Shape{in[0].shape[0], g}};
  return {in[0], stats, stats};
}

// The (N, C, L) input as N * G contiguous rows of D = C / G * L elements.
struct Groups {
  NCL s;
  int64_t g, cg, d, rows;
};
Groups groups_of(const Shape& x, int64_t g) {
  const NCL s = ncl_of(x);
  return {s, g, s.c / g, s.c / g * s.l, s.n * g};
}

// x, y: (N, C, L); weight, bias: (C); mean, rstd: (N, G).
void cpu_group_norm_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext&) {
  const double eps = read_eps(attrs);
  const Groups gr = groups_of(in[0].shape(), num_groups(attrs, in[0].shape()));
  if (gr.rows == 0) return;
  const float* x = in[0].data<float>();
  const float* w = in.size() > 1 ? in[1].data<float>() : nullptr;
  const float* bias = in.size() > 2 ? in[2].data<float>() : nullptr;
  float* y = out[0].data<float>();
  float* mean_out = out[1].data<float>();
  float* rstd_out = out[2].data<float>();
  // Long rows are summed in fixed segments, around the row's first element.
  const int64_t segs = std::max<int64_t>(1, (gr.d + kSegment - 1) / kSegment);
  const int64_t seg_grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, std::min(gr.d, kSegment)));
  // Each row's first element is its shift.
  auto shift = [&](int64_t r) { return gr.d > 0 ? x[r * gr.d] : 0.0f; };
  std::vector<Sums> sums(static_cast<size_t>(gr.rows * segs));
  const RowKernels& k = row_kernels();
  parallel_range(gr.rows * segs, seg_grain, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t r = t / segs, start = (t % segs) * kSegment;
      const float* xs = x + r * gr.d + start;
      sums[t] = k.sums(xs, xs, std::min(kSegment, gr.d - start), shift(r), shift(r));
    }
  });
  for (int64_t r = 0; r < gr.rows; ++r) {
    double a = 0.0, q = 0.0;
    for (int64_t j = 0; j < segs; ++j) {
      a += sums[r * segs + j].a;
      q += sums[r * segs + j].b;
    }
    const Moments mo = moments_of(shift(r), a, q, gr.d);
    mean_out[r] = static_cast<float>(mo.mean);
    rstd_out[r] = static_cast<float>(1.0 / std::sqrt(mo.var + eps));
  }
  // y = (x - mean) (rstd w[c]) + b[c], one (n, c) plane at a time.
  const int64_t l = gr.s.l;
  parallel_range(gr.s.n * gr.s.c, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l)), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const int64_t c = plane % gr.s.c, r = plane / gr.cg;
      const float scale = w ? rstd_out[r] * w[c] : rstd_out[r];
      k.affine(x + plane * l, l, mean_out[r], scale, bias ? bias[c] : 0.0f, y + plane * l);
    }
  });
}

std::vector<ValueId> grad_group_norm(GraphBuilder& g, const GradContext& c) {
  Attrs a;
  a.set("num_groups", c.attrs.require_int("num_groups"));
  return grad_row_norm(g, c, "group_norm_backward", a);
}

// ---- group_norm_backward(dy, x, mean, rstd, weight?){num_groups, output_mask} ----

std::vector<TensorSpec> infer_group_norm_backward(const std::vector<TensorSpec>& in, const Attrs& a) {
  require_float32(in[0], "dy");
  require_channels_first(in[1], "x");
  require_same_shape(in[0], "dy", in[1], "x");
  const int64_t g = num_groups(a, in[1].shape);
  const Shape stats{in[1].shape[0], g}, c{in[1].shape[1]};
  require_param(in[2], "mean", stats, "(N, num_groups)");
  require_param(in[3], "rstd", stats, "(N, num_groups)");
  if (in.size() > 4) require_param(in[4], "weight", c, "one value per channel of x");
  return masked_grad_specs(a, in[1].shape, c);
}

// dy, x, dx: (N, C, L); mean, rstd: (N, G); weight, dweight, dbias: (C). Per
// group row, with g = dy w[c] and xhat = (x - mean) rstd, dx is as in
// layer_norm; the row sums come from per-(n, c) plane sums of dy and
// dy (x - mean), which also give dweight and dbias.
void cpu_group_norm_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                             const RunContext&) {
  const std::array<bool, 3> mask = output_mask(attrs);
  const Groups gr = groups_of(in[1].shape(), num_groups(attrs, in[1].shape()));
  const NCL& s = gr.s;
  const float* dy = in[0].data<float>();
  const float* x = in[1].data<float>();
  const float* mean = in[2].data<float>();
  const float* rstd = in[3].data<float>();
  const float* w = in.size() > 4 ? in[4].data<float>() : nullptr;
  const int64_t planes = s.n * s.c;
  std::vector<double> sdy(static_cast<size_t>(planes)), sdyx(sdy.size());
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, s.l));
  const RowKernels& k = row_kernels();
  parallel_range(planes, grain, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const Sums r = k.sums(dy + p * s.l, x + p * s.l, s.l, 0.0f, mean[p / gr.cg]);
      sdy[p] = r.a;
      sdyx[p] = r.b;
    }
  });
  if (mask[1] || mask[2]) {
    float* dw = mask[1] ? out[1].data<float>() : nullptr;
    float* db = mask[2] ? out[2].data<float>() : nullptr;
    for (int64_t c = 0; c < s.c; ++c) {
      double sw = 0.0, sb = 0.0;
      for (int64_t n = 0; n < s.n; ++n) {
        const int64_t p = n * s.c + c;
        sw += sdyx[p] * rstd[p / gr.cg];
        sb += sdy[p];
      }
      if (dw) dw[c] = static_cast<float>(sw);
      if (db) db[c] = static_cast<float>(sb);
    }
  }
  if (!mask[0]) return;
  // Per row: dx = dy w rstd + (x - mean) k2 + k3.
  std::vector<float> k2(static_cast<size_t>(gr.rows)), k3(k2.size());
  const double dd = static_cast<double>(gr.d);
  for (int64_t r = 0; r < gr.rows; ++r) {
    double sg = 0.0, sgx = 0.0;
    for (int64_t j = 0; j < gr.cg; ++j) {
      const int64_t p = r * gr.cg + j;
      const double wc = w ? w[p % s.c] : 1.0;
      sg += wc * sdy[p];
      sgx += wc * sdyx[p];
    }
    const double rs = rstd[r];
    k2[r] = static_cast<float>(-rs * rs * rs * sgx / dd);
    k3[r] = static_cast<float>(-rs * sg / dd);
  }
  float* dx = out[0].data<float>();
  parallel_range(planes, grain, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t r = p / gr.cg;
      k.affine2(dy + p * s.l, w ? rstd[r] * w[p % s.c] : rstd[r], x + p * s.l, s.l, mean[r], k2[r], k3[r],
                dx + p * s.l);
    }
  });
}

}  // namespace

TG_REGISTER_OP({"batch_norm", {"x", "running_mean", "running_var", "weight?", "bias?"}, 5, infer_batch_norm,
                cpu_batch_norm_forward, grad_batch_norm,
                "F.batch_norm over x (N, C, ...) per channel; outputs y, save_mean, save_invstd, new_running_mean, "
                "new_running_var (C each). Training (unless use_running_stats) or use_batch_stats: batch statistics, "
                "new running = (1 - momentum) running + momentum batch (unbiased var); else the running statistics, "
                "copied"});
TG_REGISTER_OP({"batch_norm_backward", {"dy", "x", "save_mean", "save_invstd", "weight?"}, 3,
                infer_batch_norm_backward, cpu_batch_norm_backward, nullptr,
                "dx, dweight, dbias (C) of batch_norm's y: through the batch statistics when batch_norm used them, "
                "else dx = dy weight invstd; output_mask [dx, dw, db] leaves others (0)"});
TG_REGISTER_OP({"batch_norm_stats_backward",
                {"x", "save_mean", "save_invstd", "dsave_mean", "dsave_invstd", "dnew_running_mean",
                 "dnew_running_var"},
                1, infer_batch_norm_stats_backward, cpu_batch_norm_stats_backward, nullptr,
                "dx reaching x (N, C, ...) through batch_norm's statistics outputs (C each) with batch statistics; "
                "zeros when the running statistics are used (attributes momentum, use_running_stats, use_batch_stats)"});
TG_REGISTER_OP({"layer_norm", {"x", "weight?", "bias?"}, 3, infer_layer_norm, cpu_layer_norm_forward,
                grad_layer_norm,
                "F.layer_norm of x (..., *normalized_shape) over its last dims: y like x, mean and rstd "
                "(the leading dims); weight, bias shaped normalized_shape"});
TG_REGISTER_OP({"layer_norm_backward", {"dy", "x", "mean", "rstd", "weight?"}, 3, infer_layer_norm_backward,
                cpu_layer_norm_backward, nullptr,
                "dx, dweight, dbias (normalized_shape) of layer_norm's y; output_mask [dx, dw, db] leaves "
                "the others (0)-shaped"});
TG_REGISTER_OP({"group_norm", {"x", "weight?", "bias?"}, 3, infer_group_norm, cpu_group_norm_forward,
                grad_group_norm,
                "F.group_norm of x (N, C, ...) over num_groups groups of channels: y like x, mean and rstd "
                "(N, num_groups); weight, bias (C)"});
TG_REGISTER_OP({"group_norm_backward", {"dy", "x", "mean", "rstd", "weight?"}, 3, infer_group_norm_backward,
                cpu_group_norm_backward, nullptr,
                "dx, dweight, dbias (C) of group_norm's y; output_mask [dx, dw, db] leaves the others (0)-shaped"});
TG_REGISTER_OP({"moments_backward", {"x", "mean", "rstd", "dmean", "drstd"}, 1, infer_moments_backward,
                cpu_moments_backward, nullptr,
                "dx reaching x through per-row mean and rstd = (var + eps)^-1/2 of x viewed as (R, D), R = "
                "mean's size: layer_norm's and group_norm's statistics outputs"});

}  // namespace tg
