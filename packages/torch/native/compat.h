// Every difference between the libtorch versions the addon builds against (1.13 to 2.x, CPU or
// CUDA) lives here, so that the other files are written once against one API.
// The c10d part (stores, process groups, NCCL) is included where TSY_COMPAT_C10D is defined.
#pragma once
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#define TSY_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

#if !TSY_TORCH_AT_LEAST(1, 13)
#error "the addon needs libtorch 1.13 or newer"
#endif

#ifdef TSY_COMPAT_C10D
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

// NCCL: only with a CUDA libtorch (libtorch.mjs defines TSYOLO_WITH_CUDA) whose NCCL and CUDA
// headers are installed; ProcessGroupNCCL.hpp declares nothing unless USE_C10D_NCCL is set.
#if defined(TSYOLO_WITH_CUDA) && __has_include(<nccl.h>) && __has_include(<cuda_runtime_api.h>)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define TSYOLO_WITH_NCCL 1
#endif
#endif  // TSY_COMPAT_C10D

namespace tsy::compat {

#ifdef TSY_COMPAT_C10D
// c10d's collectives. Up to 1.13 ProcessGroupGloo/NCCL derive from c10d::ProcessGroup; from 2.0
// they are c10d::Backend implementations (ProcessGroup became a dispatcher-facing wrapper around
// backends), and Backend carries the same collective methods, options and Work results.
#if TSY_TORCH_AT_LEAST(2, 0)
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

// TCPStore: from 2.2 its server can run on libuv (TCPStoreOptions::useLibUV, the default from
// 2.4), but only in a libtorch built with libuv: Debian's 2.6 is not, and throws when asked. The
// store is made with libtorch's default and, where that is the missing libuv backend, again with
// the classic one (the only one up to 2.1; both speak the same protocol to clients).
template <typename O>
auto withoutLibuv(O& o, int) -> decltype(void(o.useLibUV = false)) {
  o.useLibUV = false;
}
template <typename O>
void withoutLibuv(O&, long) {}

inline c10::intrusive_ptr<c10d::Store> tcpStore(const std::string& host, c10d::TCPStoreOptions o) {
  try {
    return c10::make_intrusive<c10d::TCPStore>(host, o);
  } catch (const c10::Error& e) {
    if (std::string(e.what()).find("libuv") == std::string::npos) throw;
    withoutLibuv(o, 0);
    return c10::make_intrusive<c10d::TCPStore>(host, o);
  }
}
#endif  // TSY_COMPAT_C10D

// The default CUDA generator of device i: CUDAHooksInterface::getDefaultCUDAGenerator(i) in 1.13
// and early 2.x, getDefaultGenerator(i) (the accelerator-hooks API) in later 2.x (2.6 has only
// that). Picked by what the hooks declare, the CUDA name first where both exist.
template <typename Hooks>
auto cudaGenerator(const Hooks& h, int i, int) -> decltype(at::Generator(h.getDefaultCUDAGenerator(i))) {
  return h.getDefaultCUDAGenerator(i);
}
template <typename Hooks>
auto cudaGenerator(const Hooks& h, int i, long) -> decltype(at::Generator(h.getDefaultGenerator(i))) {
  return h.getDefaultGenerator(i);
}
inline at::Generator cudaGenerator(int device) {
  return cudaGenerator(at::detail::getCUDAHooks(), device, 0);
}

}  // namespace tsy::compat
