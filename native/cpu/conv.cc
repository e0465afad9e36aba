// conv2d with torch.nn.functional.conv2d semantics (stride, padding as an int,
// [ph, pw], [top, bottom, left, right] or 'same' / 'valid', dilation, groups),
// its input and weight gradients, and the kernels shared with
// conv_transpose2d (see im2col.h).
//
// The GEMM paths drive the packed SGEMM micro-kernels (gemm_kernels.h)
// directly instead of materialising a column matrix: each task packs its
// tile of the im2col matrix straight into the (kc, nr) panels the kernel
// reads, so the columns stay in L2 and a 1x1 conv packs x as is, while the
// weights are packed once per call and shared. Small feature maps put several
// images in one tile. Every task owns a disjoint block of the result and sums
// in an order fixed by the shape, so results do not depend on the thread
// count (the weight gradient sums chunks of positions separately, then adds
// them in chunk order). Depthwise convs (one input channel per group) use
// direct loops: their GEMMs would have a single row.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <variant>

#include "../core/allocator.h"
#include "../core/graph.h"
#include "conv_winograd.h"
#include "gemm_kernels.h"
#include "im2col.h"
#include "kernel_util.h"

namespace tg {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

std::string list_str(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

// ---- attributes ----

// A per-dimension attribute: an int or [v] for both dims, or [vh, vw].
std::vector<int64_t> pair_attr(const Attrs& a, const char* name, int64_t fallback, int64_t min) {
  const std::vector<int64_t> v = a.get_ints(name, {fallback});
  TG_CHECK(v.size() == 1 || v.size() == 2, "ERR_TG_ARG", "op '", a.op(), "': attribute '", name,
           "' must be an integer or 2 integers, got ", list_str(v));
  TG_CHECK(v[0] >= min && v.back() >= min, "ERR_TG_ARG", "op '", a.op(), "': attribute '", name, "' must be >= ",
           min, ", got ", list_str(v));
  return {v[0], v.back()};
}

int64_t groups_attr(const Attrs& a) {
  const int64_t groups = a.get_int("groups", 1);
  TG_CHECK(groups >= 1, "ERR_TG_ARG", "op '", a.op(), "': attribute 'groups' must be >= 1, got ", groups);
  return groups;
}

bool padding_is_string(const Attrs& a) {
  return a.has("padding") && std::holds_alternative<std::string>(a.values().at("padding"));
}

void check_4d(const Shape& s, const char* what, const char* dims) {
  TG_CHECK(s.size() == 4, "ERR_TG_SHAPE", what, " must have shape ", dims, ", got ", shape_str(s));
  for (int64_t d : s) TG_CHECK(d >= 0, "ERR_TG_SHAPE", what, " has a negative dim: ", shape_str(s));
}

void check_kernel(const Shape& w, const char* what) {
  TG_CHECK(w[2] >= 1 && w[3] >= 1, "ERR_TG_SHAPE", what, " ", shape_str(w), " has an empty kernel");
}

// ---- packing for the GEMM micro-kernel ----

// A per-thread buffer, grown on demand and aligned for the micro-kernel.
template <typename T>
class Scratch {
 public:
  T* get(int64_t count) {
    const size_t need = static_cast<size_t>(std::max<int64_t>(count, 1));
    if (need > cap_) {
      const size_t bytes = (need * sizeof(T) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
      T* p = static_cast<T*>(std::aligned_alloc(kHostAlignment, bytes));
      TG_CHECK(p != nullptr, "ERR_TG_OOM", "conv: out of memory for a ", bytes, "-byte work buffer");
      buf_.reset(p);
      cap_ = need;
    }
    return buf_.get();
  }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> buf_;
  size_t cap_ = 0;
};

// One full panel from row-major rows: k outer and the MR rows inner, so the
// stores are contiguous and each row is read as a sequential stream.
template <int MR>
void pack_a_rows(const float* a, int64_t rs, int64_t kc, float* dst) {
  const float* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = a + i * rs;
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) dst[p * MR + i] = rows[i][p];
  }
}

// pack_a for contiguous columns (a[i + p * cs]), a few columns at a time so
// that both the column reads and the panel writes stream (columns a power of
// two apart map to few cache sets, so only a few may be in flight).
template <int MR>
void pack_a_cols(const float* a, int64_t cs, int64_t m, int64_t kc, int64_t panel_floats, float* dst) {
  constexpr int64_t kCols = 8;
  const int64_t full = m / MR;
  const int tail = static_cast<int>(m - full * MR);
  for (int64_t p0 = 0; p0 < kc; p0 += kCols) {
    const int64_t pe = std::min(kc, p0 + kCols);
    for (int64_t b = 0; b < full; ++b) {
      float* d = dst + b * panel_floats;
      for (int64_t p = p0; p < pe; ++p) {
        for (int i = 0; i < MR; ++i) d[p * MR + i] = a[p * cs + b * MR + i];
      }
    }
    if (tail) {
      float* d = dst + full * panel_floats;
      for (int64_t p = p0; p < pe; ++p) {
        for (int i = 0; i < tail; ++i) d[p * MR + i] = a[p * cs + full * MR + i];
        for (int i = tail; i < MR; ++i) d[p * MR + i] = 0.0f;
      }
    }
  }
}

// ceil(m / mr) panels of (kc, mr) at `panel_floats` apart; element (i, p) is
// a[i * rs + p * cs]; rows past m are zero. A block of kc columns may be
// packed in pieces by offsetting dst by p0 * mr.
void pack_a(const float* a, int64_t rs, int64_t cs, int64_t m, int64_t kc, int mr, int64_t panel_floats,
            float* dst) {
  if (rs == 1 && cs != 1 && mr == 6) return pack_a_cols<6>(a, cs, m, kc, panel_floats, dst);
  if (rs == 1 && cs != 1 && mr == 12) return pack_a_cols<12>(a, cs, m, kc, panel_floats, dst);
  for (int64_t i0 = 0; i0 < m; i0 += mr, dst += panel_floats) {
    const int rows = static_cast<int>(std::min<int64_t>(mr, m - i0));
    const float* src = a + i0 * rs;
    if (cs == 1 && rows == 6 && mr == 6) {
      pack_a_rows<6>(src, rs, kc, dst);
    } else if (cs == 1 && rows == 12 && mr == 12) {
      pack_a_rows<12>(src, rs, kc, dst);
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        float* d = dst + p * mr;
        for (int i = 0; i < rows; ++i) d[i] = src[i * rs + p * cs];
        for (int i = rows; i < mr; ++i) d[i] = 0.0f;
      }
    }
  }
}

