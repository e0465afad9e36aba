#include "convert.h"

#include <cmath>

#include "../core/error.h"

namespace tg {

namespace {

const char* array_type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

// The TypedArray that stores each dtype (f16 and bf16 as raw Uint16 bit patterns).
napi_typedarray_type array_type_for(DType t) {
  switch (t) {
    case DType::f32: return napi_float32_array;
    case DType::f16:
    case DType::bf16: return napi_uint16_array;
    case DType::i32: return napi_int32_array;
    case DType::i64: return napi_bigint64_array;
    case DType::u8:
    case DType::boolean: return napi_uint8_array;
  }
  return napi_uint8_array;
}

Shape read_shape(const Napi::Value& v, const char* name) {
  TG_CHECK(v.IsArray(), "ERR_TG_SHAPE", name, ".shape must be an array of non-negative integers");
  Napi::Array arr = v.As<Napi::Array>();
  Shape shape(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value d = arr.Get(i);
    double x = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1.0;
    TG_CHECK(x >= 0 && std::floor(x) == x && x < 9.007199254740992e15, "ERR_TG_SHAPE", name, ".shape[", i,
             "] must be a non-negative integer, got ", d.ToString().Utf8Value());
    shape[i] = static_cast<int64_t>(x);
  }
  return shape;
}

}  // namespace

Napi::Object expect_object(const Napi::Value& v, const char* name) {
  TG_CHECK(v.IsObject() && !v.IsNull(), "ERR_TG_ARG", name, " must be an object");
  return v.As<Napi::Object>();
}

Tensor tensor_from_js(const Napi::Value& value, const char* name, Keepalive* keep) {
  TG_CHECK(value.IsObject() && !value.IsNull(), "ERR_TG_ARG", name,
           " must be a tensor { data, shape, dtype }, got ", value.IsNull() ? "null" : value.ToString().Utf8Value());
  Napi::Object obj = value.As<Napi::Object>();
  Napi::Value dtype_v = obj.Get("dtype");
  TG_CHECK(dtype_v.IsString(), "ERR_TG_DTYPE", name, ".dtype must be a string");
  std::string where = std::string(name) + ".dtype";
  DType dtype = parse_dtype(dtype_v.As<Napi::String>().Utf8Value(), where.c_str());
  Shape shape = read_shape(obj.Get("shape"), name);

  Napi::Value data_v = obj.Get("data");
  TG_CHECK(data_v.IsTypedArray(), "ERR_TG_ARG", name, ".data must be a TypedArray");
  Napi::TypedArray data = data_v.As<Napi::TypedArray>();
  TG_CHECK(data.TypedArrayType() == array_type_for(dtype), "ERR_TG_DTYPE", name, ": dtype ", dtype_name(dtype),
           " is stored in a ", array_type_name(array_type_for(dtype)), ", got a ",
           array_type_name(data.TypedArrayType()));
  const int64_t numel = shape_numel(shape);
  TG_CHECK(static_cast<int64_t>(data.ElementLength()) == numel, "ERR_TG_SHAPE", name, ": shape ", shape_str(shape),
           " has ", numel, " elements but data has ", data.ElementLength());

  void* ptr = static_cast<char*>(data.ArrayBuffer().Data()) + data.ByteOffset();
  keep->push_back(Napi::Persistent(data_v));
  return Tensor(Buffer::borrow(ptr, data.ByteLength(), Device{}), dtype, std::move(shape));
}

Napi::Value tensor_to_js(Napi::Env env, const Tensor& t) {
  TG_CHECK(t.device().type == DeviceType::cpu && t.buffer()->owned(), "ERR_TG_INTERNAL",
           "only owned host tensors can be handed to JS");
  const size_t bytes = t.nbytes();
  Napi::ArrayBuffer ab;
  if (bytes == 0) {
    ab = Napi::ArrayBuffer::New(env, 0);
  } else {
    auto* holder = new std::shared_ptr<Buffer>(t.buffer());
    ab = Napi::ArrayBuffer::New(
        env, t.raw(), bytes,
        [](Napi::Env e, void*, std::shared_ptr<Buffer>* h) {
          Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>((*h)->bytes()));
          delete h;
        },
        holder);
    Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(t.buffer()->bytes()));
  }
  const size_t n = static_cast<size_t>(t.numel());
  Napi::Value data;
  switch (t.dtype()) {
    case DType::f32: data = Napi::Float32Array::New(env, n, ab, 0); break;
    case DType::f16:
    case DType::bf16: data = Napi::Uint16Array::New(env, n, ab, 0); break;
    case DType::i32: data = Napi::Int32Array::New(env, n, ab, 0); break;
    case DType::i64: data = Napi::BigInt64Array::New(env, n, ab, 0); break;
    case DType::u8:
    case DType::boolean: data = Napi::Uint8Array::New(env, n, ab, 0); break;
  }
  Napi::Array shape = Napi::Array::New(env, t.shape().size());
  for (size_t i = 0; i < t.shape().size(); ++i) shape.Set(i, Napi::Number::New(env, static_cast<double>(t.shape()[i])));
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", data);
  out.Set("shape", shape);
  out.Set("dtype", Napi::String::New(env, dtype_name(t.dtype())));
  return out;
}

