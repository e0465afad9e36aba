#include "cpu_features.h"

#include <atomic>
#include <cstdlib>

#include "error.h"

namespace tg {

namespace {

SimdLevel best_supported() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return SimdLevel::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::avx2;
#endif
  return SimdLevel::scalar;
}

bool parse_level(const std::string& s, SimdLevel* out) {
  if (s == "scalar") *out = SimdLevel::scalar;
  else if (s == "avx2") *out = SimdLevel::avx2;
  else if (s == "avx512") *out = SimdLevel::avx512;
  else return false;
  return true;
}

SimdLevel initial_level() {
  SimdLevel best = best_supported();
  SimdLevel wanted;
  const char* env = std::getenv("TG_SIMD");
  if (env && parse_level(env, &wanted) && wanted < best) return wanted;
  return best;
}

std::atomic<int>& current() {
  static std::atomic<int> level{static_cast<int>(initial_level())};
  return level;
}

}  // namespace

const char* simd_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return "scalar";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::avx512: return "avx512";
  }
  return "?";
}

std::vector<SimdLevel> simd_supported() {
  std::vector<SimdLevel> out;
  SimdLevel best = best_supported();
  for (int l = 0; l <= static_cast<int>(best); ++l) out.push_back(static_cast<SimdLevel>(l));
  return out;
}

SimdLevel simd_level() { return static_cast<SimdLevel>(current().load(std::memory_order_relaxed)); }

SimdLevel set_simd_level(const std::string& name) {
  SimdLevel wanted;
  TG_CHECK(parse_level(name, &wanted), "ERR_TG_ARG", "setSimd: unknown level '", name,
           "' (expected scalar, avx2 or avx512)");
  SimdLevel best = best_supported();
  TG_CHECK(wanted <= best, "ERR_TG_ARG", "setSimd: this CPU does not support ", name, " (best level is ",
           simd_name(best), ")");
  return static_cast<SimdLevel>(current().exchange(static_cast<int>(wanted)));
}

}  // namespace tg
