#include "precision.h"

#include <atomic>

#include "error.h"

namespace tg {

namespace {
// 'highest' by default, as PyTorch: in a training step Winograd's rounding,
// amplified by BatchNorm over few values, moves single gradient elements by
// up to about 1% of the largest (test/parity-vision.test.mjs), which a user
// should choose rather than find.
std::atomic<Float32Precision> current{Float32Precision::highest};
}  // namespace

Float32Precision float32_precision() { return current.load(std::memory_order_relaxed); }

const char* float32_precision_name(Float32Precision p) { return p == Float32Precision::highest ? "highest" : "high"; }

Float32Precision set_float32_precision(const std::string& mode) {
  TG_CHECK(mode == "highest" || mode == "high", "ERR_TG_ARG",
           "setFloat32Precision: mode must be 'highest' or 'high', got '", mode, "'");
  return current.exchange(mode == "highest" ? Float32Precision::highest : Float32Precision::high);
}

}  // namespace tg
