// Autograd entry points: requires_grad, backward, .grad, grad mode and inference mode.
#include "common.h"
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <memory>
#include <vector>

namespace tsy {

static Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = unwrap(env, info[0], "requiresGrad_");
  guarded(env, "requiresGrad_", [&]() { t.set_requires_grad(info[1].As<Napi::Boolean>().Value()); });
  return env.Undefined();
}

static Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrap(info.Env(), info[0], "requiresGrad").requires_grad());
}

static Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrap(info.Env(), info[0], "isLeaf").is_leaf());
}

// backward(tensors[], grads[] | null, retainGraph, createGraph)
static Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<at::Tensor> outs, grads;
  auto ts = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < ts.Length(); i++) outs.push_back(unwrap(env, ts.Get(i), "backward"));
  if (info[1].IsArray()) {
    auto gs = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < gs.Length(); i++) {
      Napi::Value g = gs.Get(i);
      grads.push_back(g.IsNull() || g.IsUndefined() ? at::Tensor() : unwrap(env, g, "backward"));
    }
  }
  c10::optional<bool> retain;
  if (info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
  bool create = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  guarded(env, "backward", [&]() { torch::autograd::backward(outs, grads, retain, create); });
  return env.Undefined();
}

// grad(t) -> handle | null
static Napi::Value Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = unwrap(env, info[0], "grad");
  const at::Tensor& g = t.grad();
  if (!g.defined()) return env.Null();
  return Napi::Value(env, wrap(env, g));
}

// setGrad(t, g | null)
static Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = unwrap(env, info[0], "setGrad");
  if (info[1].IsNull() || info[1].IsUndefined()) {
    t.mutable_grad().reset();
  } else {
    const at::Tensor& g = unwrap(env, info[1], "setGrad");
    guarded(env, "setGrad", [&]() {
      TORCH_CHECK(g.sizes() == t.sizes(), "gradient shape ", g.sizes(), " does not match tensor shape ", t.sizes());
      t.mutable_grad() = g;
    });
  }
  return env.Undefined();
}

// gradEnabled(enabled?) -> previous state
static Napi::Value GradEnabled(const Napi::CallbackInfo& info) {
  bool prev = at::GradMode::is_enabled();
  if (info.Length() > 0 && info[0].IsBoolean()) at::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

static std::vector<std::unique_ptr<c10::InferenceMode>>& inferenceStack() {
  static std::vector<std::unique_ptr<c10::InferenceMode>> s;
  return s;
}
static Napi::Value EnterInferenceMode(const Napi::CallbackInfo& info) {
  inferenceStack().push_back(std::make_unique<c10::InferenceMode>(true));
  return Napi::Number::New(info.Env(), double(inferenceStack().size()));
}
static Napi::Value ExitInferenceMode(const Napi::CallbackInfo& info) {
  if (inferenceStack().empty()) throw Napi::Error::New(info.Env(), "exitInferenceMode without enter");
  inferenceStack().pop_back();
  return info.Env().Undefined();
}
static Napi::Value IsInference(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrap(info.Env(), info[0], "isInference").is_inference());
}

void initAutograd(Napi::Env env, Napi::Object exports) {
  expose(exports, "setRequiresGrad", SetRequiresGrad);
  expose(exports, "requiresGrad", RequiresGrad);
  expose(exports, "isLeaf", IsLeaf);
  expose(exports, "backward", Backward);
  expose(exports, "grad", Grad);
  expose(exports, "setGrad", SetGrad);
  expose(exports, "gradEnabled", GradEnabled);
  expose(exports, "enterInferenceMode", EnterInferenceMode);
  expose(exports, "exitInferenceMode", ExitInferenceMode);
  expose(exports, "isInference", IsInference);
}

}  // namespace tsy
