// Timing loops for `npm run bench`, kept native so that our SGEMM and the peer
// library (OpenBLAS, loaded with dlopen here and nowhere else) are timed the
// same way, without a JS round trip per call. Not part of the public API.
#pragma once
#include <napi.h>

namespace tg {

// benchSgemm({ impl: 'ours' | 'openblas', lib?, m, n, k, transA?, transB?, reps, threads? })
//   -> Promise<{ seconds: median seconds per call, gflops, threads }>
Napi::Value bench_sgemm(const Napi::CallbackInfo& info);

}  // namespace tg
