// Fused attention with the semantics of torch.nn.functional.scaled_dot_product_attention:
// out = dropout(softmax(q k^T * scale + mask)) v, computed as FlashAttention(-2) does
// on a GPU, so the (Tq, Tk) score matrix is never formed. Choices where PyTorch
// leaves room or differs:
//   - causal is aligned bottom-right, as in FlashAttention 2.1+: query i sees
//     keys j <= i + (Tk - Tq). For Tq == Tk this is PyTorch's is_causal.
//   - a row whose scores are all masked gives out = 0 and lse = +inf (as
//     FlashAttention-2), and no gradient, instead of NaN.
//   - dropout keeps score (b, e, i, j) by the rule of the dropout op applied to
//     a (B, E, Tq, Tk) tensor: the SplitMix64 draw of element index
//     ((b * E + e) * Tq + i) * Tk + j in a stream keyed by (seed, step). The
//     backward recomputes it instead of storing a mask.
// The forward also returns lse, the log-sum-exp of each (undropped) score row,
// which the backward uses to recompute the probabilities tile by tile.
//
// The products call the SGEMM micro-kernel directly, single-threaded inside
// the tasks, on panels each thread packs for itself. Operands are laid out so
// that per tile at most one operand needs a gathering pack: the forward tile
// is S^T (keys x queries), which makes the online-softmax bookkeeping per query
// elementwise along tile rows and lets O^T += V^T P^T read the tile in place;
// the backward tile is S (queries x keys), which dv^T += dout^T P and
// dk^T += q^T dS read in place, leaving dS to pack for dq += dS k.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "../core/graph.h"
#include "gemm_kernels.h"
#include "kernel_util.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TG_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace tg {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;
// With few heads the backward splits each head's key blocks into ranges, for
// about kMinTasks tasks per call and at most kMaxSplits ranges per head (each
// range keeps its own dq partial). Both are constants, so the order dq is
// summed in never depends on the pool size.
constexpr int64_t kMinTasks = 64;
constexpr int64_t kMaxSplits = 16;

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// SplitMix64's output function, as in dropout.cc.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// ---- shapes, attributes and the mask ----

struct Dims {
  int64_t b, e, tq, tk, d, dv;
  int64_t heads() const { return b * e; }
};

Dims check_qkv(const TensorSpec& q, const TensorSpec& k, const TensorSpec& v) {
  require_float32(q, "q");
  require_float32(k, "k");
  require_float32(v, "v");
  const Shape &sq = q.shape, &sk = k.shape, &sv = v.shape;
  TG_CHECK(sq.size() == 4, "ERR_TG_SHAPE", "q must have shape (B, E, Tq, D), got ", shape_str(sq));
  TG_CHECK(sk.size() == 4 && sk[0] == sq[0] && sk[1] == sq[1] && sk[3] == sq[3], "ERR_TG_SHAPE", "k must have shape (",
           sq[0], ", ", sq[1], ", Tk, ", sq[3], ") to match q ", shape_str(sq), ", got ", shape_str(sk));
  TG_CHECK(sv.size() == 4 && sv[0] == sk[0] && sv[1] == sk[1] && sv[2] == sk[2], "ERR_TG_SHAPE",
           "v must have shape (", sk[0], ", ", sk[1], ", ", sk[2], ", Dv) to match k ", shape_str(sk), ", got ",
           shape_str(sv));
  return {sq[0], sq[1], sq[2], sk[2], sq[3], sv[3]};
}

// The dims of already validated tensors.
Dims dims_of(const Tensor& q, const Tensor& k, const Tensor& v) {
  return {q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3)};
}

Shape scores_shape(const Dims& d) { return {d.b, d.e, d.tq, d.tk}; }

void check_mask(const TensorSpec& m, const Dims& d) {
  TG_CHECK(m.dtype == DType::f32 || m.dtype == DType::boolean || m.dtype == DType::u8, "ERR_TG_DTYPE",
           "mask must be bool or u8 (true keeps a score) or f32 (added to the scores), got ", dtype_name(m.dtype));
  const Shape target = scores_shape(d);
  bool ok = m.shape.size() <= 4;
  for (size_t i = 0; ok && i < m.shape.size(); ++i) {
    const int64_t s = m.shape[m.shape.size() - 1 - i];
    ok = s == 1 || s == target[3 - i];
  }
  TG_CHECK(ok, "ERR_TG_SHAPE", "mask of shape ", shape_str(m.shape),
           " does not broadcast to the scores (B, E, Tq, Tk) = ", shape_str(target));
}

struct AttnAttrs {
  bool causal;
  float scale;
  double dropout_p;
  uint64_t seed;
};

