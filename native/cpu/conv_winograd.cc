// Winograd convolution F(4x4, 3x3) for 3x3, stride-1, undilated, ungrouped
// conv2d and for its input gradient, which is the same kind of conv of dy
// with the kernel rotated by 180 degrees and its channel axes swapped.
// Follows Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks"
// (CVPR 2016): the F(4x4, 3x3) transforms built on the points 0, 1, -1, 2,
// -2 and infinity, and one GEMM per point xi of the 6x6 transformed tile,
//   M[xi] (O, tiles) = U[xi] (O, C) x V[xi] (C, tiles),
// with U = G w G^T, V = B^T d B and y = A^T M A tile by tile.
//
// F(4x4, 3x3) rather than F(2x2, 3x3): 2.25 multiplications per output
// instead of 4 (im2col: 9), which is what pays on a CPU. The price is
// accuracy: fp32 results are off by about 5e-6 of the output's scale (im2col:
// about 3e-7), because the transforms mix values with weights up to 8 and
// 1/24. That is far below what matters for training, but the op tests
// compare this path with looser tolerances.
//
// Work layout: the weights are transformed once per call, straight into the
// micro-kernel's A panels (gemm_kernels.h), one set per point; with a single
// block of tiles, each task transforms those of its own output channels, so
// that U (36 C O floats) never makes the round trip through memory. Tiles are
// numbered over images, then rows, then columns. A pass over as many tiles
// as keep their transformed input (36 C floats a tile) within 512 KiB a
// thread first transforms it into B panels (tasks: blocks of 32 tiles x
// channel chunks), then runs the 36 GEMMs and the output transform for each
// block of tiles and block of output channels, the products kept per thread.
// Transforms work on 8 tiles at a time: plain loops for any CPU, AVX2 + FMA
// intrinsics where the CPU has them, picked at run time like the GEMM
// kernels. Every output element is one task's, summed over the channels in an
// order fixed by the shape, so results do not depend on the thread count
// (which only sizes the passes and tasks).
//
// It runs only at float32 precision 'high' (tg.setFloat32Precision('high');
// the default 'highest' keeps every convolution direct, as PyTorch's are).
// TG_CONV_WINOGRAD=0 turns this path off, =1 takes it for every conv that
// qualifies (3x3, stride 1, dilation 1, groups 1) whatever the precision;
// unset, the precision and the measured rule in pays() decide. Read once.
#include "conv_winograd.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>

#include "../core/allocator.h"
#include "../core/error.h"
#include "../core/precision.h"
#include "../core/thread_pool.h"
#include "gemm_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TG_AVX2 __attribute__((target("avx2,fma")))
#endif
// The AVX2 helpers pass registers through arrays: they must be inlined.
#define TG_INLINE inline __attribute__((always_inline))

