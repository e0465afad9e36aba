// Element types. f16 and bf16 are stored as raw 16-bit patterns; arithmetic
// converts them to float (fp32 master weights everywhere, see DESIGN.md).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace tg {

enum class DType : uint8_t { f32, f16, bf16, i32, i64, u8, boolean };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
// Parses "f32", "float32", ... ; throws ERR_TG_DTYPE naming `what` on failure.
DType parse_dtype(const std::string& s, const char* what);

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even; NaNs stay NaN (quiet bit forced so truncation cannot make Inf).
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace tg