AttnAttrs read_attrs(const Attrs& a, int64_t d) {
  AttnAttrs r;
  r.causal = a.get_bool("causal", false);
  const double scale =
      a.has("scale") ? a.get_float("scale", 1.0) : 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(d, 1)));
  TG_CHECK(std::isfinite(scale), "ERR_TG_ARG", "attribute 'scale' must be finite, got ", scale);
  r.scale = static_cast<float>(scale);
  r.dropout_p = a.get_float("dropout_p", 0.0);
  TG_CHECK(r.dropout_p >= 0.0 && r.dropout_p < 1.0, "ERR_TG_ARG", "attribute 'dropout_p' must be in [0, 1), got ",
           r.dropout_p);
  r.seed = static_cast<uint64_t>(a.get_int("seed", 0));
  return r;
}

// The mask as (B, E, Tq, Tk) strides in elements, 0 along broadcast dims.
struct MaskView {
  const float* add = nullptr;     // f32: added to the scaled scores
  const uint8_t* keep = nullptr;  // bool / u8: zero hides the score
  int64_t sb = 0, se = 0, sq = 0, sk = 0;
};

MaskView mask_view(const Tensor& m) {
  MaskView v;
  if (m.dtype() == DType::f32) v.add = m.data<float>();
  else v.keep = m.data<uint8_t>();
  int64_t* strides[4] = {&v.sb, &v.se, &v.sq, &v.sk};
  int64_t s = 1;
  for (int64_t i = m.dim() - 1, t = 3; i >= 0; --i, --t) {
    if (m.shape()[static_cast<size_t>(i)] != 1) *strides[t] = s;
    s *= m.shape()[static_cast<size_t>(i)];
  }
  return v;
}

// Keep decisions of the score dropout; off outside training or for p = 0.
struct Dropout {
  bool on = false;
  uint64_t stream = 0, threshold = 0;
  float scale = 1.0f;
  // Element `idx` of the (B, E, Tq, Tk) scores: kept when the top 53 bits of
  // its draw are at least p * 2^53, exactly as dropout.cc decides.
  float factor(uint64_t idx) const {
    return (mix64(stream + kGolden * (idx + 1)) >> 11) >= threshold ? scale : 0.0f;
  }
};

Dropout make_dropout(const AttnAttrs& a, const RunContext& ctx) {
  Dropout d;
  d.on = ctx.training && a.dropout_p > 0.0;
  if (!d.on) return d;
  d.stream = mix64(a.seed ^ mix64(ctx.step + kGolden));
  d.threshold = static_cast<uint64_t>(std::ldexp(a.dropout_p, 53));
  d.scale = static_cast<float>(1.0 / (1.0 - a.dropout_p));
  return d;
}

// ---- tile building blocks ----

// Tile sizes follow the micro-kernel: a block is a whole number of its row
// panels (mr) and column panels (nr), about 64-96 wide.
struct Blocking {
  const GemmKernel* kern;
  int64_t mr, nr, blk;
};

Blocking blocking() {
  const GemmKernel& k = gemm_kernel_for(simd_level());
  return {&k, k.mr, k.nr, round_up(64, std::lcm<int64_t>(k.mr, k.nr))};
}

// C (m, n) = alpha * A B + beta * C. A is packed as ceil(m / mr) panels of
// (kc, mr), panel g at a + g * a_stride; B is read in place, kc rows of
// stride ldb. The kernel reads and writes whole nr-column panels, so B and C
// must have round_up(n, nr) columns.
void panel_gemm(const GemmKernel& kern, int64_t m, int64_t n, int64_t kc, const float* a, int64_t a_stride,
                const float* b, int64_t ldb, float* c, int64_t ldc, float alpha, float beta) {
  for (int64_t j = 0; j < n; j += kern.nr) {
    for (int64_t i = 0, g = 0; i < m; i += kern.mr, ++g) {
      kern.fn(kc, a + g * a_stride, b + j, ldb, c + i * ldc + j, ldc, alpha, beta,
              static_cast<int>(std::min<int64_t>(kern.mr, m - i)));
    }
  }
}

// One full panel with the row count fixed at compile time, so the MR row
// streams are read in step and the stores are contiguous (a loop over a
// runtime row count compiles to a scalar gather with spilled pointers).
template <int MR>
void pack_full_panel(const float* src, int64_t ld, int64_t kc, float* dst) {
  const float* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = src + i * ld;
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) dst[p * MR + i] = rows[i][p];
  }
}

// A panels over `rows` rows of src (row stride ld), contracting along its
// first kc columns: dst[g][p][i] = src[g * mr + i][p], zero past the last row.
// Panel g is at dst + g * kc * mr.
void pack_rows(const float* src, int64_t ld, int64_t rows, int64_t kc, int64_t mr, float* dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += mr, dst += kc * mr) {
    const int64_t n = std::min(mr, rows - r0);
    const float* panel = src + r0 * ld;
    if (n == mr && mr == 4) {
      pack_full_panel<4>(panel, ld, kc, dst);
    } else if (n == mr && mr == 6) {
      pack_full_panel<6>(panel, ld, kc, dst);
    } else if (n == mr && mr == 12) {
      pack_full_panel<12>(panel, ld, kc, dst);
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        float* d = dst + p * mr;
        for (int64_t i = 0; i < n; ++i) d[i] = panel[i * ld + p];
        for (int64_t i = n; i < mr; ++i) d[i] = 0.0f;
      }
    }
  }
}

