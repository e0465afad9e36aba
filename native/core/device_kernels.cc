#include "device_kernels.h"

#include <map>

#include "error.h"

namespace tg {

namespace {

// Filled by static initialisers of the backend's sources, whose order relative
// to this file's is unspecified: constructed on first use, and never destroyed
// so that late lookups during process exit still find it.
std::map<std::string, CudaFn>& cuda_kernels() {
  static std::map<std::string, CudaFn>* kernels = new std::map<std::string, CudaFn>;
  return *kernels;
}

}  // namespace

void register_cuda_kernel(const char* op, CudaFn fn) {
  auto& kernels = cuda_kernels();
  TG_CHECK(kernels.count(op) == 0, "ERR_TG_INTERNAL", "op '", op, "' has two CUDA kernels");
  kernels.emplace(op, fn);
}

CudaFn find_cuda_kernel(const std::string& op) {
  const auto& kernels = cuda_kernels();
  auto it = kernels.find(op);
  return it == kernels.end() ? nullptr : it->second;
}

std::vector<std::string> cuda_kernels_without_op() {
  std::vector<std::string> orphans;
  for (const auto& kv : cuda_kernels()) {
    if (find_op_or_null(kv.first) == nullptr) orphans.push_back(kv.first);
  }
  return orphans;
}

}  // namespace tg