// A GEMM's A operand packed once per call and shared by the tasks: `slots`
// row blocks of up to `rows` rows each, every one packed for all k blocks of
// depth kcb over [0, depth). Slot s's k block at pc starts at
// panels(s) + pc * round_up(rows, mr).
class PackedA {
 public:
  // fill(slot, pc, kc, dst) packs k block pc of a slot with pack_a.
  template <typename Fill>
  PackedA(int64_t slots, int64_t rows, int64_t depth, int64_t kcb, int mr, Fill&& fill)
      : mpad_(round_up(rows, mr)),
        slot_floats_(mpad_ * depth),
        data_(new float[std::max<int64_t>(1, slots * slot_floats_)]) {
    const int64_t kblocks = ceil_div(depth, kcb);
    thread_pool().parallel_for(slots * kblocks, [&](int64_t item) {
      const int64_t s = item / kblocks, pc = item % kblocks * kcb;
      fill(s, pc, std::min(kcb, depth - pc), panels(s) + pc * mpad_);
    });
  }
  float* panels(int64_t slot) const { return data_.get() + slot * slot_floats_; }
  int64_t mpad() const { return mpad_; }

 private:
  int64_t mpad_, slot_floats_;
  std::unique_ptr<float[]> data_;
};

// Row p of a packed B block: dst = pb + p * nr; src (ncols) goes into the
// (kc, nr) panels, the last one zero padded.
void pack_b_row(const float* src, int64_t ncols, int nr, int64_t kc, float* dst) {
  const int64_t full = ncols / nr;
  const int64_t panel = kc * nr;
  if (nr == 16) {  // fixed-size copies become a few vector moves
    for (int64_t j = 0; j < full; ++j) std::memcpy(dst + j * panel, src + j * 16, 16 * sizeof(float));
  } else {
    for (int64_t j = 0; j < full; ++j) std::memcpy(dst + j * panel, src + j * nr, nr * sizeof(float));
  }
  const int tail = static_cast<int>(ncols - full * nr);
  if (tail) {
    float* d = dst + full * panel;
    for (int j = 0; j < tail; ++j) d[j] = src[full * nr + j];
    for (int j = tail; j < nr; ++j) d[j] = 0.0f;
  }
}

// C (m, ncols) = A B + beta C for one k block of depth kc, single-threaded:
// pa holds ceil(m / mr) panels of (kc, mr), pb ceil(ncols / nr) of (kc, nr).
// Rows go in blocks of mc so each A block stays in L2 while B panels cycle.
void gemm_block(const GemmKernel& kern, int64_t kc, const float* pa, const float* pb, int64_t m, int64_t ncols,
                float* c, int64_t ldc, float beta) {
  alignas(64) float edge[32 * 32];  // one mr x nr tile for a ragged last panel (mr, nr <= 32)
  const int mr = kern.mr, nr = kern.nr;
  for (int64_t ic = 0; ic < m; ic += kern.mc) {
    const int64_t ie = std::min(m, ic + kern.mc);
    for (int64_t jr = 0; jr < ncols; jr += nr) {
      const int64_t cols = std::min<int64_t>(nr, ncols - jr);
      const float* bp = pb + jr * kc;
      for (int64_t ir = ic; ir < ie; ir += mr) {
        const int rows = static_cast<int>(std::min<int64_t>(mr, ie - ir));
        const float* ap = pa + ir * kc;
        float* cp = c + ir * ldc + jr;
        if (cols == nr) {
          kern.fn(kc, ap, bp, nr, cp, ldc, 1.0f, beta, rows);
          continue;
        }
        kern.fn(kc, ap, bp, nr, edge, nr, 1.0f, 0.0f, rows);
        for (int i = 0; i < rows; ++i) {
          for (int64_t j = 0; j < cols; ++j) {
            float& out = cp[i * ldc + j];
            out = beta == 0.0f ? edge[i * nr + j] : edge[i * nr + j] + beta * out;
          }
        }
      }
    }
  }
}

// Calls fn(n, j, len, offset) for the pieces of the flat positions
// [q0, q0 + len) (position q is (image q / hw, j = q % hw)) that lie within one image.
template <typename Fn>
void for_segments(int64_t q0, int64_t len, int64_t hw, Fn&& fn) {
  for (int64_t q = q0; q < q0 + len;) {
    const int64_t n = q / hw, j = q % hw, piece = std::min(hw - j, q0 + len - q);
    fn(n, j, piece, q - q0);
    q += piece;
  }
}

// ---- im2col / col2im, one row of the column matrix at a time ----
// Row (c, ky, kx) of an image's column matrix holds, for each output position
// j = oy * Wo + ox, the input value that tap (ky, kx) of channel c reads there.

// Output columns [lo, hi) whose input column ox * sw + off lies inside [0, W).
struct ColRange {
  int64_t lo, hi, off;
};

ColRange col_range(const ConvGeom& g, int64_t kx) {
  const int64_t off = kx * g.dw - g.pl;
  const int64_t lo = off >= 0 ? 0 : ceil_div(-off, g.sw);
  const int64_t last = g.w - 1 - off;  // the largest ox * sw that stays inside
  const int64_t hi = std::min(g.wo, last < 0 ? 0 : last / g.sw + 1);
  return {std::min(lo, hi), hi, off};
}

// dst[0, len) = row (ky, kx) of the column matrix of `plane` (H, W) at positions [j0, j0 + len).
void im2col_row(const ConvGeom& g, const float* plane, int64_t ky, int64_t kx, int64_t j0, int64_t len,
                float* dst) {
  const ColRange cr = col_range(g, kx);
  int64_t oy = j0 / g.wo, ox = j0 % g.wo;
  while (len > 0) {
    const int64_t end = std::min(g.wo, ox + len);
    const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
    if (iy < 0 || iy >= g.h) {
      std::fill(dst, dst + (end - ox), 0.0f);
    } else {
      // Positions [ox, a) and [b, end) read the padding.
      const int64_t a = std::clamp(cr.lo, ox, end), b = std::clamp(cr.hi, a, end);
      const float* src = plane + iy * g.w;
      std::fill(dst, dst + (a - ox), 0.0f);
      float* d = dst + (a - ox);
      if (g.sw == 1 && b > a) {
        std::memcpy(d, src + a + cr.off, (b - a) * sizeof(float));
      } else {
        for (int64_t i = a; i < b; ++i) d[i - a] = src[i * g.sw + cr.off];
      }
      std::fill(d + (b - a), dst + (end - ox), 0.0f);
    }
    dst += end - ox;
    len -= end - ox;
    ox = 0;
    ++oy;
  }
}

