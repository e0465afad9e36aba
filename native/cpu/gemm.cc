// Blocked SGEMM in the style of BLIS / Goto: op(B) is packed into (kc, nr)
// panels and op(A) into (kc, mr) panels so the micro-kernel streams contiguous
// memory, with loops ordered jc -> pc -> ic -> jr -> ir so that each packed
// block stays in the cache level its size was chosen for (see gemm_kernels.h).
//
// Threads split C into a tm x tn grid of tiles (and across batch items), each
// tile running the whole blocked loop on its own packed copies. That costs a
// little redundant packing (a fraction tm / M of the work) but needs a single
// dispatch per call and no barriers, which is what matters for the skinny
// shapes of transformer layers.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "../core/allocator.h"
#include "../core/error.h"
#include "../core/thread_pool.h"
#include "gemm_kernels.h"

namespace tg {

namespace {

// A strided view of a matrix: element (i, j) is at p[i * rs + j * cs].
struct View {
  const float* p;
  int64_t rs, cs;
};

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

// Per-thread packing buffers, grown on demand and reused across calls.
float* scratch(std::unique_ptr<float, AlignedFree>& buf, size_t& cap, size_t floats) {
  if (floats > cap) {
    size_t bytes = (floats * sizeof(float) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    float* p = static_cast<float*>(std::aligned_alloc(kHostAlignment, bytes));
    TG_CHECK(p != nullptr, "ERR_TG_OOM", "sgemm: out of memory for a ", bytes, "-byte packing buffer");
    buf.reset(p);
    cap = floats;
  }
  return buf.get();
}

// One full panel of non-transposed A: k outer and the MR rows inner, so the
// stores are contiguous and the MR row streams are read sequentially. (Row by
// row with strided stores is several times slower: the compiler cannot
// vectorise it and the stores alias the loads at 4 KiB strides.)
template <int MR>
void pack_a_rows(const float* a, int64_t rs, int64_t kc, float* dst) {
  const float* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = a + i * rs;
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) dst[p * MR + i] = rows[i][p];
  }
}

// dst: ceil(mb / rows) panels of (kc, mr), each holding `rows` <= mr rows of
// A and zero padding, so short matrices can use evenly filled panels.
void pack_a(const View& a, int64_t mb, int64_t kc, int mr, int rows_per_panel, float* dst) {
  for (int64_t i0 = 0; i0 < mb; i0 += rows_per_panel) {
    const int rows = static_cast<int>(std::min<int64_t>(rows_per_panel, mb - i0));
    const float* src = a.p + i0 * a.rs;
    if (a.cs == 1 && rows == mr && mr == 6) {
      pack_a_rows<6>(src, a.rs, kc, dst);
    } else if (a.cs == 1 && rows == mr && mr == 12) {
      pack_a_rows<12>(src, a.rs, kc, dst);
    } else if (a.cs == 1) {
      for (int64_t p = 0; p < kc; ++p) {
        float* d = dst + p * mr;
        for (int i = 0; i < rows; ++i) d[i] = src[i * a.rs + p];
        for (int i = rows; i < mr; ++i) d[i] = 0.0f;
      }
    } else {  // transposed A: columns contiguous, copy mr at a time
      for (int64_t p = 0; p < kc; ++p) {
        const float* col = src + p * a.cs;
        float* d = dst + p * mr;
        for (int i = 0; i < rows; ++i) d[i] = col[i * a.rs];
        for (int i = rows; i < mr; ++i) d[i] = 0.0f;
      }
    }
    dst += kc * mr;
  }
}

// dst: (nb / nr panels) x (kc, nr); columns past nb are zero.
void pack_b(const View& b, int64_t kc, int64_t nb, int nr, float* dst) {
  const int64_t full = nb / nr;  // panels with all nr columns
  const int tail = static_cast<int>(nb - full * nr);
  const int64_t panel = kc * nr;  // floats per packed panel
  if (b.cs == 1) {
    // Row by row, so B is read as one sequential stream (a panel-by-panel walk
    // would stride through memory and defeat the hardware prefetcher).
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b.p + p * b.rs;
      float* d = dst + p * nr;
      // Fixed-size copies compile to a few vector moves; a memcpy call per
      // 64-byte row would cost more than the copy.
      if (nr == 16) {
        for (int64_t j = 0; j < full; ++j) std::memcpy(d + j * panel, src + j * 16, 16 * sizeof(float));
      } else if (nr == 32) {
        for (int64_t j = 0; j < full; ++j) std::memcpy(d + j * panel, src + j * 32, 32 * sizeof(float));
      } else {
        for (int64_t j = 0; j < full; ++j) std::memcpy(d + j * panel, src + j * nr, nr * sizeof(float));
      }
      if (tail) {
        float* t = d + full * panel;
        for (int j = 0; j < tail; ++j) t[j] = src[full * nr + j];
        for (int j = tail; j < nr; ++j) t[j] = 0.0f;
      }
    }
    return;
  }
  // Transposed B: each column is contiguous along k.
  for (int64_t j0 = 0; j0 < nb; j0 += nr) {
    const int cols = static_cast<int>(std::min<int64_t>(nr, nb - j0));
    for (int j = 0; j < cols; ++j) {
      const float* src = b.p + (j0 + j) * b.cs;
      for (int64_t p = 0; p < kc; ++p) dst[p * nr + j] = src[p * b.rs];
    }
    for (int j = cols; j < nr; ++j)
      for (int64_t p = 0; p < kc; ++p) dst[p * nr + j] = 0.0f;
    dst += panel;
  }
}

