// Runs native work off the JS thread and settles a Promise with the result.
// The work function runs on a libuv worker and must not touch N-API; the
// finish function runs back on the JS thread and builds the JS value. Inputs
// borrowed from JS (TypedArrays) are kept alive by `keep` until then.
#pragma once
#include <napi.h>

#include <functional>
#include <string>
#include <vector>

namespace tg {

using Keepalive = std::vector<Napi::Reference<Napi::Value>>;

class AsyncTask : public Napi::AsyncWorker {
 public:
  AsyncTask(Napi::Env env, const char* name, std::function<void()> work,
            std::function<Napi::Value(Napi::Env)> finish, Keepalive keep);

  Napi::Promise promise() { return deferred_.Promise(); }

  // Queues a task and returns its promise.
  static Napi::Promise start(Napi::Env env, const char* name, std::function<void()> work,
                             std::function<Napi::Value(Napi::Env)> finish, Keepalive keep = {});

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> finish_;
  Keepalive keep_;
  std::string code_ = "ERR_TG_INTERNAL";
};

// A JS Error with `code` set, as every native failure is reported.
Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message);

// Runs fn on the JS thread, turning native exceptions into JS errors with codes.
Napi::Value guarded(Napi::Env env, const std::function<Napi::Value()>& fn);

}  // namespace tg
