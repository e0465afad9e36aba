// Host tensors across the boundary. From JS, a tensor is { data, shape, dtype }
// and its TypedArray's memory is borrowed, not copied. To JS, a native result's
// buffer becomes an external ArrayBuffer that owns a reference to it, so the
// data is never copied either; the GC is told about the memory it holds.
#pragma once
#include <napi.h>

#include <string>

#include "../core/attrs.h"
#include "../core/device.h"
#include "../core/tensor.h"
#include "async_task.h"

namespace tg {

// `name` is the argument's name for error messages ("a", "input", ...).
Tensor tensor_from_js(const Napi::Value& value, const char* name, Keepalive* keep);
Napi::Value tensor_to_js(Napi::Env env, const Tensor& t);

// Small argument readers that name what is wrong (ERR_TG_ARG).
Napi::Object expect_object(const Napi::Value& v, const char* name);
double get_number(const Napi::Object& o, const char* key, double fallback, const char* where);
bool get_bool(const Napi::Object& o, const char* key, bool fallback, const char* where);
std::string get_string(const Napi::Object& o, const char* key, const std::string& fallback, const char* where);
Device get_device(const Napi::Value& options, const char* where);
// Node attributes from a plain object: integers, numbers, booleans, strings
// and arrays of numbers (all-integer arrays become integer lists).
Attrs attrs_from_js(const Napi::Value& v, const std::string& op);

}  // namespace tg