// C block (m, n) = alpha * tile + beta * C, for tiles the kernel wrote to scratch.
void merge_edge(const float* tile, int64_t ldt, float* c, int64_t ldc, int64_t m, int64_t n, float alpha,
                float beta) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const float v = alpha * tile[i * ldt + j];
      c[i * ldc + j] = beta == 0.0f ? v : v + beta * c[i * ldc + j];
    }
  }
}

// The sequential blocked loop on rows [0, m) x cols [0, n) of one matrix.
void gemm_tile(const GemmKernel& kern, const View& a, const View& b, float* c, int64_t ldc, int64_t m, int64_t n,
               int64_t k, float alpha, float beta) {
  thread_local std::unique_ptr<float, AlignedFree> abuf, bbuf;
  thread_local size_t acap = 0, bcap = 0;
  const int mr = kern.mr, nr = kern.nr;
  float* pa = scratch(abuf, acap, static_cast<size_t>(kern.mc * kern.kc));
  float* pb = scratch(bbuf, bcap, static_cast<size_t>(kern.kc * kern.nc));
  alignas(64) float edge[32 * 32];  // one mr x nr tile for partial columns (mr, nr <= 32)

  // A short matrix is split into evenly filled row panels (8 rows: 4 + 4, not
  // 6 + 2), and B is read in place: with so few row panels to reuse it,
  // packing B would cost as much as the product.
  const int64_t m_panels = (std::min(m, kern.mc) + mr - 1) / mr;
  const int rows_per_panel = m <= kern.mc ? static_cast<int>((m + m_panels - 1) / m_panels) : mr;
  const bool direct_b = b.cs == 1 && m <= 4 * mr;

  for (int64_t jc = 0; jc < n; jc += kern.nc) {
    const int64_t nc = std::min(kern.nc, n - jc);
    for (int64_t pc = 0; pc < k; pc += kern.kc) {
      const int64_t kc = std::min(kern.kc, k - pc);
      const float beta_eff = pc == 0 ? beta : 1.0f;  // later k blocks accumulate
      const View bblock{b.p + pc * b.rs + jc * b.cs, b.rs, b.cs};
      if (!direct_b) {
        pack_b(bblock, kc, nc, nr, pb);
      } else if (nc % nr) {  // in place except the ragged last panel, which is packed
        pack_b(View{bblock.p + (nc / nr) * nr, b.rs, 1}, kc, nc % nr, nr, pb + (nc / nr) * nr * kc);
      }
      for (int64_t ic = 0; ic < m; ic += kern.mc) {
        const int64_t mc = std::min(kern.mc, m - ic);
        pack_a(View{a.p + ic * a.rs + pc * a.cs, a.rs, a.cs}, mc, kc, mr, rows_per_panel, pa);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int64_t ncols = std::min<int64_t>(nr, nc - jr);
          const bool in_place = direct_b && ncols == nr;
          const float* bp = in_place ? bblock.p + jr : pb + jr * kc;
          const int64_t ldb = in_place ? b.rs : nr;
          for (int64_t ir = 0, panel = 0; ir < mc; ir += rows_per_panel, ++panel) {
            const int rows = static_cast<int>(std::min<int64_t>(rows_per_panel, mc - ir));
            const float* ap = pa + panel * kc * mr;
            float* cp = c + (ic + ir) * ldc + jc + jr;
            if (ncols == nr) {
              kern.fn(kc, ap, bp, ldb, cp, ldc, alpha, beta_eff, rows);
            } else {
              kern.fn(kc, ap, bp, ldb, edge, nr, 1.0f, 0.0f, rows);
              merge_edge(edge, nr, cp, ldc, rows, ncols, alpha, beta_eff);
            }
          }
        }
      }
    }
  }
}

