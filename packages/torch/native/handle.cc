// The tensor handle's functions: validation, TypedArray conversion, metadata, dispose.
#include "common.h"
#include <cmath>
#include <cstring>
#include <vector>

namespace tsy {

bool isHandle(napi_env env, napi_value v) { return tryHolder(env, v) != nullptr; }

Holder* holder(napi_env env, napi_value v, const char* what) {
  Holder* h = tryHolder(env, v);
  if (!h) throw Napi::TypeError::New(env, std::string(what) + ": expected a tensor handle");
  return h;
}

const at::Tensor& unwrap(napi_env env, napi_value v, const char* what) {
  Holder* h = holder(env, v, what);
  if (!h->t.defined()) throw Napi::Error::New(env, std::string(what) + ": tensor was disposed");
  return h->t;
}

struct DtypeName {
  const char* name;
  at::ScalarType type;
};
static const DtypeName kDtypes[] = {
    {"float32", at::kFloat}, {"float", at::kFloat},     {"float64", at::kDouble}, {"double", at::kDouble},
    {"float16", at::kHalf},  {"half", at::kHalf},       {"bfloat16", at::kBFloat16}, {"int64", at::kLong},
    {"long", at::kLong},     {"int32", at::kInt},       {"int", at::kInt},        {"int16", at::kShort},
    {"int8", at::kChar},     {"uint8", at::kByte},      {"bool", at::kBool},      {"complex64", at::kComplexFloat},
};

at::ScalarType parseDtype(napi_env env, napi_value v, const std::string& what) {
  napi_valuetype ty;
  napi_typeof(env, v, &ty);
  if (ty == napi_number) {
    // an id must name a real ScalarType: 0 .. Undefined-1 (casting any other int is undefined)
    double d = 0;
    napi_get_value_double(env, v, &d);
    constexpr int kEnd = static_cast<int>(at::ScalarType::Undefined);
    if (!(d >= 0 && d < kEnd && d == std::floor(d)))
      throw Napi::TypeError::New(env, what + ": invalid dtype id " + Napi::Value(env, v).ToString().Utf8Value() +
                                          " (a c10::ScalarType id is an integer from 0 to " + std::to_string(kEnd - 1) + ")");
    return static_cast<at::ScalarType>(static_cast<int>(d));
  }
  if (ty != napi_string) throw Napi::TypeError::New(env, what + ": a dtype is a name ('float32', ...) or a c10::ScalarType id");
  std::string s = Napi::Value(env, v).As<Napi::String>().Utf8Value();
  for (const auto& d : kDtypes)
    if (s == d.name) return d.type;
  throw Napi::TypeError::New(env, what + ": unknown dtype '" + s + "'");
}

const char* dtypeName(at::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  return c10::toString(t);
}

static std::vector<int64_t> intList(const Napi::Value& v) {
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

static Napi::Array toArray(Napi::Env env, c10::IntArrayRef xs) {
  auto a = Napi::Array::New(env, xs.size());
  for (size_t i = 0; i < xs.size(); i++) a.Set(uint32_t(i), Napi::Number::New(env, double(xs[i])));
  return a;
}

// fromTypedArray(typedArray, shape, dtype?) -> handle (copies the data)
static Napi::Value FromTypedArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = intList(info[1]);
  at::ScalarType st;
  switch (ta.TypedArrayType()) {
    case napi_float32_array: st = at::kFloat; break;
    case napi_float64_array: st = at::kDouble; break;
    case napi_uint16_array: st = at::kHalf; break;
    case napi_bigint64_array: st = at::kLong; break;
    case napi_int32_array: st = at::kInt; break;
    case napi_int16_array: st = at::kShort; break;
    case napi_int8_array: st = at::kChar; break;
    case napi_uint8_array: case napi_uint8_clamped_array: st = at::kByte; break;
    default: throw Napi::TypeError::New(env, "fromTypedArray: unsupported TypedArray type");
  }
  if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
    at::ScalarType want = parseDtype(env, info[2]);
    bool ok = want == st || (st == at::kByte && want == at::kBool) || (st == at::kHalf && want == at::kBFloat16);
    if (!ok) throw Napi::TypeError::New(env, std::string("fromTypedArray: a ") + dtypeName(st) +
                                                 " array cannot hold dtype " + dtypeName(want));
    st = want;
  }
  return guarded(env, "fromTypedArray", [&]() -> Napi::Value {
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
    size_t nbytes = t.numel() * t.element_size();
    if (nbytes != ta.ByteLength())
      throw Napi::RangeError::New(env, "fromTypedArray: shape needs " + std::to_string(nbytes) + " bytes, array has " +
                                           std::to_string(ta.ByteLength()));
    auto ab = ta.ArrayBuffer();
    if (nbytes) std::memcpy(t.data_ptr(), static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset(), nbytes);
    return Napi::Value(env, wrap(env, std::move(t)));
  });
}