// The adjoint of im2col_row: adds src[0, len) into `plane` where that row reads.
void col2im_row(const ConvGeom& g, const float* src, int64_t ky, int64_t kx, int64_t j0, int64_t len, float* plane) {
  const ColRange cr = col_range(g, kx);
  int64_t oy = j0 / g.wo, ox = j0 % g.wo;
  while (len > 0) {
    const int64_t end = std::min(g.wo, ox + len);
    const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
    if (iy >= 0 && iy < g.h) {
      const int64_t a = std::clamp(cr.lo, ox, end), b = std::clamp(cr.hi, a, end);
      float* row = plane + iy * g.w;
      if (g.sw == 1) {
        for (int64_t i = a; i < b; ++i) row[i + cr.off] += src[i - ox];
      } else {
        for (int64_t i = a; i < b; ++i) row[i * g.sw + cr.off] += src[i - ox];
      }
    }
    src += end - ox;
    len -= end - ox;
    ox = 0;
    ++oy;
  }
}

// Small output maps gather their im2col rows through offsets shared by every
// channel instead: copying row runs costs a few calls per output row, which
// dominates when rows are a few pixels long.
bool gathers(const ConvGeom& g) { return g.wo < 32; }

// off (kH kW, len): where tap t = ky kW + kx of flat position q0 + j reads,
// relative to channel 0 of image 0 of the positions (images C H W apart), or
// -1 in the padding.
void tap_offsets(const ConvGeom& g, int64_t q0, int64_t len, int64_t* off) {
  const int64_t hw = g.ho * g.wo, image = g.c * g.h * g.w;
  for (int64_t j = 0; j < len; ++j) {
    const int64_t q = q0 + j, rest = q % hw;
    const int64_t iy0 = rest / g.wo * g.sh - g.pt, ix0 = rest % g.wo * g.sw - g.pl, base = q / hw * image;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t iy = iy0 + ky * g.dh;
      const bool row_in = iy >= 0 && iy < g.h;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ix0 + kx * g.dw;
        off[(ky * g.kw + kx) * len + j] = row_in && ix >= 0 && ix < g.w ? base + iy * g.w + ix : -1;
      }
    }
  }
}

// A 1x1, stride-1, unpadded conv: the column matrix is the image itself.
bool is_pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.ho == g.h && g.wo == g.w;
}

// One input channel per group: direct loops instead of one-row GEMMs.
bool is_depthwise(const ConvGeom& g) { return g.groups > 1 && g.cg() == 1; }

// Tasks to aim for, so that uneven task costs still balance across threads
// (splitting work further only costs re-packing on a single thread).
int64_t target_tasks() {
  const int64_t threads = thread_pool().size();
  return threads == 1 ? 1 : 4 * threads;
}

// Output positions per GEMM column tile: a (kc, tile) block of packed columns
// stays within L2.
constexpr int64_t kTileCols = 256;
// Rows of the column matrix per input-gradient task (whole channels).
constexpr int64_t kTileRows = 256;
// Columns of the weight gradient per task: a (mc, 384) block of dW stays in L2.
constexpr int64_t kWeightCols = 384;

// GEMM columns run over the output positions of `images` consecutive images
// at once (a fixed function of the shape), so that small feature maps still
// give full-width tiles and the packed weights are reused across images.
struct ColumnTiles {
  int64_t images;  // per image group
  int64_t groups;  // image groups
  int64_t tile;    // columns per tile, a multiple of nr
  int64_t tiles;   // per image group
};

ColumnTiles column_tiles(const ConvGeom& g, int nr) {
  const int64_t hw = g.ho * g.wo;
  ColumnTiles t;
  t.images = std::clamp<int64_t>(kTileCols / hw, 1, g.n);
  t.groups = ceil_div(g.n, t.images);
  const int64_t span = t.images * hw;
  const int64_t tiles = ceil_div(span, kTileCols);
  t.tile = round_up(ceil_div(span, tiles), nr);
  t.tiles = ceil_div(span, t.tile);
  return t;
}

// ---- forward: y (N, O, Ho, Wo) = W (O, K) x cols (K, Ho Wo) per image and group ----