// A panels over the `cols` columns of a row-major (kc, cols) matrix,
// contracting along its rows: dst[g][p][i] = src[p][g * mr + i], zero past the
// last column. Panel g is at dst + g * kc * mr.
void pack_cols(const float* src, int64_t kc, int64_t cols, int64_t mr, float* dst) {
  for (int64_t c0 = 0; c0 < cols; c0 += mr, dst += kc * mr) {
    const int64_t n = std::min(mr, cols - c0);
    for (int64_t p = 0; p < kc; ++p) {
      std::memcpy(dst + p * mr, src + p * cols + c0, sizeof(float) * static_cast<size_t>(n));
      std::fill(dst + p * mr + n, dst + (p + 1) * mr, 0.0f);
    }
  }
}

// dst (cols, ld) = src^T for `rows` rows of `cols` floats, columns rows..width
// zero. Eight rows at a time, read in step, for the reason of pack_full_panel.
void transpose_rows(const float* src, int64_t rows, int64_t cols, float* dst, int64_t ld, int64_t width) {
  int64_t i0 = 0;
  for (; i0 + 8 <= rows; i0 += 8) {
    const float* r = src + i0 * cols;
    for (int64_t p = 0; p < cols; ++p) {
      for (int i = 0; i < 8; ++i) dst[p * ld + i0 + i] = r[i * cols + p];
    }
  }
  for (int64_t p = 0; p < cols; ++p) {
    float* d = dst + p * ld;
    for (int64_t i = i0; i < rows; ++i) d[i] = src[i * cols + p];
    std::fill(d + rows, d + width, 0.0f);
  }
}

// Adds the mask and hides the keys past the causal limit (query q sees key k
// when k <= q + off) in a tile of scaled scores of head (b, e) starting at key
// k0 and query q0: rows are keys and columns queries when keys_major, else
// the reverse.
void mask_tile(float* t, int64_t ld, int64_t rows, int64_t cols, bool keys_major, int64_t k0, int64_t q0, int64_t b,
               int64_t e, const MaskView& mask, bool causal, int64_t off) {
  const int64_t rs = keys_major ? mask.sk : mask.sq, cs = keys_major ? mask.sq : mask.sk;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = t + r * ld;
    if (causal && keys_major) std::fill(row, row + std::clamp<int64_t>(k0 + r - off - q0, 0, cols), -kInf);
    if (causal && !keys_major) std::fill(row + std::clamp<int64_t>(q0 + r + off + 1 - k0, 0, cols), row + cols, -kInf);
    const int64_t base = b * mask.sb + e * mask.se + q0 * mask.sq + k0 * mask.sk + r * rs;
    if (mask.add) {
      const float* m = mask.add + base;
      for (int64_t c = 0; c < cols; ++c) row[c] += m[c * cs];
    } else if (mask.keep) {
      const uint8_t* m = mask.keep + base;
      for (int64_t c = 0; c < cols; ++c) row[c] = m[c * cs] ? row[c] : -kInf;
    }
  }
}

// Whether a tile needs mask_tile: a mask, or a causal limit cutting through it.
bool tile_masked(const MaskView& mask, bool causal, int64_t k0, int64_t kv, int64_t q0, int64_t off) {
  return mask.add || mask.keep || (causal && k0 + kv - 1 > q0 + off);
}

// The passes over a tile besides the products, in AVX2 where the CPU has it:
// the exponentials, which dominate them (exp(-inf) must be exactly 0: masked
// scores and rows with no visible key rely on it), and the forward's running
// max and rescale per query.
struct RowOps {
  // p = exp(s - m); l += p, elementwise over n entries (p may alias s).
  void (*exp_sum)(const float* s, const float* m, float* p, float* l, int64_t n);
  // p = exp(s - shift)
  void (*exp_shift)(const float* s, float shift, float* p, int64_t n);
  // m[i] = max(m[i], t[r][i] for r < rows), i < n; t has row stride ld.
  void (*col_max)(const float* t, int64_t ld, int64_t rows, float* m, int64_t n);
  // t[r][i] *= a[i] for r < rows, i < n.
  void (*col_scale)(float* t, int64_t ld, int64_t rows, const float* a, int64_t n);
};

void exp_sum_scalar(const float* s, const float* m, float* p, float* l, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::exp(s[i] - m[i]);
    p[i] = v;
    l[i] += v;
  }
}

void exp_shift_scalar(const float* s, float shift, float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = std::exp(s[i] - shift);
}

