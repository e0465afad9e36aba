#include "bench_peer.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "../core/error.h"
#include "../core/thread_pool.h"
#include "../cpu/gemm.h"
#include "async_task.h"
#include "convert.h"

namespace tg {

namespace {

// The CBLAS entry points used, declared here so no BLAS header is needed.
enum CblasOrder { kCblasRowMajor = 101 };
enum CblasTranspose { kCblasNoTrans = 111, kCblasTrans = 112 };
using CblasSgemm = void (*)(int order, int transa, int transb, int m, int n, int k, float alpha, const float* a,
                            int lda, const float* b, int ldb, float beta, float* c, int ldc);
using SetThreads = void (*)(int);

struct Result {
  double seconds = 0;
  int threads = 0;
};

}  // namespace

Napi::Value bench_sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = expect_object(info[0], "benchSgemm options");
    const std::string impl = get_string(o, "impl", "ours", "benchSgemm");
    const std::string lib = get_string(o, "lib", "libopenblas.so.0", "benchSgemm");
    const int64_t m = static_cast<int64_t>(get_number(o, "m", 0, "benchSgemm"));
    const int64_t n = static_cast<int64_t>(get_number(o, "n", 0, "benchSgemm"));
    const int64_t k = static_cast<int64_t>(get_number(o, "k", 0, "benchSgemm"));
    const bool ta = get_bool(o, "transA", false, "benchSgemm");
    const bool tb = get_bool(o, "transB", false, "benchSgemm");
    const int reps = static_cast<int>(get_number(o, "reps", 10, "benchSgemm"));
    const int threads = static_cast<int>(get_number(o, "threads", thread_pool().size(), "benchSgemm"));
    TG_CHECK(m > 0 && n > 0 && k > 0 && reps > 0, "ERR_TG_ARG", "benchSgemm: m, n, k and reps must be positive");
    TG_CHECK(impl == "ours" || impl == "openblas", "ERR_TG_ARG", "benchSgemm: impl must be 'ours' or 'openblas'");

    CblasSgemm peer = nullptr;
    if (impl == "openblas") {
      // Deliberately never dlclose'd: OpenBLAS's worker threads outlive the call.
      void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
      TG_CHECK(handle != nullptr, "ERR_TG_PEER_MISSING", "benchSgemm: cannot load ", lib, ": ", dlerror());
      peer = reinterpret_cast<CblasSgemm>(dlsym(handle, "cblas_sgemm"));
      TG_CHECK(peer != nullptr, "ERR_TG_PEER_MISSING", "benchSgemm: ", lib, " has no cblas_sgemm");
      if (auto set = reinterpret_cast<SetThreads>(dlsym(handle, "openblas_set_num_threads"))) set(threads);
    } else {
      TG_CHECK(threads == thread_pool().size(), "ERR_TG_ARG", "benchSgemm: our pool has ", thread_pool().size(),
               " threads; set TG_NUM_THREADS to change it");
    }

    auto result = std::make_shared<Result>();
    return AsyncTask::start(
        env, "tensorgraft:benchSgemm",
        [=] {
          std::mt19937 rng(42);
          std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
          std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)), c(static_cast<size_t>(m * n));
          for (float& x : a) x = dist(rng);
          for (float& x : b) x = dist(rng);
          GemmArgs g;
          g.trans_a = ta;
          g.trans_b = tb;
          g.m = m;
          g.n = n;
          g.k = k;
          g.a = a.data();
          g.lda = ta ? m : k;
          g.b = b.data();
          g.ldb = tb ? k : n;
          g.c = c.data();
          g.ldc = n;
          auto call = [&] {
            if (peer) {
              peer(kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans, tb ? kCblasTrans : kCblasNoTrans,
                   static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, g.a, static_cast<int>(g.lda),
                   g.b, static_cast<int>(g.ldb), 0.0f, g.c, static_cast<int>(g.ldc));
            } else {
              cpu_sgemm(g);
            }
          };
          for (int i = 0; i < 2; ++i) call();  // warm caches, pools and page mappings
          std::vector<double> times;
          for (int i = 0; i < reps; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            call();
            times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          }
          std::nth_element(times.begin(), times.begin() + reps / 2, times.end());
          result->seconds = times[reps / 2];
          result->threads = threads;
        },
        [result, m, n, k](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("seconds", result->seconds);
          r.Set("gflops", 2.0 * m * n * k / result->seconds / 1e9);
          r.Set("threads", result->threads);
          return r;
        });
  });
}

}  // namespace tg