void forward_gemm(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  const GemmKernel& kern = gemm_kernel_for(simd_level());
  const int64_t K = g.k(), og = g.og(), hw = g.ho * g.wo, khw = g.kh * g.kw, plane = g.h * g.w;
  const bool pointwise = is_pointwise(g);
  const int64_t kblocks = ceil_div(K, kern.kc), kcb = ceil_div(K, kblocks);
  const ColumnTiles ct = column_tiles(g, kern.nr);
  // A tile within one image is written in place; one spanning images goes
  // through a buffer.
  const bool in_place = ct.images == 1;
  // Row blocks only when the column tiles alone would leave threads idle.
  const int64_t m_units = ceil_div(og, kern.mr);
  const int64_t col_tasks = ct.groups * g.groups * ct.tiles;
  int64_t mblocks = 1;
  while (col_tasks * mblocks < target_tasks() && m_units >= 8 * mblocks) mblocks *= 2;
  const int64_t mrows = ceil_div(m_units, mblocks) * kern.mr;
  // Slot (group, row block) holds weight rows [m0, m0 + mrows) of the group: (mrows, K).
  auto fill = [&](int64_t s, int64_t pc, int64_t kc, float* dst) {
    const int64_t m0 = s % mblocks * mrows, m = std::min(og, m0 + mrows) - m0;
    pack_a(w + (s / mblocks * og + m0) * K + pc, K, 1, m, kc, kern.mr, kc * kern.mr, dst);
  };
  const PackedA packed(g.groups * mblocks, mrows, K, kcb, kern.mr, fill);
  const bool gather = !(pointwise && in_place) && gathers(g);
  thread_local Scratch<float> pb_buf, row_buf, c_buf;
  thread_local Scratch<int64_t> tap_buf;

  thread_pool().parallel_for(col_tasks * mblocks, [&](int64_t item) {
    const int64_t mb = item % mblocks, t = item / mblocks % ct.tiles, gi = item / (mblocks * ct.tiles) % g.groups;
    const int64_t n0 = item / (mblocks * ct.tiles * g.groups) * ct.images;
    const int64_t m0 = mb * mrows, m = std::min(og, m0 + mrows) - m0;
    const int64_t q0 = t * ct.tile, ncols = std::min(ct.tile, std::min(ct.images, g.n - n0) * hw - q0);
    if (m <= 0 || ncols <= 0) return;
    const float* xg = x + (n0 * g.c + gi * g.cg()) * plane;  // image n0's channels of this group (cg, H, W)
    float* c = in_place ? y + (n0 * g.o + gi * og + m0) * hw + q0 : c_buf.get(m * ncols);  // (m, ncols)
    const int64_t ldc = in_place ? hw : ncols;
    const float* pa = packed.panels(gi * mblocks + mb);
    float* pb = pb_buf.get(round_up(ncols, kern.nr) * kcb);
    float* row = row_buf.get(ncols);
    int64_t* taps = gather ? tap_buf.get(khw * ncols) : nullptr;
    if (gather) tap_offsets(g, q0, ncols, taps);
    for (int64_t pc = 0; pc < K; pc += kcb) {
      const int64_t kc = std::min(kcb, K - pc);
      for (int64_t p = 0; p < kc; ++p) {
        const int64_t r = pc + p, ci = r / khw, ky = r % khw / g.kw, kx = r % g.kw;
        const float* src = row;
        if (pointwise && in_place) {
          src = xg + ci * plane + q0;  // a 1x1 conv's columns are the image itself
        } else if (gather) {
          const float* xc = xg + ci * plane;
          const int64_t* o = taps + r % khw * ncols;
          for (int64_t j = 0; j < ncols; ++j) row[j] = o[j] >= 0 ? xc[o[j]] : 0.0f;
        } else {
          for_segments(q0, ncols, hw, [&](int64_t n, int64_t j, int64_t len, int64_t off) {
            const float* xc = xg + (n * g.c + ci) * plane;
            if (pointwise) {
              std::memcpy(row + off, xc + j, len * sizeof(float));
            } else {
              im2col_row(g, xc, ky, kx, j, len, row + off);
            }
          });
        }
        pack_b_row(src, ncols, kern.nr, kc, pb + p * kern.nr);
      }
      gemm_block(kern, kc, pa + pc * packed.mpad(), pb, m, ncols, c, ldc, pc == 0 ? 0.0f : 1.0f);
    }
    if (in_place) {
      if (!bias) return;
      for (int64_t i = 0; i < m; ++i) {
        const float b = bias[gi * og + m0 + i];
        for (int64_t j = 0; j < ncols; ++j) c[i * ldc + j] += b;
      }
      return;
    }
    for_segments(q0, ncols, hw, [&](int64_t n, int64_t j, int64_t len, int64_t off) {
      for (int64_t i = 0; i < m; ++i) {
        const float b = bias ? bias[gi * og + m0 + i] : 0.0f;
        const float* src = c + i * ncols + off;
        float* dst = y + ((n0 + n) * g.o + gi * og + m0 + i) * hw + j;
        for (int64_t e = 0; e < len; ++e) dst[e] = src[e] + b;
      }
    });
  });
}

// ---- depthwise: output channel o reads input channel o / (O / groups) only ----

void forward_depthwise(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  const int64_t mult = g.og(), khw = g.kh * g.kw;
  thread_pool().parallel_for(g.n * g.o, [&](int64_t plane) {
    const int64_t o = plane % g.o, n = plane / g.o;
    const float* xc = x + (n * g.c + o / mult) * g.h * g.w;  // (H, W)
    const float* wo = w + o * khw;                           // (kH, kW)
    float* out = y + plane * g.ho * g.wo;                    // (Ho, Wo)
    for (int64_t oy = 0; oy < g.ho; ++oy) {
      float* yr = out + oy * g.wo;
      std::fill(yr, yr + g.wo, bias ? bias[o] : 0.0f);
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const ColRange cr = col_range(g, kx);
          const float wv = wo[ky * g.kw + kx];
          const float* xr = xc + iy * g.w;
          if (g.sw == 1) {
            for (int64_t ox = cr.lo; ox < cr.hi; ++ox) yr[ox] += wv * xr[ox + cr.off];
          } else {
            for (int64_t ox = cr.lo; ox < cr.hi; ++ox) yr[ox] += wv * xr[ox * g.sw + cr.off];
          }
        }
      }
    }
  });
}

void backward_input_depthwise(const ConvGeom& g, const float* dy, const float* w, const float* bias, float* dx) {
  const int64_t mult = g.og(), khw = g.kh * g.kw;
  thread_pool().parallel_for(g.n * g.c, [&](int64_t plane) {
    const int64_t c = plane % g.c, n = plane / g.c;
    float* dxc = dx + plane * g.h * g.w;  // (H, W)
    std::fill(dxc, dxc + g.h * g.w, bias ? bias[c] : 0.0f);
    for (int64_t o = c * mult; o < (c + 1) * mult; ++o) {
      const float* dyo = dy + (n * g.o + o) * g.ho * g.wo;  // (Ho, Wo)
      const float* wo = w + o * khw;
      for (int64_t oy = 0; oy < g.ho; ++oy) {
        const float* dr = dyo + oy * g.wo;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const ColRange cr = col_range(g, kx);
            const float wv = wo[ky * g.kw + kx];
            float* xr = dxc + iy * g.w;
            if (g.sw == 1) {
              for (int64_t ox = cr.lo; ox < cr.hi; ++ox) xr[ox + cr.off] += wv * dr[ox];
            } else {
              for (int64_t ox = cr.lo; ox < cr.hi; ++ox) xr[ox * g.sw + cr.off] += wv * dr[ox];
            }
          }
        }
      }
    }
  });
}

void backward_weight_depthwise(const ConvGeom& g, const float* dy, const float* x, float* dw) {
  const int64_t mult = g.og(), khw = g.kh * g.kw;
  thread_local Scratch<float> acc_buf;
  thread_pool().parallel_for(g.o, [&](int64_t o) {
    // One running product per tap and output column, summed at the end: the
    // inner loops stay element-wise and vectorise without reassociating.
    float* acc = acc_buf.get(khw * g.wo);  // (kH kW, Wo)
    std::fill(acc, acc + khw * g.wo, 0.0f);
    for (int64_t n = 0; n < g.n; ++n) {
      const float* xc = x + (n * g.c + o / mult) * g.h * g.w;
      const float* dyo = dy + (n * g.o + o) * g.ho * g.wo;
      for (int64_t oy = 0; oy < g.ho; ++oy) {
        const float* dr = dyo + oy * g.wo;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.pt + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const ColRange cr = col_range(g, kx);
            const float* xr = xc + iy * g.w;
            float* a = acc + (ky * g.kw + kx) * g.wo;
            if (g.sw == 1) {
              for (int64_t ox = cr.lo; ox < cr.hi; ++ox) a[ox] += dr[ox] * xr[ox + cr.off];
            } else {
              for (int64_t ox = cr.lo; ox < cr.hi; ++ox) a[ox] += dr[ox] * xr[ox * g.sw + cr.off];
            }
          }
        }
      }
    }
    for (int64_t t = 0; t < khw; ++t) {
      double s = 0.0;
      for (int64_t ox = 0; ox < g.wo; ++ox) s += acc[t * g.wo + ox];
      dw[o * khw + t] = static_cast<float>(s);
    }
  });
}