// A NaN score leaves the max alone, as _mm256_max_ps does.
void col_max_scalar(const float* t, int64_t ld, int64_t rows, float* m, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n; ++i) m[i] = t[r * ld + i] > m[i] ? t[r * ld + i] : m[i];
  }
}

void col_scale_scalar(float* t, int64_t ld, int64_t rows, const float* a, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n; ++i) t[r * ld + i] *= a[i];
  }
}

#if defined(__x86_64__)
// expf as in Cephes: 2^n * e^r with |r| <= ln2 / 2 and a degree-6 polynomial
// for e^r (about 1 ulp). Below ln(FLT_MIN) the result is 0 (so exp(-inf) = 0);
// NaN stays NaN (min/max return their second operand when it is NaN).
TG_AVX2 inline __m256 exp256(__m256 x) {
  const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654f), _CMP_NLT_UQ);
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.33654f), x));
  const __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(e)), keep);
}

TG_AVX2 inline __m256i tail_mask(int64_t left) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

TG_AVX2 void exp_sum_avx2(const float* s, const float* m, float* p, float* l, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + i), _mm256_loadu_ps(m + i)));
    _mm256_storeu_ps(p + i, v);
    _mm256_storeu_ps(l + i, _mm256_add_ps(_mm256_loadu_ps(l + i), v));
  }
  if (i < n) {
    const __m256i t = tail_mask(n - i);
    const __m256 v = exp256(_mm256_sub_ps(_mm256_maskload_ps(s + i, t), _mm256_maskload_ps(m + i, t)));
    _mm256_maskstore_ps(p + i, t, v);
    _mm256_maskstore_ps(l + i, t, _mm256_add_ps(_mm256_maskload_ps(l + i, t), v));
  }
}

TG_AVX2 void exp_shift_avx2(const float* s, float shift, float* p, int64_t n) {
  const __m256 m = _mm256_set1_ps(shift);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, exp256(_mm256_sub_ps(_mm256_loadu_ps(s + i), m)));
  if (i < n) {
    const __m256i t = tail_mask(n - i);
    _mm256_maskstore_ps(p + i, t, exp256(_mm256_sub_ps(_mm256_maskload_ps(s + i, t), m)));
  }
}

// Eight columns at a time down the rows, with four accumulators so that the
// latency of max does not serialise the walk. (Masked loads and stores are
// microcoded on AMD, so the last n % 8 columns take the scalar loop.)
TG_AVX2 void col_max_avx2(const float* t, int64_t ld, int64_t rows, float* m, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 a0 = _mm256_loadu_ps(m + i), a1 = a0, a2 = a0, a3 = a0;
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      const float* p = t + r * ld + i;
      a0 = _mm256_max_ps(_mm256_loadu_ps(p), a0);
      a1 = _mm256_max_ps(_mm256_loadu_ps(p + ld), a1);
      a2 = _mm256_max_ps(_mm256_loadu_ps(p + 2 * ld), a2);
      a3 = _mm256_max_ps(_mm256_loadu_ps(p + 3 * ld), a3);
    }
    for (; r < rows; ++r) a0 = _mm256_max_ps(_mm256_loadu_ps(t + r * ld + i), a0);
    _mm256_storeu_ps(m + i, _mm256_max_ps(_mm256_max_ps(a0, a1), _mm256_max_ps(a2, a3)));
  }
  if (i < n) col_max_scalar(t + i, ld, rows, m + i, n - i);
}

TG_AVX2 void col_scale_avx2(float* t, int64_t ld, int64_t rows, const float* a, int64_t n) {
  const int64_t full = n / 8 * 8;
  for (int64_t r = 0; r < rows; ++r) {
    float* p = t + r * ld;
    for (int64_t i = 0; i < full; i += 8) {
      _mm256_storeu_ps(p + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(a + i)));
    }
  }
  if (full < n) col_scale_scalar(t + full, ld, rows, a + full, n - full);
}
#endif

RowOps row_ops() {
#if defined(__x86_64__)
  if (simd_level() >= SimdLevel::avx2) return {exp_sum_avx2, exp_shift_avx2, col_max_avx2, col_scale_avx2};
#endif
  return {exp_sum_scalar, exp_shift_scalar, col_max_scalar, col_scale_scalar};
}

