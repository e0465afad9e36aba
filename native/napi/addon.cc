// The Node-API binding: argument decoding, promises and errors only; the math
// lives in core/, cpu/ and cuda/.
#include <napi.h>

#include <thread>

#include "../core/cpu_features.h"
#include "../core/eager.h"
#include "../core/precision.h"
#include "../core/error.h"
#include "../core/thread_pool.h"
#include "async_task.h"
#include "bench_peer.h"
#include "convert.h"
#include "ops_binding.h"
#include "session_binding.h"
#ifdef TG_WITH_CUDA
#include "../cuda/cuda_backend.h"
#endif

#ifndef TG_VERSION
#define TG_VERSION "0.0.0"
#endif
#ifndef TG_BUILDER
#define TG_BUILDER "unknown"
#endif

namespace tg {

namespace {

Napi::Array string_array(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) a.Set(i, items[i]);
  return a;
}

Napi::Value build_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("version", TG_VERSION);
    o.Set("builder", TG_BUILDER);
    std::vector<std::string> levels;
    for (SimdLevel l : simd_supported()) levels.push_back(simd_name(l));
    o.Set("simd", simd_name(simd_level()));
    o.Set("float32Precision", float32_precision_name(float32_precision()));
    o.Set("simdSupported", string_array(env, levels));
    o.Set("threads", thread_pool().size());
    Napi::Object cuda = Napi::Object::New(env);
#ifdef TG_WITH_CUDA
    cuda.Set("compiled", true);
    Napi::Array archs = Napi::Array::New(env);
    for (int a : cuda_compiled_archs()) archs.Set(archs.Length(), a);
    cuda.Set("architectures", archs);
    cuda.Set("runtimeVersion", cuda_runtime_version());
    std::string driver = cuda_driver_version();
    cuda.Set("driverVersion", driver.empty() ? env.Null() : Napi::String::New(env, driver));
    std::string why;
    int count = cuda_device_count(&why);
    cuda.Set("devices", count);
    if (count == 0) cuda.Set("unavailableReason", why);
#else
    cuda.Set("compiled", false);
    cuda.Set("architectures", Napi::Array::New(env));
    cuda.Set("runtimeVersion", env.Null());
    cuda.Set("driverVersion", env.Null());
    cuda.Set("devices", 0);
    cuda.Set("unavailableReason", "built without CUDA (TG_CUDA=OFF or nvcc not found)");
#endif
    o.Set("cuda", cuda);
    return o;
  });
}

Napi::Value devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Array out = Napi::Array::New(env);
    Napi::Object cpu = Napi::Object::New(env);
    cpu.Set("name", "cpu");
    cpu.Set("type", "cpu");
    cpu.Set("index", 0);
    cpu.Set("threads", thread_pool().size());
    cpu.Set("simd", simd_name(simd_level()));
    out.Set(0u, cpu);
#ifdef TG_WITH_CUDA
    int count = cuda_device_count();
    for (int i = 0; i < count; ++i) {
      CudaDeviceInfo d = cuda_device_info(i);
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", "cuda:" + std::to_string(i));
      o.Set("type", "cuda");
      o.Set("index", i);
      o.Set("model", d.name);
      o.Set("memory", static_cast<double>(d.total_memory));
      o.Set("computeCapability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
      o.Set("multiprocessors", d.multiprocessors);
      out.Set(out.Length(), o);
    }
#endif
    return out;
  });
}

Napi::Value set_simd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    TG_CHECK(info[0].IsString(), "ERR_TG_ARG", "setSimd: level must be a string");
    SimdLevel previous = set_simd_level(info[0].As<Napi::String>().Utf8Value());
    return Napi::String::New(env, simd_name(previous));
  });
}

Napi::Value set_precision(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    TG_CHECK(info[0].IsString(), "ERR_TG_ARG", "setFloat32Precision: mode must be a string");
    Float32Precision previous = tg::set_float32_precision(info[0].As<Napi::String>().Utf8Value());
    return Napi::String::New(env, float32_precision_name(previous));
  });
}

// gemm(a, b, c | null, { transA, transB, alpha, beta }, { device }) -> Promise<tensor>
Napi::Value gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Keepalive keep;
    Tensor a = tensor_from_js(info[0], "a", &keep);
    Tensor b = tensor_from_js(info[1], "b", &keep);
    Tensor c;
    if (!info[2].IsNull() && !info[2].IsUndefined()) c = tensor_from_js(info[2], "c", &keep);
    GemmAttrs attrs;
    if (!info[3].IsUndefined()) {
      Napi::Object o = expect_object(info[3], "gemm attrs");
      attrs.trans_a = get_bool(o, "transA", false, "gemm");
      attrs.trans_b = get_bool(o, "transB", false, "gemm");
      attrs.alpha = static_cast<float>(get_number(o, "alpha", 1.0, "gemm"));
      attrs.beta = static_cast<float>(get_number(o, "beta", 0.0, "gemm"));
    }
    Device device = get_device(info[4], "gemm");
    auto out = std::make_shared<Tensor>();
    return AsyncTask::start(
        env, "tensorgraft:gemm", [=] { *out = eager_gemm(a, b, c, attrs, device); },
        [out](Napi::Env e) { return tensor_to_js(e, *out); }, std::move(keep));
  });
}

// cast(x, { dtype }, { device }) -> Promise<tensor>
Napi::Value cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Keepalive keep;
    Tensor x = tensor_from_js(info[0], "x", &keep);
    Napi::Object attrs = expect_object(info[1], "cast attrs");
    DType dtype = parse_dtype(get_string(attrs, "dtype", dtype_name(x.dtype()), "cast"), "cast: dtype");
    Device device = get_device(info[2], "cast");
    auto out = std::make_shared<Tensor>();
    return AsyncTask::start(
        env, "tensorgraft:cast", [=] { *out = eager_cast(x, dtype, device); },
        [out](Napi::Env e) { return tensor_to_js(e, *out); }, std::move(keep));
  });
}

}  // namespace

}  // namespace tg

static Napi::Object init_addon(Napi::Env env, Napi::Object exports) {
  using namespace tg;
  exports.Set("buildInfo", Napi::Function::New(env, build_info, "buildInfo"));
  exports.Set("devices", Napi::Function::New(env, devices, "devices"));
  exports.Set("setSimd", Napi::Function::New(env, set_simd, "setSimd"));
  exports.Set("setFloat32Precision", Napi::Function::New(env, set_precision, "setFloat32Precision"));
  exports.Set("gemm", Napi::Function::New(env, gemm, "gemm"));
  exports.Set("cast", Napi::Function::New(env, cast, "cast"));
  exports.Set("runOp", Napi::Function::New(env, run_op, "runOp"));
  exports.Set("vjp", Napi::Function::New(env, vjp, "vjp"));
  exports.Set("listOps", Napi::Function::New(env, list_ops, "listOps"));
  register_session_class(env, exports);
  exports.Set("benchSgemm", Napi::Function::New(env, bench_sgemm, "benchSgemm"));
  return exports;
}

NODE_API_MODULE(tensorgraft, init_addon)