// ---- input gradient: cols (K, Ho Wo) = W^T (K, O/groups) x dy, then col2im ----

void backward_input_gemm(const ConvGeom& g, const float* dy, const float* w, const float* bias, float* dx) {
  const GemmKernel& kern = gemm_kernel_for(simd_level());
  const int64_t K = g.k(), og = g.og(), hw = g.ho * g.wo, khw = g.kh * g.kw, plane = g.h * g.w;
  const int64_t kblocks = ceil_div(og, kern.kc), kcb = ceil_div(og, kblocks);
  const ColumnTiles ct = column_tiles(g, kern.nr);
  // A 1x1 conv within one image writes dx straight from the GEMM.
  const bool in_place = is_pointwise(g) && ct.images == 1;
  // Tasks: (image group, group, block of whole input channels), so that
  // col2im of different tasks never writes the same element.
  int64_t chans = std::max<int64_t>(1, std::min(g.cg(), kTileRows / khw));
  while (chans > 1 && ct.groups * g.groups * ceil_div(g.cg(), chans) < target_tasks()) chans = ceil_div(chans, 2);
  const int64_t cblocks = ceil_div(g.cg(), chans);
  // Slot (group, channel block) holds W^T restricted to the block's rows:
  // A(r, o) = w[(gi og + o) K + c0 kH kW + r], (chans kH kW, O / groups).
  auto fill = [&](int64_t s, int64_t pc, int64_t kc, float* dst) {
    const int64_t c0 = s % cblocks * chans, rows = (std::min(g.cg(), c0 + chans) - c0) * khw;
    pack_a(w + (s / cblocks * og + pc) * K + c0 * khw, 1, K, rows, kc, kern.mr, kc * kern.mr, dst);
  };
  const PackedA packed(g.groups * cblocks, chans * khw, og, kcb, kern.mr, fill);
  const bool gather = !in_place && gathers(g);
  thread_local Scratch<float> pb_buf, row_buf, cols_buf;
  thread_local Scratch<int64_t> tap_buf;

  thread_pool().parallel_for(ct.groups * g.groups * cblocks, [&](int64_t item) {
    const int64_t cb = item % cblocks, gi = item / cblocks % g.groups, n0 = item / (cblocks * g.groups) * ct.images;
    const int64_t c0 = cb * chans, c1 = std::min(g.cg(), c0 + chans);
    const int64_t rows = (c1 - c0) * khw, positions = std::min(ct.images, g.n - n0) * hw;
    // Image n0's first channel of this block; image n's is at + n C H W: (c1 - c0, H, W) each.
    float* dxb = dx + (n0 * g.c + gi * g.cg() + c0) * plane;
    const float* dyg = dy + (n0 * g.o + gi * og) * hw;  // image n0's (O / groups, Ho Wo)
    const float* pa = packed.panels(gi * cblocks + cb);
    const bool accumulate = !in_place || bias;
    if (accumulate) {
      for (int64_t n = 0; n * hw < positions; ++n) {
        for (int64_t c = c0; c < c1; ++c) {
          float* p = dxb + n * g.c * plane + (c - c0) * plane;
          std::fill(p, p + plane, bias ? bias[gi * g.cg() + c] : 0.0f);
        }
      }
    }
    float* pb = pb_buf.get(round_up(ct.tile, kern.nr) * kcb);
    float* row = row_buf.get(ct.tile);
    float* cols = cols_buf.get(in_place ? 0 : rows * ct.tile);
    for (int64_t q0 = 0; q0 < positions; q0 += ct.tile) {
      const int64_t ncols = std::min(ct.tile, positions - q0);
      for (int64_t pc = 0; pc < og; pc += kcb) {
        const int64_t kc = std::min(kcb, og - pc);
        for (int64_t p = 0; p < kc; ++p) {
          const float* src = row;
          if (ct.images == 1) {
            src = dyg + (pc + p) * hw + q0;
          } else {
            for_segments(q0, ncols, hw, [&](int64_t n, int64_t j, int64_t len, int64_t off) {
              std::memcpy(row + off, dyg + n * g.o * hw + (pc + p) * hw + j, len * sizeof(float));
            });
          }
          pack_b_row(src, ncols, kern.nr, kc, pb + p * kern.nr);
        }
        if (in_place) {
          gemm_block(kern, kc, pa + pc * packed.mpad(), pb, rows, ncols, dxb + q0, plane,
                     pc == 0 && !accumulate ? 0.0f : 1.0f);
        } else {
          gemm_block(kern, kc, pa + pc * packed.mpad(), pb, rows, ncols, cols, ncols, pc == 0 ? 0.0f : 1.0f);
        }
      }
      if (in_place) continue;
      if (gather) {
        int64_t* taps = tap_buf.get(khw * ncols);
        tap_offsets(g, q0, ncols, taps);
        for (int64_t r = 0; r < rows; ++r) {
          float* dxc = dxb + r / khw * plane;
          const int64_t* o = taps + r % khw * ncols;
          const float* src = cols + r * ncols;
          for (int64_t j = 0; j < ncols; ++j) {
            if (o[j] >= 0) dxc[o[j]] += src[j];
          }
        }
        continue;
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t ci = r / khw, ky = r % khw / g.kw, kx = r % g.kw;
        for_segments(q0, ncols, hw, [&](int64_t n, int64_t j, int64_t len, int64_t off) {
          col2im_row(g, cols + r * ncols + off, ky, kx, j, len, dxb + n * g.c * plane + ci * plane);
        });
      }
    }
  });
}

// ---- weight gradient: dW (O/groups, K) = sum over images of dy (O/groups, Ho Wo) x cols^T ----
// The contraction runs over the positions of all images in order, in steps of
// kc that may straddle images. Long contractions are cut into chunks of
// positions summed into separate copies of dW and added up in chunk order
// afterwards: that parallelises without cutting dW into blocks so small that
// re-packing the operands for each would dominate. The chunks depend on the
// problem only, so the sums do not depend on the thread count.
constexpr int64_t kChunkPositions = 2048;  // at least this many positions per chunk
constexpr int64_t kMaxChunks = 16;
constexpr int64_t kPartialFloats = int64_t{1} << 22;  // 16 MiB of partial sums at most