namespace tg {

namespace {

constexpr int kLanes = 8;       // tiles transformed at once
constexpr int kIn = 6;          // input tile side: 4 outputs + 3 - 1
constexpr int kOut = 4;         // output tile side
constexpr int kPoints = 36;     // kIn * kIn: one GEMM each
constexpr int64_t kBlockTiles = 32;  // GEMM columns per task: a multiple of every kernel's nr
constexpr int kGroups = kBlockTiles / kLanes;
constexpr int64_t kBlockRows = 64;   // output channels per task at most
// Transformed input per pass and thread: 512 KiB, so that the GEMMs find
// most of it still in L2.
constexpr int64_t kPassFloats = int64_t{1} << 17;
// Floats added to the distance between the 36 points' matrices (U, V, M):
// at a multiple of 4 KiB, the 36 reads or writes of one tile would all fall
// in the same L1 set and evict each other.
constexpr int64_t kSkew = 16;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// The conv computed here, whichever op it serves: output (oy, ox) of channel
// co reads input (oy - pt + ky, ox - pl + kx) of every channel ci, weighted by
// tap (ky, kx) of the 9 floats at wt + co so + ci si, stored row by row, or
// rotated by 180 degrees when `flip`; reads outside the input are zero.
struct Problem {
  int64_t n, cin, cout, h, w, ho, wo, pt, pl;
  const float* x;  // (N, Cin, H, W)
  const float* wt;
  int64_t so, si;
  bool flip;
  const float* bias;  // (Cout) or null
  float* y;           // (N, Cout, Ho, Wo)
  int64_t th() const { return ceil_div(ho, kOut); }
  int64_t tw() const { return ceil_div(wo, kOut); }
  int64_t tiles() const { return n * th() * tw(); }
};

// Where the tiles [t0, t0 + 8) lie; tiles past the end are unused.
struct Lanes {
  int64_t n[kLanes], oy[kLanes], ox[kLanes];  // image and top-left output of the tile
  bool used[kLanes];
};

Lanes lanes_at(const Problem& p, int64_t t0) {
  Lanes ln;
  const int64_t tw = p.tw(), per_image = p.th() * tw;
  for (int l = 0; l < kLanes; ++l) {
    const int64_t t = t0 + l;
    ln.used[l] = t < p.tiles();
    ln.n[l] = t / per_image;
    ln.oy[l] = t % per_image / tw * kOut;
    ln.ox[l] = t % tw * kOut;
  }
  return ln;
}

// Where the B panels of a pass go: V (36, panels, Cin, nr); tile t of the
// pass, channel c, point xi at v[xi vs + (t / nr Cin + c) nr + t % nr].
struct PassPanels {
  float* v;
  int64_t vs, t0;  // t0: the pass's first tile
  int nr;
};

float* panel_at(const Problem& p, const PassPanels& out, int64_t t) {
  const int64_t rel = t - out.t0;
  return out.v + (rel / out.nr * p.cin) * out.nr + rel % out.nr;
}

// ---- portable stages: plain loops over the lanes ----
// Each 1-d transform maps z[k zs + l] to o[k os + l] for every lane l.

// B^T z; rows of B^T: [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0],
// [0 -2 -1 2 1 0], [0 2 -1 -2 1 0], [0 4 0 -5 0 1].
void input_1d(const float* __restrict z, int64_t zs, float* __restrict o, int64_t os) {
  for (int l = 0; l < kLanes; ++l) {
    const float z0 = z[l], z1 = z[zs + l], z2 = z[2 * zs + l], z3 = z[3 * zs + l], z4 = z[4 * zs + l],
                z5 = z[5 * zs + l];
    const float a = z4 - 4.0f * z2, b = z3 - 4.0f * z1, c = z4 - z2, e = 2.0f * (z3 - z1);
    o[l] = 4.0f * z0 - 5.0f * z2 + z4;
    o[os + l] = a + b;
    o[2 * os + l] = a - b;
    o[3 * os + l] = c + e;
    o[4 * os + l] = c - e;
    o[5 * os + l] = 4.0f * z1 - 5.0f * z3 + z5;
  }
}

// A^T z; rows of A^T: [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0], [0 1 -1 8 -8 1].
void output_1d(const float* __restrict z, int64_t zs, float* __restrict o, int64_t os) {
  for (int l = 0; l < kLanes; ++l) {
    const float z0 = z[l], z1 = z[zs + l], z2 = z[2 * zs + l], z3 = z[3 * zs + l], z4 = z[4 * zs + l],
                z5 = z[5 * zs + l];
    const float s12 = z1 + z2, d12 = z1 - z2, s34 = z3 + z4, d34 = z3 - z4;
    o[l] = z0 + s12 + s34;
    o[os + l] = d12 + 2.0f * d34;
    o[2 * os + l] = s12 + 4.0f * s34;
    o[3 * os + l] = d12 + 8.0f * d34 + z5;
  }
}

// G z; rows of G: [1/4 0 0], [-1/6 -1/6 -1/6], [-1/6 1/6 -1/6],
// [1/24 1/12 1/6], [1/24 -1/12 1/6], [0 0 1]. L lanes.
template <int L>
void weight_1d(const float* __restrict z, int64_t zs, float* __restrict o, int64_t os) {
  constexpr float kSixth = 1.0f / 6.0f;
  for (int l = 0; l < L; ++l) {
    const float g0 = z[l], g1 = z[zs + l], g2 = z[2 * zs + l];
    const float a = g0 + g2, b = 0.25f * g0 + g2;
    o[l] = 0.25f * g0;
    o[os + l] = -(a + g1) * kSixth;
    o[2 * os + l] = (g1 - a) * kSixth;
    o[3 * os + l] = (b + 0.5f * g1) * kSixth;
    o[4 * os + l] = (b - 0.5f * g1) * kSixth;
    o[5 * os + l] = g2;
  }
}

// U = G w G^T for output channels [o0, o0 + MR) and input channels [c0, c1)
// as one k block of an A panel: point xi's (c1 - c0, MR) at u + xi * us.
// Rows past Cout are zero.
template <int MR>
void weights_base(const Problem& p, int64_t o0, int64_t c0, int64_t c1, float* u, int64_t us) {
  float g[9 * MR], t[18 * MR], v[kPoints * MR];
  for (int64_t c = c0; c < c1; ++c) {
    for (int i = 0; i < MR; ++i) {
      const bool row = o0 + i < p.cout;
      const float* w = p.wt + (o0 + i) * p.so + c * p.si;
      for (int k = 0; k < 9; ++k) g[k * MR + i] = row ? w[p.flip ? 8 - k : k] : 0.0f;
    }
    for (int kx = 0; kx < 3; ++kx) weight_1d<MR>(g + kx * MR, 3 * MR, t + kx * MR, 3 * MR);
    for (int i = 0; i < kIn; ++i) weight_1d<MR>(t + i * 3 * MR, MR, v + i * kIn * MR, MR);
    for (int xi = 0; xi < kPoints; ++xi) std::memcpy(u + xi * us + (c - c0) * MR, v + xi * MR, MR * sizeof(float));
  }
}

// V = B^T d B for the kBlockTiles tiles from tile t, channels [c0, c1).
void inputs_base(const Problem& p, int64_t t, int64_t c0, int64_t c1, const PassPanels& out) {
  float d[kPoints * kLanes], tmp[kPoints * kLanes];  // (36, kLanes): the windows, then B^T d
  const int64_t plane = p.h * p.w;
  for (int gi = 0; gi < kGroups; ++gi, t += kLanes) {
    const Lanes ln = lanes_at(p, t);
    float* v = panel_at(p, out, t);
    for (int64_t c = c0; c < c1; ++c) {
      for (int l = 0; l < kLanes; ++l) {
        if (!ln.used[l]) {
          for (int k = 0; k < kPoints; ++k) d[k * kLanes + l] = 0.0f;
          continue;
        }
        const int64_t iy = ln.oy[l] - p.pt, ix = ln.ox[l] - p.pl;
        const float* xc = p.x + (ln.n[l] * p.cin + c) * plane;
        for (int r = 0; r < kIn; ++r) {
          const bool row = iy + r >= 0 && iy + r < p.h;
          for (int s = 0; s < kIn; ++s) {
            const bool in = row && ix + s >= 0 && ix + s < p.w;
            d[(r * kIn + s) * kLanes + l] = in ? xc[(iy + r) * p.w + ix + s] : 0.0f;
          }
        }
      }
      for (int s = 0; s < kIn; ++s) input_1d(d + s * kLanes, kIn * kLanes, tmp + s * kLanes, kIn * kLanes);
      for (int i = 0; i < kIn; ++i) {
        input_1d(tmp + i * kIn * kLanes, kLanes, v + c * out.nr + i * kIn * out.vs, out.vs);
      }
    }
  }
}

// y = A^T M A + bias for output channels [o0, o0 + rows) of the tiles
// [t, t + count): point xi of channel o0 + o, tile t + j at m[xi ms + o ld + j].
void outputs_base(const Problem& p, const float* m, int64_t ms, int64_t ld, int64_t o0, int64_t rows, int64_t t,
                  int64_t count) {
  float tmp[kOut * kIn * kLanes], y[kOut * kOut * kLanes];
  const int64_t plane = p.ho * p.wo;
  for (int64_t j = 0; j < count; j += kLanes) {
    const Lanes ln = lanes_at(p, t + j);
    for (int64_t o = 0; o < rows; ++o) {
      const float* mo = m + o * ld + j;
      for (int s = 0; s < kIn; ++s) {
        output_1d(mo + s * ms, kIn * ms, tmp + s * kLanes, kIn * kLanes);
      }
      for (int i = 0; i < kOut; ++i) output_1d(tmp + i * kIn * kLanes, kLanes, y + i * kOut * kLanes, kLanes);
      const float b = p.bias ? p.bias[o0 + o] : 0.0f;
      for (int l = 0; l < kLanes; ++l) {
        if (!ln.used[l]) continue;
        float* dst = p.y + (ln.n[l] * p.cout + o0 + o) * plane + ln.oy[l] * p.wo + ln.ox[l];
        const int64_t ry = std::min<int64_t>(kOut, p.ho - ln.oy[l]), rx = std::min<int64_t>(kOut, p.wo - ln.ox[l]);
        for (int64_t i = 0; i < ry; ++i) {
          for (int64_t k = 0; k < rx; ++k) dst[i * p.wo + k] = y[(i * kOut + k) * kLanes + l] + b;
        }
      }
    }
  }
}

#if defined(__x86_64__)
// ---- AVX2 + FMA stages: one register holds a value of 8 tiles (or 8 weight rows) ----
// The windows are read a row per tile with masked loads (no reads past the
// image, zeros for the padding) and turned into registers across tiles with
// 8x8 transposes; outputs go back the same way, four floats a tile row.

TG_AVX2 TG_INLINE void input_1d(const __m256* z, __m256* o) {
  const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f);
  const __m256 a = _mm256_fnmadd_ps(four, z[2], z[4]), b = _mm256_fnmadd_ps(four, z[1], z[3]);
  const __m256 c = _mm256_sub_ps(z[4], z[2]), e = _mm256_mul_ps(two, _mm256_sub_ps(z[3], z[1]));
  o[0] = _mm256_fmadd_ps(four, z[0], _mm256_fnmadd_ps(five, z[2], z[4]));
  o[1] = _mm256_add_ps(a, b);
  o[2] = _mm256_sub_ps(a, b);
  o[3] = _mm256_add_ps(c, e);
  o[4] = _mm256_sub_ps(c, e);
  o[5] = _mm256_fmadd_ps(four, z[1], _mm256_fnmadd_ps(five, z[3], z[5]));
}

TG_AVX2 TG_INLINE void output_1d(const __m256* z, __m256* o) {
  const __m256 s12 = _mm256_add_ps(z[1], z[2]), d12 = _mm256_sub_ps(z[1], z[2]);
  const __m256 s34 = _mm256_add_ps(z[3], z[4]), d34 = _mm256_sub_ps(z[3], z[4]);
  o[0] = _mm256_add_ps(_mm256_add_ps(z[0], s12), s34);
  o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), d34, d12);
  o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), s34, s12);
  o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), d34, d12), z[5]);
}

