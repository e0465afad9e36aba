#include "cast.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "../core/error.h"
#include "../core/thread_pool.h"

namespace tg {

namespace {

// Storage types: half types travel as their 16-bit patterns.
struct F16 { uint16_t bits; };
struct BF16 { uint16_t bits; };
struct Bool { uint8_t v; };

template <typename T> inline double to_double(T v) { return static_cast<double>(v); }
template <> inline double to_double(F16 v) { return f16_to_f32(v.bits); }
template <> inline double to_double(BF16 v) { return bf16_to_f32(v.bits); }
template <> inline double to_double(Bool v) { return v.v ? 1.0 : 0.0; }

template <typename T> inline T from_double(double d) { return static_cast<T>(d); }
// Out-of-range and NaN float -> int conversions are undefined in C++; saturate
// them (NaN -> 0) so a bad value gives a visible number, not a crash.
template <typename I> inline I saturate(double d) {
  if (std::isnan(d)) return 0;
  if (d <= static_cast<double>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  if (d >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(d);
}
template <> inline int32_t from_double(double d) { return saturate<int32_t>(d); }
template <> inline int64_t from_double(double d) { return saturate<int64_t>(d); }
template <> inline uint8_t from_double(double d) { return saturate<uint8_t>(d); }
template <> inline F16 from_double(double d) { return F16{f32_to_f16(static_cast<float>(d))}; }
template <> inline BF16 from_double(double d) { return BF16{f32_to_bf16(static_cast<float>(d))}; }
template <> inline Bool from_double(double d) { return Bool{static_cast<uint8_t>(d != 0.0)}; }

template <typename S, typename D>
void convert(const S* src, D* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = from_double<D>(to_double(src[i]));
}

// i64 -> i64 must not pass through a double (it would lose bits above 2^53).
template <>
void convert(const int64_t* src, int64_t* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(int64_t));
}

template <typename S>
void convert_from(const S* src, void* dst, DType dst_type, int64_t n) {
  switch (dst_type) {
    case DType::f32: return convert(src, static_cast<float*>(dst), n);
    case DType::f16: return convert(src, static_cast<F16*>(dst), n);
    case DType::bf16: return convert(src, static_cast<BF16*>(dst), n);
    case DType::i32: return convert(src, static_cast<int32_t*>(dst), n);
    case DType::i64: return convert(src, static_cast<int64_t*>(dst), n);
    case DType::u8: return convert(src, static_cast<uint8_t*>(dst), n);
    case DType::boolean: return convert(src, static_cast<Bool*>(dst), n);
  }
}

void cast_range(const void* src, DType st, void* dst, DType dt, int64_t n) {
  if (st == dt) {
    std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(st));
    return;
  }
  switch (st) {
    case DType::f32: return convert_from(static_cast<const float*>(src), dst, dt, n);
    case DType::f16: return convert_from(static_cast<const F16*>(src), dst, dt, n);
    case DType::bf16: return convert_from(static_cast<const BF16*>(src), dst, dt, n);
    case DType::i32: return convert_from(static_cast<const int32_t*>(src), dst, dt, n);
    case DType::i64: return convert_from(static_cast<const int64_t*>(src), dst, dt, n);
    case DType::u8: return convert_from(static_cast<const uint8_t*>(src), dst, dt, n);
    case DType::boolean: return convert_from(static_cast<const Bool*>(src), dst, dt, n);
  }
}

}  // namespace

void cpu_cast(const void* src, DType st, void* dst, DType dt, int64_t n) {
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const size_t ss = dtype_size(st), ds = dtype_size(dt);
  thread_pool().parallel_for(chunks, [&](int64_t i) {
    const int64_t begin = i * kChunk;
    const int64_t len = std::min(kChunk, n - begin);
    cast_range(static_cast<const char*>(src) + begin * ss, st, static_cast<char*>(dst) + begin * ds, dt, len);
  });
}

}  // namespace tg