// C = beta * C, for k == 0 or alpha == 0 where no product is formed.
void scale_c(float* c, int64_t ldc, int64_t m, int64_t n, float beta) {
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f) std::fill(row, row + n, 0.0f);
    else if (beta != 1.0f)
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

// Splits `parts` threads into a tm x tn grid of C tiles. Tiles are whole
// register tiles, so the cost of a split is the largest tile's area in real
// rows and columns. Splits within 3% of the best area are told apart by what
// they re-read: each of the tm row strips packs all of B, each of the tn column
// strips all of A (counted twice: packing A is the slower of the two).
void choose_grid(int64_t m, int64_t n, int mr, int nr, int parts, int* tm, int* tn) {
  const int64_t m_units = (m + mr - 1) / mr, n_units = (n + nr - 1) / nr;
  struct Split {
    int tm, tn;
    int64_t area, traffic;
  };
  std::vector<Split> splits;
  int64_t best_area = -1;
  for (int cand = 1; cand <= parts; ++cand) {
    if (parts % cand) continue;
    const int other = parts / cand;
    if (cand > m_units || other > n_units) continue;
    const int64_t rows = std::min(m, (m_units + cand - 1) / cand * mr);
    const int64_t cols = std::min(n, (n_units + other - 1) / other * nr);
    splits.push_back({cand, other, rows * cols, cand * n + 2 * other * m});
    if (best_area < 0 || rows * cols < best_area) best_area = rows * cols;
  }
  *tm = *tn = 1;
  int64_t best_traffic = -1;
  for (const Split& s : splits) {
    if (s.area * 100 > best_area * 103) continue;
    if (best_traffic < 0 || s.traffic < best_traffic) {
      best_traffic = s.traffic;
      *tm = s.tm;
      *tn = s.tn;
    }
  }
}

void check_args(const GemmArgs& g) {
  TG_CHECK(g.m >= 0 && g.n >= 0 && g.k >= 0, "ERR_TG_SHAPE", "sgemm: negative size m=", g.m, " n=", g.n, " k=", g.k);
  TG_CHECK(g.batch >= 1, "ERR_TG_SHAPE", "sgemm: batch must be >= 1, got ", g.batch);
  const int64_t a_cols = g.trans_a ? g.m : g.k;
  const int64_t b_cols = g.trans_b ? g.k : g.n;
  TG_CHECK(g.lda >= std::max<int64_t>(1, a_cols), "ERR_TG_SHAPE", "sgemm: lda=", g.lda, " is less than ", a_cols);
  TG_CHECK(g.ldb >= std::max<int64_t>(1, b_cols), "ERR_TG_SHAPE", "sgemm: ldb=", g.ldb, " is less than ", b_cols);
  TG_CHECK(g.ldc >= std::max<int64_t>(1, g.n), "ERR_TG_SHAPE", "sgemm: ldc=", g.ldc, " is less than ", g.n);
}

// A few rows of A against B stored (N, K) (trans_b), the shape of a linear
// layer applied to a token or two (x W^T with W (out, in)): every row of B is
// read once, contiguously, and dotted with up to four rows of A at a time,
// instead of packing a transposed B that is used only once. Memory-bound;
// two four-float vectors per row (SSE registers on the baseline target) keep
// the loads streaming, and the sums run in a fixed order.
typedef float Vec4 __attribute__((vector_size(16)));
constexpr int64_t kLanes = 8;