// Per-thread scratch, grown on demand and reused across tasks and calls.
float* grow(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

// ---- attention(q, k, v, mask?) -> (out, lse) ----

std::vector<TensorSpec> infer_attention(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Dims d = check_qkv(in[0], in[1], in[2]);
  if (in.size() > 3) check_mask(in[3], d);
  read_attrs(attrs, d.d);
  return {TensorSpec{{d.b, d.e, d.tq, d.dv}, DType::f32}, TensorSpec{{d.b, d.e, d.tq}, DType::f32}};
}

// Each task takes a head and a run of its query blocks and packs the head's k
// and v^T once. Every query row is computed the same way whatever the split,
// so the split may follow the pool size.
// q: (B, E, Tq, D), k: (B, E, Tk, D), v: (B, E, Tk, Dv), mask: broadcast to (B, E, Tq, Tk)
// out: (B, E, Tq, Dv), lse: (B, E, Tq)
void cpu_attention_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                           const RunContext& ctx) {
  const Dims d = dims_of(in[0], in[1], in[2]);
  const AttnAttrs at = read_attrs(attrs, d.d);
  const MaskView mask = in.size() > 3 ? mask_view(in[3]) : MaskView{};
  const Dropout drop = make_dropout(at, ctx);
  const Blocking bl = blocking();
  const GemmKernel& kern = *bl.kern;
  const RowOps ops = row_ops();
  const int64_t heads = d.heads(), mr = bl.mr, nr = bl.nr, blk = bl.blk;
  if (heads * d.tq == 0) return;
  const float *pq = in[0].data<float>(), *pk = in[1].data<float>(), *pv = in[2].data<float>();
  float *po = out[0].data<float>(), *plse = out[1].data<float>();
  const int64_t nqb = (d.tq + blk - 1) / blk, off = d.tk - d.tq;
  const int64_t runs = std::clamp<int64_t>((4 * thread_pool().size() + heads - 1) / heads, 1, nqb);

  thread_pool().parallel_for(heads * runs, [&](int64_t task) {
    const int64_t h = task / runs, r = task % runs, b = h / d.e, e = h % d.e;
    thread_local std::vector<float> kv_b, tile_b;
    // k as A panels over keys (kc = D) for S^T = k q^T; v^T as A panels over
    // Dv (kc = Tk, panel stride Tk * mr) for O^T += v^T P^T.
    const int64_t kp_size = round_up(d.tk, mr) * d.d;
    float* kp = grow(kv_b, kp_size + round_up(d.dv, mr) * d.tk);
    float* vt = kp + kp_size;
    pack_rows(pk + h * d.tk * d.d, d.d, d.tk, d.d, mr, kp);
    pack_cols(pv + h * d.tk * d.dv, d.tk, d.dv, mr, vt);
    float* qt = grow(tile_b, (d.d + blk + d.dv + 4) * blk);  // (D, blk): the block's queries as columns
    float* st = qt + d.d * blk;                              // (keys, queries): scores, then probabilities
    float* ot = st + blk * blk;                              // (Dv, queries): unnormalised output
    float *m = ot + d.dv * blk, *l = m + blk, *mu = l + blk, *alpha = mu + blk;

    for (int64_t qb = nqb * r / runs; qb < nqb * (r + 1) / runs; ++qb) {
      const int64_t q0 = qb * blk, nq = std::min(blk, d.tq - q0), ncol = round_up(nq, nr);
      transpose_rows(pq + (h * d.tq + q0) * d.d, nq, d.d, qt, blk, ncol);
      std::fill(m, m + ncol, -kInf);
      std::fill(l, l + ncol, 0.0f);
      std::fill(ot, ot + d.dv * blk, 0.0f);
      // Keys past the causal limit of the block's last query are hidden from all of it.
      const int64_t kend = at.causal ? std::clamp<int64_t>(q0 + nq + off, 0, d.tk) : d.tk;
      for (int64_t k0 = 0; k0 < kend; k0 += blk) {
        const int64_t kv = std::min(blk, kend - k0);
        panel_gemm(kern, kv, nq, d.d, kp + k0 * d.d, d.d * mr, qt, blk, st, blk, at.scale, 0.0f);
        if (tile_masked(mask, at.causal, k0, kv, q0, off)) {
          mask_tile(st, blk, kv, nq, true, k0, q0, b, e, mask, at.causal, off);
        }
        // Online softmax: the running max m grows to include this block; the
        // sum l and the output rescale by exp(old max - new max). mu is the
        // shift used, 0 while a query has seen no visible key, so that
        // exp(-inf - mu) = 0. Padding columns past nq hold finite scores of
        // zero queries and are never read back.
        std::copy(m, m + ncol, mu);
        ops.col_max(st, blk, kv, mu, ncol);
        for (int64_t i = 0; i < ncol; ++i) {
          const float mx = mu[i];
          mu[i] = mx == -kInf ? 0.0f : mx;
          alpha[i] = std::exp(m[i] - mu[i]);
          l[i] *= alpha[i];
          m[i] = mx;
        }
        for (int64_t j = 0; j < kv; ++j) ops.exp_sum(st + j * blk, mu, st + j * blk, l, ncol);
        if (drop.on) {
          for (int64_t j = 0; j < kv; ++j) {
            float* p = st + j * blk;
            const uint64_t base = static_cast<uint64_t>((h * d.tq + q0) * d.tk + k0 + j);
            for (int64_t i = 0; i < nq; ++i) p[i] *= drop.factor(base + static_cast<uint64_t>(i * d.tk));
          }
        }
        ops.col_scale(ot, blk, d.dv, alpha, ncol);
        panel_gemm(kern, d.dv, nq, kv, vt + k0 * mr, d.tk * mr, st, blk, ot, blk, 1.0f, 1.0f);
      }
      for (int64_t i = 0; i < nq; ++i) {
        const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
        float* o = po + (h * d.tq + q0 + i) * d.dv;
        for (int64_t c = 0; c < d.dv; ++c) o[c] = ot[c * blk + i] * inv;
        plse[h * d.tq + q0 + i] = l[i] > 0.0f ? m[i] + std::log(l[i]) : kInf;
      }
    }
  });
}