double get_number(const Napi::Object& o, const char* key, double fallback, const char* where) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  TG_CHECK(v.IsNumber() && std::isfinite(v.As<Napi::Number>().DoubleValue()), "ERR_TG_ARG", where, ": ", key,
           " must be a finite number, got ", v.ToString().Utf8Value());
  return v.As<Napi::Number>().DoubleValue();
}

bool get_bool(const Napi::Object& o, const char* key, bool fallback, const char* where) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  TG_CHECK(v.IsBoolean(), "ERR_TG_ARG", where, ": ", key, " must be a boolean, got ", v.ToString().Utf8Value());
  return v.As<Napi::Boolean>().Value();
}

std::string get_string(const Napi::Object& o, const char* key, const std::string& fallback, const char* where) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  TG_CHECK(v.IsString(), "ERR_TG_ARG", where, ": ", key, " must be a string, got ", v.ToString().Utf8Value());
  return v.As<Napi::String>().Utf8Value();
}

Device get_device(const Napi::Value& options, const char* where) {
  if (options.IsUndefined() || options.IsNull()) return Device{};
  Napi::Object o = expect_object(options, where);
  return resolve_device(get_string(o, "device", "cpu", where), where);
}

Attrs attrs_from_js(const Napi::Value& v, const std::string& op) {
  Attrs attrs(op);
  if (v.IsUndefined() || v.IsNull()) return attrs;
  Napi::Object o = expect_object(v, "attrs");
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value val = o.Get(key);
    if (val.IsUndefined()) continue;
    if (val.IsBoolean()) {
      attrs.set(key, val.As<Napi::Boolean>().Value());
    } else if (val.IsNumber()) {
      const double d = val.As<Napi::Number>().DoubleValue();
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.007199254740992e15) {
        attrs.set(key, static_cast<int64_t>(d));
      } else {
        attrs.set(key, d);
      }
    } else if (val.IsString()) {
      attrs.set(key, val.As<Napi::String>().Utf8Value());
    } else if (val.IsArray()) {
      Napi::Array arr = val.As<Napi::Array>();
      std::vector<double> ds;
      bool all_int = true;
      for (uint32_t j = 0; j < arr.Length(); ++j) {
        Napi::Value e = arr.Get(j);
        TG_CHECK(e.IsNumber(), "ERR_TG_ARG", "op '", op, "': attribute '", key, "' must hold numbers only");
        const double d = e.As<Napi::Number>().DoubleValue();
        all_int = all_int && std::isfinite(d) && std::floor(d) == d;
        ds.push_back(d);
      }
      if (all_int) {
        attrs.set(key, std::vector<int64_t>(ds.begin(), ds.end()));
      } else {
        attrs.set(key, ds);
      }
    } else {
      fail("ERR_TG_ARG", "op '", op, "': attribute '", key, "' must be a number, boolean, string or array of numbers");
    }
  }
  return attrs;
}

}  // namespace tg