TG_AVX2 TG_INLINE void weight_1d(const __m256* z, __m256* o) {
  const __m256 quarter = _mm256_set1_ps(0.25f), half = _mm256_set1_ps(0.5f), sixth = _mm256_set1_ps(1.0f / 6.0f);
  const __m256 a = _mm256_add_ps(z[0], z[2]), b = _mm256_fmadd_ps(quarter, z[0], z[2]);
  o[0] = _mm256_mul_ps(quarter, z[0]);
  o[1] = _mm256_mul_ps(_mm256_add_ps(a, z[1]), _mm256_set1_ps(-1.0f / 6.0f));
  o[2] = _mm256_mul_ps(_mm256_sub_ps(z[1], a), sixth);
  o[3] = _mm256_mul_ps(_mm256_fmadd_ps(half, z[1], b), sixth);
  o[4] = _mm256_mul_ps(_mm256_fnmadd_ps(half, z[1], b), sixth);
  o[5] = z[2];
}

// The columns of the 8x8 matrix whose row l is r[l]: c[s] holds r[0][s] .. r[7][s].
TG_AVX2 TG_INLINE void transpose_8x8(const __m256* r, __m256* c) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  // u_k holds column k of rows 0..3 in its low half and column k + 4 in its high half (v_k: rows 4..7).
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 v0 = _mm256_shuffle_ps(t4, t6, 0x44), v1 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 v2 = _mm256_shuffle_ps(t5, t7, 0x44), v3 = _mm256_shuffle_ps(t5, t7, 0xEE);
  c[0] = _mm256_permute2f128_ps(u0, v0, 0x20);
  c[1] = _mm256_permute2f128_ps(u1, v1, 0x20);
  c[2] = _mm256_permute2f128_ps(u2, v2, 0x20);
  c[3] = _mm256_permute2f128_ps(u3, v3, 0x20);
  c[4] = _mm256_permute2f128_ps(u0, v0, 0x31);
  c[5] = _mm256_permute2f128_ps(u1, v1, 0x31);
  c[6] = _mm256_permute2f128_ps(u2, v2, 0x31);
  c[7] = _mm256_permute2f128_ps(u3, v3, 0x31);
}

