// Custom autograd functions written in JavaScript (torch.autograd.Function): the forward and
// backward are JS callbacks, called through one handler the TS side registers. Backward of a
// CPU graph runs on the thread that called backward(), i.e. the JS thread; calls from any
// other thread are refused with an error.
#include "common.h"
#include <torch/csrc/autograd/custom_function.h>
#include <thread>

namespace tsy {
namespace {

Napi::FunctionReference handler;
napi_env handlerEnv = nullptr;
std::thread::id jsThread;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Calls handler(kind, id, tensors) -> (tensor | null)[]
variable_list callJs(const char* kind, int64_t id, const variable_list& ts) {
  TORCH_CHECK(handlerEnv && std::this_thread::get_id() == jsThread, "custom function: ", kind, " called off the JavaScript thread");
  Napi::Env env(handlerEnv);
  Napi::HandleScope scope(env);
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) arr.Set(uint32_t(i), ts[i].defined() ? Napi::Value(env, wrap(env, ts[i])) : env.Null());
  Napi::Value r = handler.Call({Napi::String::New(env, kind), Napi::Number::New(env, double(id)), arr});
  TORCH_CHECK(r.IsArray(), "custom function: ", kind, " must return an array of tensors");
  auto out = r.As<Napi::Array>();
  variable_list v;
  for (uint32_t i = 0; i < out.Length(); i++) {
    Napi::Value x = out.Get(i);
    if (x.IsNull() || x.IsUndefined()) {
      v.push_back(at::Tensor());
      continue;
    }
    // the returned handles are handed over: take the tensor and release the handle
    Holder* h = holder(env, x, "custom function");
    TORCH_CHECK(h->t.defined(), "custom function: ", kind, " returned a disposed tensor");
    v.push_back(h->t);
    disposeHolder(env, h);
  }
  return v;
}

struct JsFunction : public torch::autograd::Function<JsFunction> {
  static variable_list forward(AutogradContext* ctx, at::TensorList inputs, int64_t id) {
    ctx->saved_data["id"] = id;
    return callJs("forward", id, inputs.vec());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list g = callJs("backward", ctx->saved_data["id"].toInt(), grads);
    g.push_back(at::Tensor());  // for id
    return g;
  }
};

Napi::Value SetHandler(const Napi::CallbackInfo& info) {
  handler = Napi::Persistent(info[0].As<Napi::Function>());
  handler.SuppressDestruct();
  handlerEnv = info.Env();
  jsThread = std::this_thread::get_id();
  return info.Env().Undefined();
}

// applyFunction(id, inputs[]) -> outputs[] recorded in the graph with the JS backward
Napi::Value Apply(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t id = info[0].As<Napi::Number>().Int64Value();
  variable_list inputs;
  auto a = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) inputs.push_back(unwrap(env, a.Get(i), "custom function"));
  variable_list out = guarded(env, "custom function", [&]() { return JsFunction::apply(at::TensorList(inputs), id); });
  auto r = Napi::Array::New(env, out.size());
  for (size_t i = 0; i < out.size(); i++) r.Set(uint32_t(i), out[i].defined() ? Napi::Value(env, wrap(env, out[i])) : env.Null());
  return r;
}

}  // namespace

void initFunction(Napi::Env env, Napi::Object exports) {
  expose(exports, "setFunctionHandler", SetHandler);
  expose(exports, "applyFunction", Apply);
}

}  // namespace tsy
