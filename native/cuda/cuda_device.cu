// Device discovery, version strings and synchronous host<->device copies.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../core/error.h"
#include "cuda_backend.h"
#include "cuda_check.h"

namespace tg {

namespace {

// CUDA encodes versions as 1000 * major + 10 * minor (13000 -> "13.0").
std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

}  // namespace

int cuda_device_count(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    // No driver or no device is an ordinary answer here ("auto" falls back to
    // the CPU), so the error is cleared rather than left for the next caller.
    cudaGetLastError();
    if (why != nullptr) {
      int driver = 0;
      const bool no_driver = err == cudaErrorInsufficientDriver &&
                             (cudaDriverGetVersion(&driver) != cudaSuccess || driver == 0);
      cudaGetLastError();
      // The runtime words a missing driver as an old one; say what it is.
      *why = no_driver ? std::string("no NVIDIA driver is installed (cudaErrorInsufficientDriver)")
                       : std::string(cudaGetErrorString(err)) + " (" + cudaGetErrorName(err) + ")";
    }
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "the CUDA runtime reports no device";
  return count;
}

CudaDeviceInfo cuda_device_info(int index) {
  std::string why;
  int count = cuda_device_count(&why);
  if (index < 0 || index >= count) {
    fail("ERR_TG_DEVICE", "cuda:", index, " does not exist: ", count, " CUDA device(s) visible",
         why.empty() ? "" : " (" + why + ")");
  }
  cudaDeviceProp prop;
  cuda_check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties(", index, ")");
  CudaDeviceInfo info;
  info.index = index;
  info.name = prop.name;
  info.total_memory = prop.totalGlobalMem;
  info.cc_major = prop.major;
  info.cc_minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  return info;
}

std::string cuda_runtime_version() { return version_string(CUDART_VERSION); }

std::string cuda_driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) {
    cudaGetLastError();
    return "";
  }
  return v == 0 ? "" : version_string(v);  // 0 means no driver is installed
}

std::vector<int> cuda_compiled_archs() {
  std::vector<int> archs;
#ifdef TG_CUDA_ARCH_LIST
  // The build passes the list as it gave it to nvcc ("80,90", maybe "sm_90a" or
  // "86;89"), so every run of digits is one architecture, whatever separates them.
  const std::string list = TG_CUDA_ARCH_LIST;
  int value = -1;
  for (size_t i = 0; i <= list.size(); ++i) {
    char ch = i < list.size() ? list[i] : '\0';
    if (ch >= '0' && ch <= '9') {
      value = (value < 0 ? 0 : value * 10) + (ch - '0');
    } else if (value >= 0) {
      if (std::find(archs.begin(), archs.end(), value) == archs.end()) archs.push_back(value);
      value = -1;
    }
  }
#endif
  return archs;
}

void cuda_copy_to_device(int device, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  CudaDeviceGuard guard(device);
  cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "copying ", bytes, " bytes to cuda:", device);
}

void cuda_copy_to_host(int device, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  CudaDeviceGuard guard(device);
  cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "copying ", bytes, " bytes from cuda:", device);
}

}  // namespace tg