// ---- attention_backward(dout, q, k, v, out, lse, mask?, dlse?) -> (dq, dk, dv) ----

std::vector<TensorSpec> infer_attention_backward(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  const Dims d = check_qkv(in[1], in[2], in[3]);
  const Shape out_shape{d.b, d.e, d.tq, d.dv}, lse_shape{d.b, d.e, d.tq};
  require_float32(in[0], "dout");
  require_float32(in[4], "out");
  require_float32(in[5], "lse");
  TG_CHECK(in[0].shape == out_shape, "ERR_TG_SHAPE", "dout must have the output's shape ", shape_str(out_shape),
           ", got ", shape_str(in[0].shape));
  TG_CHECK(in[4].shape == out_shape, "ERR_TG_SHAPE", "out must have shape ", shape_str(out_shape), ", got ",
           shape_str(in[4].shape));
  TG_CHECK(in[5].shape == lse_shape, "ERR_TG_SHAPE", "lse must have shape ", shape_str(lse_shape), ", got ",
           shape_str(in[5].shape));
  if (in.size() > 6) check_mask(in[6], d);
  if (in.size() > 7) {
    require_float32(in[7], "dlse");
    TG_CHECK(in[7].shape == lse_shape, "ERR_TG_SHAPE", "dlse must have shape ", shape_str(lse_shape), ", got ",
             shape_str(in[7].shape));
  }
  read_attrs(attrs, d.d);
  return {in[1], in[2], in[3]};
}