void backward_weight_gemm(const ConvGeom& g, const float* dy, const float* x, float* dw) {
  const GemmKernel& kern = gemm_kernel_for(simd_level());
  const int64_t K = g.k(), og = g.og(), hw = g.ho * g.wo, khw = g.kh * g.kw, plane = g.h * g.w;
  const int64_t dw_size = g.o * K;
  const bool pointwise = is_pointwise(g);
  const int64_t positions = g.n * hw;
  int64_t chunks = std::clamp<int64_t>(positions / kChunkPositions, 1, kMaxChunks);
  chunks = std::max<int64_t>(1, std::min(chunks, 1 + kPartialFloats / dw_size));
  const int64_t chunk_len = round_up(ceil_div(positions, chunks), kern.kc);
  chunks = ceil_div(positions, chunk_len);
  // Blocks of dW, split further only while threads would idle: columns first
  // (each column block re-packs dy), then rows (each row block redoes im2col).
  int64_t ob = std::min(round_up(og, kern.mr), kern.mc), kb = std::min(round_up(K, kern.nr), kWeightCols);
  auto tasks = [&] { return chunks * g.groups * ceil_div(og, ob) * ceil_div(K, kb); };
  while (tasks() < target_tasks()) {
    if (kb >= 4 * kern.nr) {
      kb = round_up(kb / 2, kern.nr);
    } else if (ob >= 4 * kern.mr) {
      ob = round_up(ob / 2, kern.mr);
    } else {
      break;
    }
  }
  const int64_t oblocks = ceil_div(og, ob), kbl = ceil_div(K, kb);
  // Chunk 0 sums into dw, chunk i > 0 into partial[i - 1]: (chunks - 1, O, K).
  std::unique_ptr<float[]> partial(chunks > 1 ? new float[(chunks - 1) * dw_size] : nullptr);
  const bool gather = !pointwise && gathers(g);
  thread_local Scratch<float> pa_buf, pb_buf, row_buf;
  thread_local Scratch<int64_t> tap_buf;

  thread_pool().parallel_for(chunks * g.groups * oblocks * kbl, [&](int64_t item) {
    const int64_t kbi = item % kbl, obi = item / kbl % oblocks, gi = item / (kbl * oblocks) % g.groups;
    const int64_t chunk = item / (kbl * oblocks * g.groups);
    const int64_t o0 = obi * ob, m = std::min(og, o0 + ob) - o0;
    const int64_t r0 = kbi * kb, ncols = std::min(K, r0 + kb) - r0;
    float* sums = chunk == 0 ? dw : partial.get() + (chunk - 1) * dw_size;
    float* c = sums + (gi * og + o0) * K + r0;  // block (m, ncols), row stride K
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * K, c + i * K + ncols, 0.0f);
    const int64_t npad = round_up(ncols, kern.nr);
    float* pa = pa_buf.get(round_up(m, kern.mr) * kern.kc);
    float* pb = pb_buf.get(npad * kern.kc);
    float* row = row_buf.get(kern.kc);
    const int64_t q_end = std::min(positions, (chunk + 1) * chunk_len);
    for (int64_t q0 = chunk * chunk_len; q0 < q_end; q0 += kern.kc) {
      const int64_t kc = std::min(kern.kc, q_end - q0);
      // A: dy rows o0.., positions [q0, q0 + kc), packed one image segment at a time.
      for_segments(q0, kc, hw, [&](int64_t n, int64_t j, int64_t len, int64_t off) {
        pack_a(dy + (n * g.o + gi * og + o0) * hw + j, hw, 1, m, len, kern.mr, kc * kern.mr, pa + off * kern.mr);
      });
      // B (kc, ncols): column r - r0 is row r of the column matrix, transposed into the panels.
      int64_t* taps = gather ? tap_buf.get(khw * kc) : nullptr;
      if (gather) tap_offsets(g, q0, kc, taps);
      for (int64_t r = r0; r < r0 + ncols; ++r) {
        const int64_t ci = r / khw, ky = r % khw / g.kw, kx = r % g.kw;
        if (gather) {
          const float* xc = x + (gi * g.cg() + ci) * plane;  // image 0: the offsets count images from 0
          const int64_t* o = taps + r % khw * kc;
          for (int64_t p = 0; p < kc; ++p) row[p] = o[p] >= 0 ? xc[o[p]] : 0.0f;
        } else {
          for_segments(q0, kc, hw, [&](int64_t n, int64_t j, int64_t len, int64_t off) {
            const float* xc = x + (n * g.c + gi * g.cg() + ci) * plane;
            if (pointwise) {
              std::memcpy(row + off, xc + j, len * sizeof(float));
            } else {
              im2col_row(g, xc, ky, kx, j, len, row + off);
            }
          });
        }
        const int64_t col = r - r0;
        float* d = pb + (col / kern.nr) * kc * kern.nr + col % kern.nr;
        for (int64_t p = 0; p < kc; ++p) d[p * kern.nr] = row[p];
      }
      if (npad > ncols) {
        float* d = pb + (ncols / kern.nr) * kc * kern.nr;
        for (int64_t p = 0; p < kc; ++p) std::fill(d + p * kern.nr + ncols % kern.nr, d + (p + 1) * kern.nr, 0.0f);
      }
      gemm_block(kern, kc, pa, pb, m, ncols, c, K, 1.0f);
    }
  });
  if (chunks > 1) {
    parallel_range(dw_size, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        float s = dw[i];
        for (int64_t p = 0; p + 1 < chunks; ++p) s += partial[p * dw_size + i];
        dw[i] = s;
      }
    });
  }
}

// Fills y (N, O, P) with the bias, or zeros, for convs with no input channels.
void fill_bias(float* y, int64_t n, int64_t channels, int64_t per_channel, const float* bias) {
  parallel_range(n * channels, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      std::fill(y + i * per_channel, y + (i + 1) * per_channel, bias ? bias[i % channels] : 0.0f);
    }
  });
}

// ---- ops ----

void check_bias(const std::vector<TensorSpec>& in, int64_t channels) {
  if (in.size() < 3) return;
  require_float32(in[2], "bias");
  TG_CHECK(in[2].shape == Shape{channels}, "ERR_TG_SHAPE", "bias must have shape (", channels, ",), got ",
           shape_str(in[2].shape));
}

Shape conv_out_shape(const ConvGeom& g) { return {g.n, g.o, g.ho, g.wo}; }

std::vector<TensorSpec> infer_conv2d(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[0], "x");
  require_float32(in[1], "weight");
  const ConvGeom g = conv2d_geom(in[0].shape, in[1].shape, attrs);
  check_bias(in, g.o);
  return {TensorSpec{conv_out_shape(g), DType::f32}};
}

