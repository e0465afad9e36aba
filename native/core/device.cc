#include "device.h"

#include <cstdlib>

#include "error.h"
#ifdef TG_WITH_CUDA
#include "../cuda/cuda_backend.h"
#endif

namespace tg {

std::string Device::str() const {
  return type == DeviceType::cpu ? std::string("cpu") : "cuda:" + std::to_string(index);
}

namespace {

int cuda_count(std::string* why) {
#ifdef TG_WITH_CUDA
  return cuda_device_count(why);
#else
  if (why) *why = "this build of tensorgraft has no CUDA support (built with TG_CUDA=OFF or without nvcc)";
  return 0;
#endif
}

}  // namespace

Device resolve_device(const std::string& s, const char* what) {
  if (s == "cpu") return Device{DeviceType::cpu, 0};
  if (s == "auto") {
    return cuda_count(nullptr) > 0 ? Device{DeviceType::cuda, 0} : Device{DeviceType::cpu, 0};
  }
  if (s.rfind("cuda", 0) == 0) {
    int index = 0;
    if (s.size() > 4) {
      const std::string rest = s.substr(4);
      char* end = nullptr;
      long v = rest.size() > 1 && rest[0] == ':' ? std::strtol(rest.c_str() + 1, &end, 10) : -1;
      TG_CHECK(end && *end == '\0' && v >= 0 && v < 1024, "ERR_TG_DEVICE", what, ": malformed device '", s,
               "' (expected 'cpu', 'auto', 'cuda' or 'cuda:N')");
      index = static_cast<int>(v);
    }
    std::string why;
    int count = cuda_count(&why);
    TG_CHECK(count > 0, "ERR_TG_DEVICE", what, ": device '", s, "' was requested but no CUDA device is available: ",
             why);
    TG_CHECK(index < count, "ERR_TG_DEVICE", what, ": device '", s, "' does not exist (", count,
             " CUDA device(s) present)");
    return Device{DeviceType::cuda, index};
  }
  fail("ERR_TG_DEVICE", what, ": unknown device '", s, "' (expected 'cpu', 'auto', 'cuda' or 'cuda:N')");
}

}  // namespace tg
