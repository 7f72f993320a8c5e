// Shared pieces of the addon: the tensor handle and error conversion.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>

namespace tsy {

// A tensor handle is a JS External naming a Holder of the addon's own pool (holder.cc), so
// that foreign objects are refused. dispose() frees the tensor at once; a handle whose tensor
// is gone reads as a Holder with an undefined tensor.
struct Holder {
  at::Tensor t;
  int64_t bytes;  // reported to V8 as external memory
};

napi_value wrap(napi_env env, at::Tensor t);
Holder* holder(napi_env env, napi_value v, const char* what = "tensor");
const at::Tensor& unwrap(napi_env env, napi_value v, const char* what = "tensor");
bool isHandle(napi_env env, napi_value v);
// The Holder behind a handle, or nullptr for anything that is not one of ours.
Holder* tryHolder(napi_env env, napi_value v);
// Frees the tensor now (idempotent); the handle reads as disposed from then on.
void disposeHolder(napi_env env, Holder* h);
// Reports the tensor's memory to V8 (once; small tensors are not reported).
void reportHolder(napi_env env, Holder* h);
// Whether new handles are reported to V8 (off while a JS scope is open).
void setReporting(bool on);
// "v8" or "napi": how handles are made (holder.cc).
const char* handleMode();
// Handles of this thread not yet freed (disposed or collected).
int64_t liveHandles();
void initHolder(napi_env env);

// The addon relies on C++ exceptions (binding.gyp): Napi::Error is thrown as one, and
// node-addon-api's own wrappers turn every exception, not only Napi::Error, into a JS error.
#if !defined(NODE_ADDON_API_CPP_EXCEPTIONS) || !defined(NODE_ADDON_API_CPP_EXCEPTIONS_ALL)
#error "build with NAPI_CPP_EXCEPTIONS and NODE_ADDON_API_CPP_EXCEPTIONS_ALL (see binding.gyp)"
#endif

// Throws a JS Error with `prefix: message` (without the C++ backtrace).
[[noreturn]] void throwJs(napi_env env, const std::string& prefix, const std::string& msg);

// Runs fn, converting every C++ exception (c10, std, anything) into a JS error prefixed with
// `what`; a Napi::Error passes through unchanged.
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
  } catch (...) {
    throwJs(env, what, "unknown native exception");
  }
}

// Sets target[name] = f. Every exported function goes through here: whatever f throws becomes
// a JS Error prefixed with `name`, so no C++ exception ever reaches Node (which would abort).
using EntryFn = Napi::Value (*)(const Napi::CallbackInfo&);
void expose(Napi::Object target, const char* name, EntryFn f);

// For raw napi callbacks, inside a `catch (...)` block: makes the exception being handled the
// pending JS exception (as guarded() words it). Never throws.
void throwPending(napi_env env, const char* what) noexcept;

void initHandle(Napi::Env env, Napi::Object exports);
void initDispatch(Napi::Env env, Napi::Object exports);
void initAutograd(Napi::Env env, Napi::Object exports);
void initMemory(Napi::Env env, Napi::Object exports);
void initDistributed(Napi::Env env, Napi::Object exports);
void initFunction(Napi::Env env, Napi::Object exports);

// A dtype name ('float32', ...) or a c10::ScalarType id; anything else is a TypeError naming
// the value, prefixed with `what`.
at::ScalarType parseDtype(napi_env env, napi_value v, const std::string& what = "dtype");
const char* dtypeName(at::ScalarType t);

}  // namespace tsy
