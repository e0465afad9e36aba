// Which SIMD level the CPU kernels use. Detected once from CPUID (and the OS's
// saved register state, which __builtin_cpu_supports checks); TG_SIMD=scalar|avx2|avx512
// caps it, and set_simd_level lets tests run every kernel the CPU supports.
#pragma once
#include <string>
#include <vector>

namespace tg {

enum class SimdLevel : int { scalar = 0, avx2 = 1, avx512 = 2 };

const char* simd_name(SimdLevel level);
// Levels this CPU can run, lowest first ("scalar" is always there).
std::vector<SimdLevel> simd_supported();
SimdLevel simd_level();
// Throws ERR_TG_ARG when `name` is unknown or the CPU lacks it; returns the previous level.
SimdLevel set_simd_level(const std::string& name);

}  // namespace tg