// x: (N, C, H, W); weight: (O, C / groups, kH, kW); bias: (O); y: (N, O, Ho, Wo)
void cpu_conv2d_forward(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                        const RunContext&) {
  const ConvGeom g = conv2d_geom(in[0].shape(), in[1].shape(), attrs);
  conv_forward(g, in[0].data<float>(), in[1].data<float>(), in.size() == 3 ? in[2].data<float>() : nullptr,
               out[0].data<float>());
}

Attrs with_shape(const Attrs& attrs, const char* name, const Shape& shape) {
  Attrs a = attrs;
  a.set(name, std::vector<int64_t>(shape));
  return a;
}

std::vector<ValueId> grad_conv2d(GraphBuilder& g, const GradContext& c) {
  const ValueId x = c.inputs[0], w = c.inputs[1], dy = c.grad_outputs[0];
  std::vector<ValueId> grads(c.inputs.size(), kNoValue);
  if (c.needs_grad[0]) {
    grads[0] = g.add1("conv2d_backward_input", {dy, w}, with_shape(c.attrs, "input_shape", g.spec(x).shape));
  }
  if (c.needs_grad[1]) {
    grads[1] = g.add1("conv2d_backward_weight", {dy, x}, with_shape(c.attrs, "weight_shape", g.spec(w).shape));
  }
  if (c.inputs.size() == 3 && c.needs_grad[2]) grads[2] = conv_bias_grad(g, dy);
  return grads;
}

void check_dy(const TensorSpec& dy, const Shape& expected) {
  require_float32(dy, "dy");
  TG_CHECK(dy.shape == expected, "ERR_TG_SHAPE", "dy must have the conv output's shape ", shape_str(expected),
           ", got ", shape_str(dy.shape));
}

// conv2d_backward_input(dy, weight){..., input_shape} -> dx (input_shape)
std::vector<TensorSpec> infer_conv2d_backward_input(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[1], "weight");
  const Shape xs = conv_shape_attr(attrs, "input_shape");
  check_dy(in[0], conv_out_shape(conv2d_geom(xs, in[1].shape, attrs)));
  return {TensorSpec{xs, DType::f32}};
}

// dy: (N, O, Ho, Wo); weight: (O, C / groups, kH, kW); dx: (N, C, H, W)
void cpu_conv2d_backward_input(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                               const RunContext&) {
  const ConvGeom g = conv2d_geom(out[0].shape(), in[1].shape(), attrs);
  conv_backward_input(g, in[0].data<float>(), in[1].data<float>(), nullptr, out[0].data<float>());
}

// conv2d_backward_weight(dy, x){..., weight_shape} -> dW (weight_shape)
std::vector<TensorSpec> infer_conv2d_backward_weight(const std::vector<TensorSpec>& in, const Attrs& attrs) {
  require_float32(in[1], "x");
  const Shape ws = conv_shape_attr(attrs, "weight_shape");
  check_dy(in[0], conv_out_shape(conv2d_geom(in[1].shape, ws, attrs)));
  return {TensorSpec{ws, DType::f32}};
}

// dy: (N, O, Ho, Wo); x: (N, C, H, W); dw: (O, C / groups, kH, kW)
void cpu_conv2d_backward_weight(const std::vector<Tensor>& in, const std::vector<Tensor>& out, const Attrs& attrs,
                                const RunContext&) {
  const ConvGeom g = conv2d_geom(in[1].shape(), out[0].shape(), attrs);
  conv_backward_weight(g, in[0].data<float>(), in[1].data<float>(), out[0].data<float>());
}

}  // namespace

// ---- shared entry points (im2col.h) ----

ConvGeom conv2d_geom(const Shape& x, const Shape& w, const Attrs& attrs) {
  check_4d(x, "x", "(N, C, H, W)");
  check_4d(w, "weight", "(O, C / groups, kH, kW)");
  check_kernel(w, "weight");
  const int64_t groups = groups_attr(attrs);
  TG_CHECK(x[1] % groups == 0, "ERR_TG_SHAPE", "x has ", x[1], " channels, which groups = ", groups,
           " does not divide");
  TG_CHECK(w[0] % groups == 0, "ERR_TG_SHAPE", "weight ", shape_str(w), " has ", w[0],
           " output channels, which groups = ", groups, " does not divide");
  TG_CHECK(w[1] * groups == x[1], "ERR_TG_SHAPE", "weight ", shape_str(w), " expects ", w[1],
           " input channels per group, but x ", shape_str(x), " has ", x[1], " channels in ", groups, " group(s)");
  const std::vector<int64_t> stride = pair_attr(attrs, "stride", 1, 1);
  const std::vector<int64_t> dilation = pair_attr(attrs, "dilation", 1, 1);
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;
  if (padding_is_string(attrs)) {
    const std::string mode = attrs.get_string("padding", "");
    TG_CHECK(mode == "same" || mode == "valid", "ERR_TG_ARG", "op '", attrs.op(),
             "': attribute 'padding' must be 'same', 'valid' or integers, got '", mode, "'");
    if (mode == "same") {
      TG_CHECK(stride[0] == 1 && stride[1] == 1, "ERR_TG_ARG", "op '", attrs.op(),
               "': padding 'same' needs stride 1, got stride ", list_str(stride));
      // As PyTorch: the odd pixel of padding goes at the bottom / right.
      const int64_t th = dilation[0] * (w[2] - 1), tw = dilation[1] * (w[3] - 1);
      pt = th / 2;
      pb = th - pt;
      pl = tw / 2;
      pr = tw - pl;
    }
  } else {
    const std::vector<int64_t> p = attrs.get_ints("padding", {0});
    TG_CHECK(p.size() == 1 || p.size() == 2 || p.size() == 4, "ERR_TG_ARG", "op '", attrs.op(),
             "': attribute 'padding' must be an integer, [ph, pw], [top, bottom, left, right], 'same' or 'valid', got ",
             list_str(p));
    for (int64_t v : p) {
      TG_CHECK(v >= 0, "ERR_TG_ARG", "op '", attrs.op(), "': attribute 'padding' must be >= 0, got ", list_str(p));
    }
    if (p.size() == 4) {
      pt = p[0], pb = p[1], pl = p[2], pr = p[3];
    } else {
      pt = pb = p[0];
      pl = pr = p.back();
    }
  }
  const int64_t span_h = dilation[0] * (w[2] - 1) + 1, span_w = dilation[1] * (w[3] - 1) + 1;
  TG_CHECK(x[2] + pt + pb >= span_h && x[3] + pl + pr >= span_w, "ERR_TG_SHAPE", "padded input (", x[2] + pt + pb,
           ", ", x[3] + pl + pr, ") from x ", shape_str(x), " is smaller than the dilated kernel (", span_h, ", ",
           span_w, ")");
  ConvGeom g;
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
  g.o = w[0], g.kh = w[2], g.kw = w[3];
  g.groups = groups;
  g.sh = stride[0], g.sw = stride[1];
  g.pt = pt, g.pl = pl;
  g.dh = dilation[0], g.dw = dilation[1];
  g.ho = (x[2] + pt + pb - span_h) / g.sh + 1;
  g.wo = (x[3] + pl + pr - span_w) / g.sw + 1;
  return g;
}

