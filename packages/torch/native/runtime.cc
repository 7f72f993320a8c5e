// Runtime settings: threads, seeding, CUDA queries and the allocator policy.
#include "common.h"
#include "compat.h"
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <malloc.h>
#include <torch/version.h>
#include <cstdlib>

namespace tsy {

static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need n >= 1");
  at::set_num_threads(n);
  return info.Env().Undefined();
}
static Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

static Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  uint64_t seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  auto gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  const auto& hooks = at::detail::getCUDAHooks();
  if (hooks.hasCUDA()) {
    for (int i = 0; i < hooks.getNumGPUs(); i++) {
      auto g = compat::cudaGenerator(i);
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
  }
  return info.Env().Undefined();
}

// The CPU generator's full state as a uint8 tensor, and back (for exact resume).
static Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return Napi::Value(info.Env(), wrap(info.Env(), at::Tensor(gen.get_state())));
}
static Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  const at::Tensor& s = unwrap(info.Env(), info[0], "setRngState");
  auto gen = at::detail::getDefaultCPUGenerator();
  guarded(info.Env(), "setRngState", [&]() {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(s);
  });
  return info.Env().Undefined();
}

static Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  bool ok = false;
  try {
    const auto& hooks = at::detail::getCUDAHooks();
    ok = hooks.hasCUDA() && hooks.getNumGPUs() > 0;
  } catch (...) {
    ok = false;
  }
  return Napi::Boolean::New(info.Env(), ok);
}
static Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  int n = 0;
  try {
    const auto& hooks = at::detail::getCUDAHooks();
    n = hooks.hasCUDA() ? hooks.getNumGPUs() : 0;
  } catch (...) {
    n = 0;
  }
  return Napi::Number::New(info.Env(), n);
}

static Napi::Value LibtorchVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                                           "." + std::to_string(TORCH_VERSION_PATCH));
}

// mallopt(param, value): glibc allocator tuning (M_MMAP_THRESHOLD -3, M_TRIM_THRESHOLD -1,
// M_ARENA_MAX -8, ...). Used at load for the allocator policy measured in bench/memory.
static Napi::Value Mallopt(const Napi::CallbackInfo& info) {
  int param = info[0].As<Napi::Number>().Int32Value();
  int value = info[1].As<Napi::Number>().Int32Value();
  return Napi::Boolean::New(info.Env(), mallopt(param, value) == 1);
}
static Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
}

void initMemory(Napi::Env env, Napi::Object exports) {
  expose(exports, "setNumThreads", SetNumThreads);
  expose(exports, "getNumThreads", GetNumThreads);
  expose(exports, "manualSeed", ManualSeed);
  expose(exports, "getRngState", GetRngState);
  expose(exports, "setRngState", SetRngState);
  expose(exports, "cudaIsAvailable", CudaIsAvailable);
  expose(exports, "cudaDeviceCount", CudaDeviceCount);
  expose(exports, "libtorchVersion", LibtorchVersion);
  expose(exports, "mallopt", Mallopt);
  expose(exports, "mallocTrim", MallocTrim);
}

}  // namespace tsy