// Stores the first n floats of v (masked stores are microcoded and slow on
// some AMD cores, so this goes 4, 2 and 1 at a time).
TG_AVX2 TG_INLINE void store_first(float* dst, __m128 v, int n) {
  if (n >= 4) return _mm_storeu_ps(dst, v);
  if (n >= 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(dst), v);
    dst += 2;
    n -= 2;
    v = _mm_movehl_ps(v, v);
  }
  if (n >= 1) _mm_store_ss(dst, v);
}

TG_AVX2 TG_INLINE void store_first(float* dst, __m256 v, int n) {
  if (n >= 8) return _mm256_storeu_ps(dst, v);
  const __m128 lo = _mm256_castps256_ps128(v);
  if (n <= 4) return store_first(dst, lo, n);
  _mm_storeu_ps(dst, lo);
  store_first(dst + 4, _mm256_extractf128_ps(v, 1), n - 4);
}

// The taps of 8 weight rows are read a row at a time (8 floats and the
// ninth) and transposed into registers across rows.
template <int MR>
TG_AVX2 void weights_avx2(const Problem& p, int64_t o0, int64_t c0, int64_t c1, float* u, int64_t us) {
  for (int k = 0; k < MR; k += kLanes) {
    // Rows o0 + k + l: read while below Cout, stored while within the panel.
    const int store = std::min(MR - k, kLanes);
    const int rows = static_cast<int>(std::min<int64_t>(p.cout - o0 - k, store));
    for (int64_t c = c0; c < c1; ++c) {
      const float* w = p.wt + (o0 + k) * p.so + c * p.si;
      __m256 r[kLanes], taps[9], g[9], t[18], z[3], o[kIn];
      alignas(32) float last[kLanes] = {};
      for (int l = 0; l < kLanes; ++l) {
        r[l] = l < rows ? _mm256_loadu_ps(w + l * p.so) : _mm256_setzero_ps();
        if (l < rows) last[l] = w[l * p.so + 8];
      }
      transpose_8x8(r, taps);
      taps[8] = _mm256_load_ps(last);
      for (int q = 0; q < 9; ++q) g[q] = taps[p.flip ? 8 - q : q];
      for (int kx = 0; kx < 3; ++kx) {
        for (int ky = 0; ky < 3; ++ky) z[ky] = g[ky * 3 + kx];
        weight_1d(z, o);
        for (int i = 0; i < kIn; ++i) t[i * 3 + kx] = o[i];
      }
      for (int i = 0; i < kIn; ++i) {
        weight_1d(t + i * 3, o);
        for (int j = 0; j < kIn; ++j) store_first(u + (i * kIn + j) * us + (c - c0) * MR + k, o[j], store);
      }
    }
  }
}