// FlashAttention-2's backward: per tile, P = exp(S - lse) from the recomputed
// scores, dP = dout v^T, dS = P * (dP - Delta) with Delta = rowsum(dout * out)
// - dlse (the lse gradient adds dlse * P to dS), then dv += P^T dout,
// dk += scale dS^T q, dq += scale dS k. A task owns a range of key blocks of
// one head, so its dk and dv rows are its own; dq is summed over the ranges
// in range order, and the ranges depend on the shapes only.
// dout, out: (B, E, Tq, Dv), q: (B, E, Tq, D), k: (B, E, Tk, D), v: (B, E, Tk, Dv),
// lse, dlse: (B, E, Tq), mask: broadcast to (B, E, Tq, Tk); dq, dk, dv shaped as q, k, v
void cpu_attention_backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                            const RunContext& ctx) {
  const Dims d = dims_of(in[1], in[2], in[3]);
  const AttnAttrs at = read_attrs(attrs, d.d);
  const MaskView mask = in.size() > 6 ? mask_view(in[6]) : MaskView{};
  const float* pdlse = in.size() > 7 ? in[7].data<float>() : nullptr;
  const Dropout drop = make_dropout(at, ctx);
  const Blocking bl = blocking();
  const GemmKernel& kern = *bl.kern;
  const RowOps ops = row_ops();
  const int64_t heads = d.heads(), mr = bl.mr, nr = bl.nr, blk = bl.blk;
  if (heads == 0) return;
  const float *pdo = in[0].data<float>(), *pq = in[1].data<float>(), *pk = in[2].data<float>();
  const float *pv = in[3].data<float>(), *po = in[4].data<float>(), *plse = in[5].data<float>();
  float *pdq = out[0].data<float>(), *pdk = out[1].data<float>(), *pdv = out[2].data<float>();

  const int64_t nkb = (d.tk + blk - 1) / blk, off = d.tk - d.tq;
  const int64_t splits = std::max<int64_t>(1, std::min({nkb, kMaxSplits, (kMinTasks + heads - 1) / heads}));
  const int64_t dp = round_up(d.d, nr);
  // One range per head and whole nr panels: dq accumulates in place.
  const bool dq_direct = splits == 1 && dp == d.d;
  const Tensor dq_parts = dq_direct ? Tensor() : Tensor::empty({heads * splits * d.tq * dp}, DType::f32, Device{});

  thread_pool().parallel_for(heads * splits, [&](int64_t task) {
    const int64_t h = task / splits, s = task % splits, b = h / d.e, e = h % d.e;
    const float *q = pq + h * d.tq * d.d, *dout = pdo + h * d.tq * d.dv, *o = po + h * d.tq * d.dv;
    const float *k = pk + h * d.tk * d.d, *v = pv + h * d.tk * d.dv;
    float* dqa = dq_direct ? pdq + h * d.tq * d.d : dq_parts.data<float>() + task * d.tq * dp;
    std::fill(dqa, dqa + d.tq * dp, 0.0f);

    thread_local std::vector<float> head_b, blk_b, tile_b;
    // The head's query side: q and dout as A panels over queries (for S and
    // dP), q^T and dout^T as A panels over D and Dv (kc = Tq, for dk^T and
    // dv^T), and per query lse and Delta.
    const int64_t tqm = round_up(d.tq, mr), dm = round_up(d.d, mr), dvm = round_up(d.dv, mr);
    float* qp = grow(head_b, tqm * (d.d + d.dv) + (dm + dvm + 2) * d.tq);
    float* qtp = qp + tqm * d.d;
    float* dop = qtp + dm * d.tq;
    float* dotp = dop + tqm * d.dv;
    float* lse = dotp + dvm * d.tq;
    float* delta = lse + d.tq;
    pack_rows(q, d.d, d.tq, d.d, mr, qp);
    pack_cols(q, d.tq, d.d, mr, qtp);
    pack_rows(dout, d.dv, d.tq, d.dv, mr, dop);
    pack_cols(dout, d.tq, d.dv, mr, dotp);
    for (int64_t i = 0; i < d.tq; ++i) {
      double acc = 0.0;
      for (int64_t c = 0; c < d.dv; ++c) acc += static_cast<double>(dout[i * d.dv + c]) * o[i * d.dv + c];
      lse[i] = plse[h * d.tq + i];
      delta[i] = static_cast<float>(acc - (pdlse ? pdlse[h * d.tq + i] : 0.0f));
    }

    // Per key block: k^T and v^T as B operands (columns past the block zero),
    // k rows padded to whole nr panels for dq, and the dk^T / dv^T accumulators.
    const int64_t kpad = dp != d.d ? blk * dp : 0;
    float* kt = grow(blk_b, 2 * (d.d + d.dv) * blk + kpad);
    float* vt = kt + d.d * blk;
    float* dkt = vt + d.dv * blk;
    float* dvt = dkt + d.d * blk;
    float* kr_pad = dvt + d.dv * blk;
    float* st = grow(tile_b, 4 * blk * blk);  // (queries, keys): scores, then P
    float* dpt = st + blk * blk;               // dP, then dS
    float* pd = dpt + blk * blk;               // P * dropout factors
    float* ak = pd + blk * blk;                // dS as A panels over queries
    for (int64_t kb = nkb * s / splits; kb < nkb * (s + 1) / splits; ++kb) {
      const int64_t k0 = kb * blk, kv = std::min(blk, d.tk - k0), ncol = round_up(kv, nr);
      transpose_rows(k + k0 * d.d, kv, d.d, kt, blk, ncol);
      transpose_rows(v + k0 * d.dv, kv, d.dv, vt, blk, ncol);
      const float* kr = k + k0 * d.d;
      if (kpad) {
        for (int64_t j = 0; j < kv; ++j) {
          std::copy(kr + j * d.d, kr + (j + 1) * d.d, kr_pad + j * dp);
          std::fill(kr_pad + j * dp + d.d, kr_pad + (j + 1) * dp, 0.0f);
        }
        kr = kr_pad;
      }
      std::fill(dkt, dkt + (d.d + d.dv) * blk, 0.0f);  // dkt and dvt
      // Queries before k0 - off see none of this block's keys.
      const int64_t qbegin = at.causal ? std::max<int64_t>(0, k0 - off) / blk * blk : 0;
      for (int64_t q0 = qbegin; q0 < d.tq; q0 += blk) {
        const int64_t nq = std::min(blk, d.tq - q0);
        panel_gemm(kern, nq, kv, d.d, qp + q0 * d.d, d.d * mr, kt, blk, st, blk, at.scale, 0.0f);
        if (tile_masked(mask, at.causal, k0, kv, q0, off)) {
          mask_tile(st, blk, nq, kv, false, k0, q0, b, e, mask, at.causal, off);
        }
        for (int64_t i = 0; i < nq; ++i) ops.exp_shift(st + i * blk, lse[q0 + i], st + i * blk, kv);
        panel_gemm(kern, nq, kv, d.dv, dop + q0 * d.dv, d.dv * mr, vt, blk, dpt, blk, 1.0f, 0.0f);
        // With dropout factors Z: dv takes P * Z, and dP (of P) is dP (of P * Z) * Z.
        if (drop.on) {
          for (int64_t i = 0; i < nq; ++i) {
            const uint64_t base = static_cast<uint64_t>((h * d.tq + q0 + i) * d.tk + k0);
            for (int64_t j = 0; j < ncol; ++j) {
              const float z = j < kv ? drop.factor(base + static_cast<uint64_t>(j)) : 0.0f;
              pd[i * blk + j] = st[i * blk + j] * z;
              dpt[i * blk + j] *= z;
            }
          }
        }
        // Columns kv..ncol hold P = 0 (zero keys, never exponentiated) and dP = 0.
        for (int64_t i = 0; i < nq; ++i) {
          const float* p = st + i * blk;
          float* ds = dpt + i * blk;
          const float dl = delta[q0 + i];
          for (int64_t j = 0; j < ncol; ++j) ds[j] = p[j] * (ds[j] - dl);
        }
        panel_gemm(kern, d.dv, kv, nq, dotp + q0 * mr, d.tq * mr, drop.on ? pd : st, blk, dvt, blk, 1.0f, 1.0f);
        panel_gemm(kern, d.d, kv, nq, qtp + q0 * mr, d.tq * mr, dpt, blk, dkt, blk, at.scale, 1.0f);
        pack_rows(dpt, blk, nq, kv, mr, ak);
        panel_gemm(kern, nq, d.d, kv, ak, kv * mr, kr, kpad ? dp : d.d, dqa + q0 * dp, dp, at.scale, 1.0f);
      }
      for (int64_t j = 0; j < kv; ++j) {
        float* dkr = pdk + (h * d.tk + k0 + j) * d.d;
        float* dvr = pdv + (h * d.tk + k0 + j) * d.dv;
        for (int64_t c = 0; c < d.d; ++c) dkr[c] = dkt[c * blk + j];
        for (int64_t c = 0; c < d.dv; ++c) dvr[c] = dvt[c * blk + j];
      }
    }
  });

  if (dq_direct) return;
  // dq = the ranges' partial sums, added in range order.
  const float* parts = dq_parts.data<float>();
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, d.d * splits));
  parallel_range(heads * d.tq, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t h = r / d.tq, i = r % d.tq;
      float* dst = pdq + r * d.d;
      std::fill(dst, dst + d.d, 0.0f);
      for (int64_t s = 0; s < splits; ++s) {
        const float* src = parts + ((h * splits + s) * d.tq + i) * dp;
        for (int64_t c = 0; c < d.d; ++c) dst[c] += src[c];
      }
    }
  });
}

