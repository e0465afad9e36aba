// The native Session as a JS class (ObjectWrap): compile once, then run and
// step as Promises. Parameter arrays belong to the JS Model and are updated
// in place, so the model sees trained values without a copy.
#pragma once
#include <napi.h>

namespace tg {

void register_session_class(Napi::Env env, Napi::Object exports);

}  // namespace tg
