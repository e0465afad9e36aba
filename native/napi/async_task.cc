#include "async_task.h"

#include <new>

#include "../core/error.h"

namespace tg {

Napi::Error make_error(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

namespace {

// Classifies a native exception into (code, message).
template <typename Fn>
bool capture(Fn&& fn, std::string* code, std::string* message) {
  try {
    fn();
    return true;
  } catch (const Error& e) {
    *code = e.code();
    *message = e.what();
  } catch (const std::bad_alloc&) {
    *code = "ERR_TG_OOM";
    *message = "out of host memory";
  } catch (const std::exception& e) {
    *code = "ERR_TG_INTERNAL";
    *message = std::string("internal error: ") + e.what();
  }
  return false;
}

}  // namespace

AsyncTask::AsyncTask(Napi::Env env, const char* name, std::function<void()> work,
                     std::function<Napi::Value(Napi::Env)> finish, Keepalive keep)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      finish_(std::move(finish)),
      keep_(std::move(keep)) {}

Napi::Promise AsyncTask::start(Napi::Env env, const char* name, std::function<void()> work,
                               std::function<Napi::Value(Napi::Env)> finish, Keepalive keep) {
  auto* task = new AsyncTask(env, name, std::move(work), std::move(finish), std::move(keep));
  Napi::Promise p = task->promise();
  task->Queue();  // the worker deletes itself after OnOK / OnError
  return p;
}

void AsyncTask::Execute() {
  std::string message;
  if (!capture(work_, &code_, &message)) SetError(message);
}

void AsyncTask::OnOK() {
  Napi::Env env = Env();
  std::string code, message;
  Napi::Value result;
  if (capture([&] { result = finish_(env); }, &code, &message)) {
    deferred_.Resolve(result);
  } else {
    deferred_.Reject(make_error(env, code, message).Value());
  }
}

void AsyncTask::OnError(const Napi::Error& error) {
  deferred_.Reject(make_error(Env(), code_, error.Message()).Value());
}

Napi::Value guarded(Napi::Env env, const std::function<Napi::Value()>& fn) {
  std::string code, message;
  Napi::Value result;
  if (capture([&] { result = fn(); }, &code, &message)) return result;
  throw make_error(env, code, message);
}

}  // namespace tg