inline Vec4 load4(const float* p) {
  Vec4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// out[i] = dot(a + i * lda, b, k) for i < rows (rows <= 4).
void dots(const float* a, int64_t lda, int rows, const float* b, int64_t k, float* out) {
  Vec4 lo[4] = {}, hi[4] = {};
  int64_t p = 0;
  for (; p + kLanes <= k; p += kLanes) {
    const Vec4 b0 = load4(b + p), b1 = load4(b + p + 4);
    for (int i = 0; i < rows; ++i) {
      lo[i] += load4(a + i * lda + p) * b0;
      hi[i] += load4(a + i * lda + p + 4) * b1;
    }
  }
  for (int i = 0; i < rows; ++i) {
    const Vec4 v = lo[i] + hi[i];
    float s = (v[0] + v[1]) + (v[2] + v[3]);
    for (int64_t q = p; q < k; ++q) s += a[i * lda + q] * b[q];
    out[i] = s;
  }
}

bool rows_times_bt(const GemmArgs& g) { return g.trans_b && g.m <= 8 && g.k >= 64 && g.n >= 64; }

void gemm_rows_times_bt(const GemmArgs& g) {
  constexpr int64_t kCols = 256;  // rows of B per task
  const int64_t chunks = (g.n + kCols - 1) / kCols;
  thread_pool().parallel_for(g.batch * chunks, [&](int64_t item) {
    const int64_t bi = item / chunks, j0 = (item % chunks) * kCols, j1 = std::min(g.n, j0 + kCols);
    // A's rows, made contiguous when A is stored transposed: (m, k).
    thread_local std::vector<float> arows;
    const float* a = g.a + bi * g.stride_a;
    int64_t a_rs = g.lda;
    if (g.trans_a) {
      arows.resize(static_cast<size_t>(g.m * g.k));
      for (int64_t i = 0; i < g.m; ++i) {
        for (int64_t p = 0; p < g.k; ++p) arows[static_cast<size_t>(i * g.k + p)] = a[p * g.lda + i];
      }
      a = arows.data();
      a_rs = g.k;
    }
    const float* b = g.b + bi * g.stride_b;  // (n, k), row stride ldb
    float* c = g.c + bi * g.stride_c;        // (m, n)
    float v[4];
    for (int64_t j = j0; j < j1; ++j) {
      for (int64_t i0 = 0; i0 < g.m; i0 += 4) {
        const int rows = static_cast<int>(std::min<int64_t>(4, g.m - i0));
        dots(a + i0 * a_rs, a_rs, rows, b + j * g.ldb, g.k, v);
        for (int r = 0; r < rows; ++r) {
          float& out = c[(i0 + r) * g.ldc + j];
          out = g.beta == 0.0f ? g.alpha * v[r] : g.alpha * v[r] + g.beta * out;
        }
      }
    }
  });
}

}  // namespace

void cpu_sgemm(const GemmArgs& g) {
  check_args(g);
  if (g.m == 0 || g.n == 0) return;
  ThreadPool& pool = thread_pool();
  if (g.k == 0 || g.alpha == 0.0f) {
    pool.parallel_for(g.batch, [&](int64_t bi) { scale_c(g.c + bi * g.stride_c, g.ldc, g.m, g.n, g.beta); });
    return;
  }
  if (rows_times_bt(g)) return gemm_rows_times_bt(g);
  const GemmKernel& kern = gemm_kernel_for(simd_level());

  // Small products are not worth waking other threads for.
  const double flops = 2.0 * g.m * g.n * g.k;
  int parts = 1;
  if (flops >= 2.0 * 64 * 64 * 64 && g.batch < pool.size()) {
    parts = static_cast<int>((pool.size() + g.batch - 1) / g.batch);
  }
  int tm = 1, tn = 1;
  choose_grid(g.m, g.n, kern.mr, kern.nr, parts, &tm, &tn);
  const int64_t m_units = (g.m + kern.mr - 1) / kern.mr;
  const int64_t n_units = (g.n + kern.nr - 1) / kern.nr;

  const int64_t a_rs = g.trans_a ? 1 : g.lda, a_cs = g.trans_a ? g.lda : 1;
  const int64_t b_rs = g.trans_b ? 1 : g.ldb, b_cs = g.trans_b ? g.ldb : 1;
  const int64_t tiles = static_cast<int64_t>(tm) * tn;
  pool.parallel_for(g.batch * tiles, [&](int64_t item) {
    const int64_t bi = item / tiles;
    const int64_t ti = (item % tiles) / tn, tj = item % tn;
    // Tile bounds in whole register tiles, so only the last tile has ragged edges.
    const int64_t r0 = std::min(g.m, (m_units * ti / tm) * kern.mr);
    const int64_t r1 = std::min(g.m, (m_units * (ti + 1) / tm) * kern.mr);
    const int64_t c0 = std::min(g.n, (n_units * tj / tn) * kern.nr);
    const int64_t c1 = std::min(g.n, (n_units * (tj + 1) / tn) * kern.nr);
    if (r0 >= r1 || c0 >= c1) return;
    const View a{g.a + bi * g.stride_a + r0 * a_rs, a_rs, a_cs};
    const View b{g.b + bi * g.stride_b + c0 * b_cs, b_rs, b_cs};
    gemm_tile(kern, a, b, g.c + bi * g.stride_c + r0 * g.ldc + c0, g.ldc, r1 - r0, c1 - c0, g.k, g.alpha, g.beta);
  });
}

}  // namespace tg