TG_AVX2 void inputs_avx2(const Problem& p, int64_t t, int64_t c0, int64_t c1, const PassPanels& out) {
  const int64_t plane = p.h * p.w;
  const __m256i col = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i window = _mm256_cmpgt_epi32(_mm256_set1_epi32(kIn), col);
  // Per tile and window row: where the row starts in channel 0 of the
  // tile's image, and which of its 8 floats to load. Rows that read no
  // float point at the plane's start: masked loads from unmapped pages are slow.
  int64_t off[kGroups][kLanes][kIn];
  __m256i mask[kGroups][kLanes][kIn];
  float* v[kGroups];
  for (int gi = 0; gi < kGroups; ++gi) {
    const Lanes ln = lanes_at(p, t + gi * kLanes);
    for (int l = 0; l < kLanes; ++l) {
      const int64_t iy = ln.oy[l] - p.pt, ix = ln.ox[l] - p.pl;
      const __m256i x = _mm256_add_epi32(col, _mm256_set1_epi32(static_cast<int>(ix)));
      const __m256i cols = _mm256_and_si256(
          window, _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), x),
                                      _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(p.w)), x)));
      for (int r = 0; r < kIn; ++r) {
        const bool row = ln.used[l] && iy + r >= 0 && iy + r < p.h;
        off[gi][l][r] = row ? ln.n[l] * p.cin * plane + (iy + r) * p.w + ix : 0;
        mask[gi][l][r] = row ? cols : _mm256_setzero_si256();
      }
    }
    v[gi] = panel_at(p, out, t + gi * kLanes);
  }
  // Channel by channel, so that the reads stream through one plane at a time.
  for (int64_t c = c0; c < c1; ++c) {
    const float* xc = p.x + c * plane;
    for (int gi = 0; gi < kGroups; ++gi) {
      __m256 tmp[kPoints], rows[kLanes], cols[kLanes], z[kIn], o[kIn];  // tmp: d B, row r at tmp + 6 r
      for (int r = 0; r < kIn; ++r) {
        for (int l = 0; l < kLanes; ++l) rows[l] = _mm256_maskload_ps(xc + off[gi][l][r], mask[gi][l][r]);
        transpose_8x8(rows, cols);
        input_1d(cols, tmp + r * kIn);
      }
      // The next channel's plane is far from this one: no hardware
      // prefetcher guesses the jump. The rows' two ends and middle cover them.
      if (c + 1 < c1) {
        for (int r = 0; r < kIn; ++r) {
          for (int l : {0, kLanes / 2, kLanes - 1}) {
            _mm_prefetch(reinterpret_cast<const char*>(xc + plane + off[gi][l][r]), _MM_HINT_T0);
          }
        }
      }
      float* vc = v[gi] + c * out.nr;
      for (int j = 0; j < kIn; ++j) {
        for (int r = 0; r < kIn; ++r) z[r] = tmp[r * kIn + j];
        input_1d(z, o);
        for (int i = 0; i < kIn; ++i) _mm256_storeu_ps(vc + (i * kIn + j) * out.vs, o[i]);
      }
    }
  }
}