ValueId zeros_like(GraphBuilder& g, ValueId v) {
  Attrs a;
  a.set("value", 0.0);
  return g.add1("scale", {g.add1("ones_like", {v})}, a);
}

// attention_backward with the forward's outputs; the mask gets no gradient.
std::vector<ValueId> grad_attention(GraphBuilder& g, const GradContext& c) {
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);
  const ValueId dout = c.grad_outputs[0], dlse = c.grad_outputs[1];
  if (!(c.needs_grad[0] || c.needs_grad[1] || c.needs_grad[2]) || (dout == kNoValue && dlse == kNoValue)) return grads;
  std::vector<ValueId> ins{dout != kNoValue ? dout : zeros_like(g, c.outputs[0]),
                           c.inputs[0], c.inputs[1], c.inputs[2], c.outputs[0], c.outputs[1]};
  if (c.inputs.size() > 3) ins.push_back(c.inputs[3]);
  if (dlse != kNoValue) {
    if (c.inputs.size() == 3) {
      // dlse is the input after the mask: a zero additive mask (B, E, Tq, 1) holds its place.
      Shape shape = g.spec(dlse).shape;
      shape.push_back(1);
      Attrs r;
      r.set("shape", std::vector<int64_t>(shape));
      ins.push_back(g.add1("reshape", {zeros_like(g, dlse)}, r));
    }
    ins.push_back(dlse);
  }
  const std::vector<ValueId> d = g.add("attention_backward", ins, c.attrs);
  for (size_t i = 0; i < 3; ++i) {
    if (c.needs_grad[i]) grads[i] = d[i];
  }
  return grads;
}

}  // namespace

TG_REGISTER_OP({"attention", {"q", "k", "v", "mask?"}, 2, infer_attention, cpu_attention_forward, grad_attention,
                "(out, lse): softmax(q k^T * scale + mask) v as scaled_dot_product_attention, q (B, E, Tq, D), "
                "k (B, E, Tk, D), v (B, E, Tk, Dv) -> out (B, E, Tq, Dv), lse (B, E, Tq); mask bool/u8 (true keeps) "
                "or f32 (added), broadcast to (B, E, Tq, Tk). Attrs causal (bottom-right), scale (1/sqrt(D)), "
                "dropout_p, seed"});
TG_REGISTER_OP({"attention_backward", {"dout", "q", "k", "v", "out", "lse", "mask?", "dlse?"}, 3,
                infer_attention_backward, cpu_attention_backward, nullptr,
                "(dq, dk, dv): the gradient of attention from dout, the forward's inputs and outputs (out, lse) and "
                "optionally the gradient dlse of lse; attributes as in attention"});

}  // namespace tg
