// Element type conversion on CUDA, bit for bit as cpu/cast.cc converts: every
// value passes through a double; f16 and bf16 round to nearest even with the
// CPU's handling of NaN payloads and subnormals (ported rather than taken from
// cuda_fp16.h, whose NaN encodings differ); floats to integers truncate toward
// zero and saturate, NaN giving 0; anything nonzero is bool 1.
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_backend.h"
#include "cuda_kernels.cuh"

namespace tg {

namespace {

// Storage types: half types travel as their 16-bit patterns.
struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};
struct Bool {
  uint8_t v;
};

__device__ __forceinline__ float f16_bits_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // Inf or NaN, payload kept
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // rebias 15 -> 127
  } else if (man == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: normalise the mantissa into a float exponent.
    int e = -1;
    do {
      man <<= 1;
      ++e;
    } while ((man & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((man & 0x3ffu) << 13);
  }
  return __uint_as_float(bits);
}

__device__ __forceinline__ uint16_t f32_to_f16_bits(float f) {
  const uint32_t bits = __float_as_uint(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));  // NaN, quiet
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);                             // rounds to Inf
  if (abs >= 0x38800000u) {                                                                         // normal half
    uint32_t r = abs - (112u << 23);
    r += 0xfffu + ((r >> 13) & 1u);  // round to nearest even on the 13 dropped bits
    return static_cast<uint16_t>(sign | (r >> 13));
  }
  if (abs < 0x33000000u) return sign;  // below half the smallest subnormal: zero
  // Subnormal half: shift the implicit-1 mantissa right, rounding to nearest even.
  const uint32_t exp = abs >> 23;
  const uint32_t man = (abs & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126 - exp;
  uint32_t half = man >> shift;
  const uint32_t rem = man & ((1u << shift) - 1);
  const uint32_t midpoint = 1u << (shift - 1);
  if (rem > midpoint || (rem == midpoint && (half & 1u))) ++half;
  return static_cast<uint16_t>(sign | half);
}

// Round to nearest even; NaNs stay NaN (quiet bit forced so truncation cannot make Inf).
__device__ __forceinline__ uint16_t f32_to_bf16_bits(float f) {
  uint32_t bits = __float_as_uint(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

template <typename T>
__device__ __forceinline__ double to_double(T v) {
  return static_cast<double>(v);
}
template <>
__device__ __forceinline__ double to_double(F16 v) {
  return f16_bits_to_f32(v.bits);
}
template <>
__device__ __forceinline__ double to_double(BF16 v) {
  return __uint_as_float(static_cast<uint32_t>(v.bits) << 16);
}
template <>
__device__ __forceinline__ double to_double(Bool v) {
  return v.v ? 1.0 : 0.0;
}

// Out-of-range and NaN float -> int conversions saturate (NaN -> 0), as on the CPU.
template <typename I>
__device__ __forceinline__ I saturate(double d, double lo, double hi) {
  if (isnan(d)) return 0;
  if (d <= lo) return static_cast<I>(lo);
  if (d >= hi) return static_cast<I>(hi);
  return static_cast<I>(d);
}

template <typename T>
__device__ __forceinline__ T from_double(double d);
template <>
__device__ __forceinline__ float from_double(double d) {
  return static_cast<float>(d);
}
template <>
__device__ __forceinline__ int32_t from_double(double d) {
  return saturate<int32_t>(d, -2147483648.0, 2147483647.0);
}
template <>
__device__ __forceinline__ int64_t from_double(double d) {
  // 2^63 - 1 is not a double: the comparison is with 2^63, as on the CPU.
  if (isnan(d)) return 0;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  if (d >= 9223372036854775808.0) return INT64_MAX;
  return static_cast<int64_t>(d);
}
template <>
__device__ __forceinline__ uint8_t from_double(double d) {
  return saturate<uint8_t>(d, 0.0, 255.0);
}
template <>
__device__ __forceinline__ F16 from_double(double d) {
  return F16{f32_to_f16_bits(static_cast<float>(d))};
}
template <>
__device__ __forceinline__ BF16 from_double(double d) {
  return BF16{f32_to_bf16_bits(static_cast<float>(d))};
}
template <>
__device__ __forceinline__ Bool from_double(double d) {
  return Bool{static_cast<uint8_t>(d != 0.0)};
}

// src, dst: (n)
template <typename S, typename D>
__global__ void cast_kernel(const S* __restrict__ src, D* __restrict__ dst, int64_t n) {
  for (int64_t i = thread_index(); i < n; i += thread_count()) dst[i] = from_double<D>(to_double(src[i]));
}

template <typename S, typename D>
void launch_cast(const S* src, void* dst, int64_t n) {
  cast_kernel<<<grid_for(n), kBlock>>>(src, static_cast<D*>(dst), n);
}

template <typename S>
void cast_from(const S* src, void* dst, DType dst_type, int64_t n) {
  switch (dst_type) {
    case DType::f32: return launch_cast<S, float>(src, dst, n);
    case DType::f16: return launch_cast<S, F16>(src, dst, n);
    case DType::bf16: return launch_cast<S, BF16>(src, dst, n);
    case DType::i32: return launch_cast<S, int32_t>(src, dst, n);
    case DType::i64: return launch_cast<S, int64_t>(src, dst, n);
    case DType::u8: return launch_cast<S, uint8_t>(src, dst, n);
    case DType::boolean: return launch_cast<S, Bool>(src, dst, n);
  }
}

}  // namespace

void cuda_cast(int device, const void* src, DType st, void* dst, DType dt, int64_t n) {
  if (n == 0) return;
  cuda_launch(
      device, std::string("cast from ") + dtype_name(st) + " to " + dtype_name(dt),
      [&] {
        if (st == dt) {
          cuda_check(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * dtype_size(st), cudaMemcpyDeviceToDevice, 0),
                     "copying on the device");
          return;
        }
        switch (st) {
          case DType::f32: return cast_from(static_cast<const float*>(src), dst, dt, n);
          case DType::f16: return cast_from(static_cast<const F16*>(src), dst, dt, n);
          case DType::bf16: return cast_from(static_cast<const BF16*>(src), dst, dt, n);
          case DType::i32: return cast_from(static_cast<const int32_t*>(src), dst, dt, n);
          case DType::i64: return cast_from(static_cast<const int64_t*>(src), dst, dt, n);
          case DType::u8: return cast_from(static_cast<const uint8_t*>(src), dst, dt, n);
          case DType::boolean: return cast_from(static_cast<const Bool*>(src), dst, dt, n);
        }
      },
      true);
}

}  // namespace tg