ConvGeom conv_transpose2d_geom(const Shape& x, const Shape& w, const Attrs& attrs) {
  check_4d(x, "x", "(N, C_in, H, W)");
  check_4d(w, "weight", "(C_in, C_out / groups, kH, kW)");
  check_kernel(w, "weight");
  const int64_t groups = groups_attr(attrs);
  TG_CHECK(w[0] == x[1], "ERR_TG_SHAPE", "weight ", shape_str(w), " has ", w[0], " input channels but x ",
           shape_str(x), " has ", x[1]);
  TG_CHECK(x[1] % groups == 0, "ERR_TG_SHAPE", "x has ", x[1], " channels, which groups = ", groups,
           " does not divide");
  TG_CHECK(!padding_is_string(attrs), "ERR_TG_ARG", "op '", attrs.op(),
           "': attribute 'padding' must be an integer or 2 integers (string padding is conv2d only)");
  const std::vector<int64_t> stride = pair_attr(attrs, "stride", 1, 1);
  const std::vector<int64_t> dilation = pair_attr(attrs, "dilation", 1, 1);
  const std::vector<int64_t> padding = pair_attr(attrs, "padding", 0, 0);
  const std::vector<int64_t> out_pad = pair_attr(attrs, "output_padding", 0, 0);
  for (int d = 0; d < 2; ++d) {
    TG_CHECK(out_pad[d] < stride[d] || out_pad[d] < dilation[d], "ERR_TG_ARG", "op '", attrs.op(),
             "': output_padding ", list_str(out_pad), " must be smaller than stride ", list_str(stride),
             " or dilation ", list_str(dilation));
  }
  const int64_t ho = (x[2] - 1) * stride[0] - 2 * padding[0] + dilation[0] * (w[2] - 1) + out_pad[0] + 1;
  const int64_t wo = (x[3] - 1) * stride[1] - 2 * padding[1] + dilation[1] * (w[3] - 1) + out_pad[1] + 1;
  TG_CHECK(x[2] >= 1 && x[3] >= 1 && ho >= 1 && wo >= 1, "ERR_TG_SHAPE", "x ", shape_str(x),
           " gives an empty output (", ho, ", ", wo, ") with padding ", list_str(padding));
  ConvGeom g;
  g.n = x[0], g.c = w[1] * groups, g.h = ho, g.w = wo;
  g.o = x[1], g.kh = w[2], g.kw = w[3];
  g.groups = groups;
  g.sh = stride[0], g.sw = stride[1];
  g.pt = padding[0], g.pl = padding[1];
  g.dh = dilation[0], g.dw = dilation[1];
  g.ho = x[2], g.wo = x[3];
  return g;
}

Shape conv_shape_attr(const Attrs& attrs, const char* name) {
  const std::vector<int64_t> s = attrs.require_ints(name);
  TG_CHECK(s.size() == 4, "ERR_TG_ARG", "op '", attrs.op(), "': attribute '", name, "' must have 4 dims, got ",
           list_str(s));
  for (int64_t d : s) {
    TG_CHECK(d >= 0, "ERR_TG_ARG", "op '", attrs.op(), "': attribute '", name, "' has a negative dim: ", list_str(s));
  }
  return Shape(s);
}

ValueId conv_bias_grad(GraphBuilder& g, ValueId dy) {
  Attrs attrs;
  attrs.set("axes", std::vector<int64_t>{0, 2, 3});
  return g.add1("sum", {dy}, attrs);
}

void conv_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y) {
  if (g.n * g.o * g.ho * g.wo == 0) return;
  if (g.k() == 0) return fill_bias(y, g.n, g.o, g.ho * g.wo, bias);
  if (is_depthwise(g)) return forward_depthwise(g, x, w, bias, y);
  if (use_winograd_forward(g)) return conv_forward_winograd(g, x, w, bias, y);
  forward_gemm(g, x, w, bias, y);
}

void conv_backward_input(const ConvGeom& g, const float* dy, const float* w, const float* bias, float* dx) {
  if (g.n * g.c * g.h * g.w == 0) return;
  if (g.og() * g.ho * g.wo == 0) return fill_bias(dx, g.n, g.c, g.h * g.w, bias);
  if (is_depthwise(g)) return backward_input_depthwise(g, dy, w, bias, dx);
  if (use_winograd_backward_input(g)) return conv_backward_input_winograd(g, dy, w, bias, dx);
  backward_input_gemm(g, dy, w, bias, dx);
}

void conv_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw) {
  if (g.o * g.k() == 0) return;
  if (g.n * g.ho * g.wo == 0) return std::fill(dw, dw + g.o * g.k(), 0.0f);
  if (is_depthwise(g)) return backward_weight_depthwise(g, dy, x, dw);
  backward_weight_gemm(g, dy, x, dw);
}

TG_REGISTER_OP({"conv2d", {"x", "weight", "bias?"}, 1, infer_conv2d, cpu_conv2d_forward, grad_conv2d,
                "2-d convolution: x (N, C, H, W), weight (O, C / groups, kH, kW), bias (O) -> (N, O, Ho, Wo); "
                "stride, padding (int, [ph, pw], [top, bottom, left, right], 'same', 'valid'), dilation, groups"});
TG_REGISTER_OP({"conv2d_backward_input", {"dy", "weight"}, 1, infer_conv2d_backward_input,
                cpu_conv2d_backward_input, nullptr,
                "conv2d's input gradient: dy (N, O, Ho, Wo), weight -> dx (input_shape); conv2d's attributes"});
TG_REGISTER_OP({"conv2d_backward_weight", {"dy", "x"}, 1, infer_conv2d_backward_weight,
                cpu_conv2d_backward_weight, nullptr,
                "conv2d's weight gradient: dy (N, O, Ho, Wo), x (N, C, H, W) -> dW (weight_shape); conv2d's "
                "attributes"});

}  // namespace tg