TG_AVX2 void outputs_avx2(const Problem& p, const float* m, int64_t ms, int64_t ld, int64_t o0, int64_t rows,
                          int64_t t, int64_t count) {
  const int64_t plane = p.ho * p.wo;
  for (int64_t j = 0; j < count; j += kLanes) {
    const Lanes ln = lanes_at(p, t + j);
    // Per tile: its output (0, 0) in channel 0 of its image, and the rows and columns inside the output.
    int64_t base[kLanes], ry[kLanes];
    int rx[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      base[l] = ln.n[l] * p.cout * plane + ln.oy[l] * p.wo + ln.ox[l];
      ry[l] = ln.used[l] ? std::min<int64_t>(kOut, p.ho - ln.oy[l]) : 0;
      rx[l] = static_cast<int>(std::min<int64_t>(kOut, p.wo - ln.ox[l]));
    }
    for (int64_t o = 0; o < rows; ++o) {
      const float* mo = m + o * ld + j;
      const __m256 bias = _mm256_set1_ps(p.bias ? p.bias[o0 + o] : 0.0f);
      __m256 tmp[kOut * kIn], z[kIn], y[kOut];  // tmp: A^T M, row i at tmp + 6 i
      for (int s = 0; s < kIn; ++s) {
        for (int r = 0; r < kIn; ++r) z[r] = _mm256_loadu_ps(mo + (r * kIn + s) * ms);
        output_1d(z, y);
        for (int i = 0; i < kOut; ++i) tmp[i * kIn + s] = y[i];
      }
      float* yo = p.y + (o0 + o) * plane;
      for (int i = 0; i < kOut; ++i) {
        output_1d(tmp + i * kIn, y);
        for (int k = 0; k < kOut; ++k) y[k] = _mm256_add_ps(y[k], bias);
        // Row i of each tile: 4 floats, tiles 0..3 in the low halves and 4..7 in the high ones.
        const __m256 a = _mm256_unpacklo_ps(y[0], y[1]), b = _mm256_unpackhi_ps(y[0], y[1]);
        const __m256 c = _mm256_unpacklo_ps(y[2], y[3]), d = _mm256_unpackhi_ps(y[2], y[3]);
        const __m256 q[4] = {_mm256_shuffle_ps(a, c, 0x44), _mm256_shuffle_ps(a, c, 0xEE),
                             _mm256_shuffle_ps(b, d, 0x44), _mm256_shuffle_ps(b, d, 0xEE)};
        for (int l = 0; l < kLanes; ++l) {
          if (i >= ry[l]) continue;
          const __m128 r = l < 4 ? _mm256_castps256_ps128(q[l]) : _mm256_extractf128_ps(q[l - 4], 1);
          store_first(yo + base[l] + i * p.wo, r, rx[l]);
        }
      }
    }
  }
}
#endif

// One ISA's copies of the stages; weights are packed for the GEMM kernel's mr.
struct Stages {
  int mr;
  void (*weights)(const Problem&, int64_t o0, int64_t c0, int64_t c1, float* u, int64_t us);
  void (*inputs)(const Problem&, int64_t t, int64_t c0, int64_t c1, const PassPanels& out);
  void (*outputs)(const Problem&, const float* m, int64_t ms, int64_t ld, int64_t o0, int64_t rows, int64_t t,
                  int64_t count);
};

// The stages for a SIMD level, matching gemm_kernel_for(level)'s mr.
const Stages& stages_for(SimdLevel level) {
  static const Stages base{4, weights_base<4>, inputs_base, outputs_base};
#if defined(__x86_64__)
  static const Stages avx2{6, weights_avx2<6>, inputs_avx2, outputs_avx2};
  static const Stages avx512{12, weights_avx2<12>, inputs_avx2, outputs_avx2};
  if (level == SimdLevel::avx512) return avx512;
  if (level == SimdLevel::avx2) return avx2;
#endif
  return base;
}

// Tasks to aim for, so that uneven task costs still balance across threads.
int64_t target_tasks() {
  const int64_t threads = thread_pool().size();
  return threads == 1 ? 1 : 4 * threads;
}

