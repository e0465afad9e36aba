// Where a buffer lives. "auto" resolves to the first CUDA device when one is
// present and to the CPU otherwise; an explicit "cuda" never falls back.
#pragma once
#include <string>

namespace tg {

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;
};

// Parses "cpu", "cuda", "cuda:N" or "auto" and checks the device exists.
// Throws ERR_TG_DEVICE naming `what` when it does not.
Device resolve_device(const std::string& s, const char* what);

}  // namespace tg