// toTypedArray(handle) -> TypedArray copy of the (contiguous, CPU) data
static Napi::Value ToTypedArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& src = unwrap(env, info[0], "toTypedArray");
  return guarded(env, "toTypedArray", [&]() -> Napi::Value {
    at::Tensor t = src.detach().to(at::kCPU).contiguous();
    size_t nbytes = t.numel() * t.element_size();
    auto ab = Napi::ArrayBuffer::New(env, nbytes);
    if (nbytes) std::memcpy(ab.Data(), t.data_ptr(), nbytes);
    size_t n = t.numel();
    switch (t.scalar_type()) {
      case at::kFloat: return Napi::Float32Array::New(env, n, ab, 0);
      case at::kDouble: return Napi::Float64Array::New(env, n, ab, 0);
      case at::kHalf: case at::kBFloat16: return Napi::Uint16Array::New(env, n, ab, 0);
      case at::kLong: return Napi::BigInt64Array::New(env, n, ab, 0);
      case at::kInt: return Napi::Int32Array::New(env, n, ab, 0);
      case at::kShort: return Napi::Int16Array::New(env, n, ab, 0);
      case at::kChar: return Napi::Int8Array::New(env, n, ab, 0);
      case at::kByte: case at::kBool: return Napi::Uint8Array::New(env, n, ab, 0);
      default: throw Napi::TypeError::New(env, std::string("toTypedArray: unsupported dtype ") + dtypeName(t.scalar_type()));
    }
  });
}

static Napi::Value Shape(const Napi::CallbackInfo& info) {
  return toArray(info.Env(), unwrap(info.Env(), info[0], "shape").sizes());
}
static Napi::Value Strides(const Napi::CallbackInfo& info) {
  return toArray(info.Env(), unwrap(info.Env(), info[0], "strides").strides());
}
static Napi::Value Dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(unwrap(info.Env(), info[0], "dim").dim()));
}
static Napi::Value Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(unwrap(info.Env(), info[0], "numel").numel()));
}
static Napi::Value Dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtypeName(unwrap(info.Env(), info[0], "dtype").scalar_type()));
}
static Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), unwrap(info.Env(), info[0], "device").device().str());
}
// A one-element tensor's value: a boolean for bool, a number when a double holds it exactly,
// and a BigInt for an int64 no double holds (beyond 2**53 in magnitude and not rounding-exact).
static Napi::Value Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = unwrap(env, info[0], "item");
  return guarded(env, "item", [&]() -> Napi::Value {
    if (t.scalar_type() == at::kBool) return Napi::Boolean::New(env, t.item<bool>());
    if (t.scalar_type() == at::kLong) {
      int64_t i = t.item<int64_t>();
      double d = static_cast<double>(i);
      if (d >= -0x1p63 && d < 0x1p63 && static_cast<int64_t>(d) == i) return Napi::Number::New(env, d);
      return Napi::BigInt::New(env, i);
    }
    return Napi::Number::New(env, t.item<double>());
  });
}
static Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !holder(info.Env(), info[0], "isDisposed")->t.defined());
}
static Napi::Value IsHandle(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), isHandle(info.Env(), info[0]));
}
// dispose(handle): frees the native tensor now; idempotent. A raw callback: it runs once per tensor.
static napi_value Dispose(napi_env env, napi_callback_info cbinfo) {
  try {
    napi_value argv[1];
    size_t argc = 1;  // a missing argument reads as undefined
    napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr);
    disposeHolder(env, holder(env, argv[0], "dispose"));
  } catch (...) {
    throwPending(env, "dispose");
  }
  return nullptr;
}
// setExternalReporting(on): whether new tensors are reported to V8 (off while a scope is open).
static Napi::Value SetExternalReporting(const Napi::CallbackInfo& info) {
  setReporting(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}
// reportExternal(handle): reports a tensor that outlives every scope (no-op if already reported).
static Napi::Value ReportExternal(const Napi::CallbackInfo& info) {
  reportHolder(info.Env(), holder(info.Env(), info[0], "reportExternal"));
  return info.Env().Undefined();
}
// sameStorage(a, b): true when both views share one storage (used by tests and in-place checks)
static Napi::Value SameStorage(const Napi::CallbackInfo& info) {
  const at::Tensor& a = unwrap(info.Env(), info[0]);
  const at::Tensor& b = unwrap(info.Env(), info[1]);
  return Napi::Boolean::New(info.Env(), a.storage().is_alias_of(b.storage()));
}
static Napi::Value DataPtr(const Napi::CallbackInfo& info) {
  const at::Tensor& a = unwrap(info.Env(), info[0]);
  return Napi::Number::New(info.Env(), double(reinterpret_cast<uintptr_t>(a.data_ptr())));
}

static Napi::Value HandleMode(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), handleMode());
}

static Napi::Value LiveHandles(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(liveHandles()));
}

void initHandle(Napi::Env env, Napi::Object exports) {
  initHolder(env);
  expose(exports, "handleMode", HandleMode);
  expose(exports, "liveHandles", LiveHandles);
  expose(exports, "fromTypedArray", FromTypedArray);
  expose(exports, "toTypedArray", ToTypedArray);
  expose(exports, "shape", Shape);
  expose(exports, "strides", Strides);
  expose(exports, "dim", Dim);
  expose(exports, "numel", Numel);
  expose(exports, "dtype", Dtype);
  expose(exports, "device", DeviceOf);
  expose(exports, "item", Item);
  napi_value dispose;
  napi_create_function(env, "dispose", NAPI_AUTO_LENGTH, Dispose, nullptr, &dispose);
  exports.Set("dispose", Napi::Value(env, dispose));
  expose(exports, "isDisposed", IsDisposed);
  expose(exports, "isHandle", IsHandle);
  expose(exports, "sameStorage", SameStorage);
  expose(exports, "setExternalReporting", SetExternalReporting);
  expose(exports, "reportExternal", ReportExternal);
  expose(exports, "dataPtr", DataPtr);
}

}  // namespace tsy
