// Module entry: registers the handle, dispatcher, autograd, memory, custom-function and c10d functions.
#include "common.h"

namespace tsy {

[[noreturn]] void throwJs(napi_env env, const std::string& prefix, const std::string& msg) {
  std::string m = msg;
  // c10 messages often end with a newline and carry "Exception raised from ..." lines.
  auto cut = m.find("\nException raised from");
  if (cut != std::string::npos) m.resize(cut);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  throw Napi::Error::New(env, prefix.empty() ? m : prefix + ": " + m);
}

void expose(Napi::Object target, const char* name, EntryFn f) {
  target.Set(name, Napi::Function::New(
                       target.Env(),
                       [f, name](const Napi::CallbackInfo& info) { return guarded(info.Env(), name, [&] { return f(info); }); },
                       name));
}

void throwPending(napi_env env, const char* what) noexcept {
  try {
    guarded(env, what, [] { throw; });  // rethrows the exception being handled, as a Napi::Error
  } catch (const Napi::Error& e) {
    try {
      e.ThrowAsJavaScriptException();
    } catch (...) {
      napi_throw_error(env, nullptr, what);
    }
  } catch (...) {
    napi_throw_error(env, nullptr, what);
  }
}

}  // namespace tsy

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tsy::initMemory(env, exports);
  tsy::initHandle(env, exports);
  tsy::initDispatch(env, exports);
  tsy::initAutograd(env, exports);
  tsy::initDistributed(env, exports);
  tsy::initFunction(env, exports);
  return exports;
}

NODE_API_MODULE(tsyolo_torch, Init)
