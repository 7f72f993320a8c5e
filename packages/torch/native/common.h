// Shared pieces of the addon: the tensor handle and error conversion.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>

namespace tsy {

// A tensor handle is a napi External holding a Holder, type-tagged so that
// foreign objects are refused. dispose() frees the tensor at once; the small
// Holder itself is freed by a finalizer that runs inside GC.
struct Holder {
  at::Tensor t;
  int64_t bytes;
};

napi_value wrap(napi_env env, at::Tensor t);
Holder* holder(napi_env env, napi_value v, const char* what = "tensor");
const at::Tensor& unwrap(napi_env env, napi_value v, const char* what = "tensor");
bool isHandle(napi_env env, napi_value v);

// Throws a JS Error with `prefix: message` (without the C++ backtrace).
[[noreturn]] void throwJs(napi_env env, const std::string& prefix, const std::string& msg);

// Runs fn, converting c10/std exceptions into JS errors prefixed with `what`.
template <typename F>
auto guarded(napi_env env, const char* what, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throwJs(env, what, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throwJs(env, what, e.what());
  }
}

void initHandle(Napi::Env env, Napi::Object exports);
void initDispatch(Napi::Env env, Napi::Object exports);
void initAutograd(Napi::Env env, Napi::Object exports);
void initMemory(Napi::Env env, Napi::Object exports);
void initDistributed(Napi::Env env, Napi::Object exports);
void initFunction(Napi::Env env, Napi::Object exports);

at::ScalarType parseDtype(napi_env env, napi_value v);
const char* dtypeName(at::ScalarType t);

}  // namespace tsy