// A per-thread buffer, grown on demand and aligned for the micro-kernel.
class Scratch {
 public:
  float* get(int64_t count) {
    const size_t need = static_cast<size_t>(std::max<int64_t>(count, 1));
    if (need > cap_) {
      const size_t bytes = (need * sizeof(float) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
      float* p = static_cast<float*>(std::aligned_alloc(kHostAlignment, bytes));
      TG_CHECK(p != nullptr, "ERR_TG_OOM", "conv: out of memory for a ", bytes, "-byte work buffer");
      buf_.reset(p);
      cap_ = need;
    }
    return buf_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> buf_;
  size_t cap_ = 0;
};

void winograd(const Problem& p) {
  const SimdLevel level = simd_level();
  const GemmKernel& kern = gemm_kernel_for(level);
  const Stages& st = stages_for(level);
  TG_CHECK(st.mr == kern.mr && kBlockTiles % kern.nr == 0, "ERR_TG_INTERNAL", "conv winograd: panels for mr = ",
           st.mr, " and ", kBlockTiles, " tiles do not fit the ", kern.name, " kernel (", kern.mr, " x ", kern.nr, ")");
  const int mr = kern.mr, nr = kern.nr;
  const int64_t kblocks = ceil_div(p.cin, kern.kc), kcb = ceil_div(p.cin, kblocks);

  const int64_t tiles = p.tiles(), tb = kBlockTiles, blocks = ceil_div(tiles, tb);
  // The big buffers are kept by the calling thread between calls: fresh
  // pages would cost as much to fault in as the transforms that fill them.
  thread_local Scratch u_buf, v_buf, m_buf, slice_buf;
  // U: the 36 (Cout, Cin) matrices as A panels, grouped by k block and row
  // panel so that transforming one group writes within a few hundred KiB: in
  // a buffer for `rows` output channels from o0, k block pc (of kc channels)
  // starts at pc / kcb block_floats(rows), the row panel of rows o.. within
  // it at (o - o0) / mr 36 panel_floats(kc), and point xi's panel
  // xi panel_floats(kc) after that.
  auto panel_floats = [&](int64_t kc) { return kc * mr + kSkew; };
  auto block_floats = [&](int64_t rows) { return rows / mr * kPoints * panel_floats(kcb); };
  auto panel_a = [&](float* u, int64_t rows, int64_t o0, int64_t xi, int64_t pc, int64_t kc, int64_t o) {
    return u + pc / kcb * block_floats(rows) + ((o - o0) / mr * kPoints + xi) * panel_floats(kc);
  };
  // Transforms the weights of rows [o0, o0 + rows) into such a buffer; `run`
  // spreads the (row panel, k block) items over the pool or not.
  auto transform_weights = [&](float* u, int64_t o0, int64_t rows, auto run) {
    run(rows / mr * kblocks, [&](int64_t item) {
      const int64_t o = o0 + item / kblocks * mr, pc = item % kblocks * kcb, kc = std::min(kcb, p.cin - pc);
      st.weights(p, o, pc, pc + kc, panel_a(u, rows, o0, 0, pc, kc, o), panel_floats(kc));
    });
  };
  auto serial = [](int64_t n, auto fn) {
    for (int64_t i = 0; i < n; ++i) fn(i);
  };
  // With a single block of tiles each output channel's U is used once: the
  // tasks transform their own rows right before their GEMMs, so U never makes
  // the round trip through memory (for 512 channels it is 36 MiB).
  const bool own_weights = blocks == 1;
  const int64_t rows_pad = round_up(p.cout, mr);
  float* u = own_weights ? nullptr : u_buf.get(kblocks * block_floats(rows_pad));
  if (!own_weights) {
    transform_weights(u, 0, rows_pad, [](int64_t n, auto fn) { thread_pool().parallel_for(n, fn); });
  }

  const int64_t pass_blocks =
      std::clamp<int64_t>(kPassFloats * thread_pool().size() / (kPoints * p.cin * tb), 1, blocks);
  const PassPanels panels{nullptr, pass_blocks * tb * p.cin + kSkew, 0, nr};
  float* v = v_buf.get(kPoints * panels.vs);
  // Output channel blocks, halved while tasks would be too few to share out.
  int64_t ob = std::min(rows_pad, round_up(kBlockRows, mr));
  while (pass_blocks * ceil_div(rows_pad, ob) < target_tasks() && ob >= 2 * mr) {
    ob = round_up(ob / 2, mr);
  }
  const int64_t oblocks = ceil_div(rows_pad, ob);

  for (int64_t b0 = 0; b0 < blocks; b0 += pass_blocks) {
    const int64_t nb = std::min(pass_blocks, blocks - b0), t0 = b0 * tb;
    const PassPanels out{v, panels.vs, t0, nr};
    int64_t chunks = 1;
    while (nb * chunks < target_tasks() && p.cin >= 16 * chunks) chunks *= 2;
    const int64_t chunk = ceil_div(p.cin, chunks);
    thread_pool().parallel_for(nb * chunks, [&](int64_t item) {
      const int64_t c0 = item % chunks * chunk, c1 = std::min(p.cin, c0 + chunk);
      if (c0 < c1) st.inputs(p, t0 + item / chunks * tb, c0, c1, out);
    });
    thread_pool().parallel_for(nb * oblocks, [&](int64_t item) {
      const int64_t bi = item / oblocks, o0 = item % oblocks * ob, rows = std::min(p.cout, o0 + ob) - o0;
      const int64_t mrows = round_up(rows, mr), bt = t0 + bi * tb;
      const int64_t ms = mrows * tb + kSkew;
      float* m = m_buf.get(kPoints * ms);  // point xi's (mrows, tb) at m + xi ms
      float* ua = u;  // U for rows [ua_o0, ua_o0 + ua_rows)
      int64_t ua_o0 = 0, ua_rows = rows_pad;
      if (own_weights) {
        ua = slice_buf.get(kblocks * block_floats(mrows));
        ua_o0 = o0;
        ua_rows = mrows;
        transform_weights(ua, o0, mrows, serial);
      }
      for (int xi = 0; xi < kPoints; ++xi) {
        float* mx = m + xi * ms;  // M[xi]: (mrows, tb)
        for (int64_t pc = 0; pc < p.cin; pc += kcb) {
          const int64_t kc = std::min(kcb, p.cin - pc);
          // The block's B panels for channels [pc, pc + kc): (kc, nr) each, Cin nr floats apart.
          const float* b = v + xi * panels.vs + (bi * tb / nr * p.cin + pc) * nr;
          for (int64_t j = 0; j < tb / nr; ++j) {
            for (int64_t i = 0; i < mrows; i += mr) {
              const float* a = panel_a(ua, ua_rows, ua_o0, xi, pc, kc, o0 + i);
              const int live = static_cast<int>(std::min<int64_t>(mr, rows - i));
              kern.fn(kc, a, b + j * p.cin * nr, nr, mx + i * tb + j * nr, tb, 1.0f, pc == 0 ? 0.0f : 1.0f, live);
            }
          }
        }
      }
      st.outputs(p, m, ms, tb, o0, rows, bt, std::min(tb, tiles - bt));
    });
  }
}

// Where the Winograd path beats im2col, measured with one thread on a 2-core
// AVX2 VM (Zen 3) for ResNet's 3x3 stride-1 convs, C = O = 64 @ 56x56, 128 @
// 28x28, 256 @ 14x14 and 512 @ 7x7, forward and input gradient. From 32
// output tiles of 4x4 up it takes 1.5-2.8x less time (batch 8: 2.0-2.2x,
// 2.7-2.8x, 1.8-1.9x and 1.5-1.6x; 256 @ 14x14 at batch 2, 32 tiles:
// 1.9-2.3x). At 16 tiles it is a toss-up (0.7-1.8x: 128 and 256 @ 14x14 at
// batch 1, 256 and 512 @ 7x7 at batch 4) and below it loses (512 @ 7x7 at
// batch 1 and 2: 0.5-0.7x): the transformed weights, 36 C O floats, cost the
// same whatever the tile count. With fewer than 32 channels in or out the
// GEMMs are too thin to gain (C = O = 16 @ 56x56: 0.8-1x; 3 -> 64 channels:
// 0.7-0.8x), while C = O = 32 gains 1.4-1.6x.
constexpr int64_t kMinChannels = 32;
constexpr int64_t kMinTiles = 32;

bool pays(int64_t cin, int64_t cout, int64_t tiles) {
  return std::min(cin, cout) >= kMinChannels && tiles >= kMinTiles;
}

bool qualifies(const ConvGeom& g) {
  return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.groups == 1;
}

// TG_CONV_WINOGRAD: -1 unset (the rule decides), 0 never, 1 whenever the geometry qualifies.
int forced() {
  static const int mode = [] {
    const char* env = std::getenv("TG_CONV_WINOGRAD");
    if (!env || !*env) return -1;
    return std::strcmp(env, "0") == 0 ? 0 : 1;
  }();
  return mode;
}

// cin, cout, oh, ow: the channels and output size of the conv as computed here.
bool use(const ConvGeom& g, int64_t cin, int64_t cout, int64_t oh, int64_t ow) {
  if (!qualifies(g)) return false;
  const int mode = forced();
  if (mode >= 0) return mode == 1;
  return float32_precision() == Float32Precision::high && pays(cin, cout, g.n * ceil_div(oh, kOut) * ceil_div(ow, kOut));
}

}  // namespace

bool use_winograd_forward(const ConvGeom& g) { return use(g, g.c, g.o, g.ho, g.wo); }

bool use_winograd_backward_input(const ConvGeom& g) { return use(g, g.o, g.c, g.h, g.w); }

void conv_forward_winograd(const ConvGeom& g, const float* x, const float* weight, const float* bias, float* y) {
  // weight (O, C, 3, 3) read as (out, in, ky, kx).
  const Problem p{g.n, g.c, g.o, g.h, g.w, g.ho, g.wo, g.pt, g.pl, x, weight, g.c * 9, 9, false, bias, y};
  winograd(p);
}

void conv_backward_input_winograd(const ConvGeom& g, const float* dy, const float* weight, const float* bias,
                                  float* dx) {
  // dx (iy, ix) gathers dy (iy + pt - ky, ix + pl - kx) w[., ., ky, kx]: a
  // conv of dy with padding 2 - pt, 2 - pl and the kernel w[o, c] rotated,
  // read as (out = c, in = o).
  const Problem p{g.n, g.o, g.c, g.ho, g.wo, g.h, g.w, 2 - g.pt, 2 - g.pl, dy, weight, 9, g.c * 9, true, bias, dx};
  winograd(p);
}

}  // namespace tg
