// Tensor handles: the pool of Holders, the JS value that stands for one, and their lifetime.
//
// A handle is a JS External whose value is a key: the address of a pool slot with the slot's
// generation in the top 16 bits. Slots come from 64 KiB-aligned slabs, so "is this one of our
// handles?" is a lookup of the key's slab, and a handle outlived by its tensor (disposed, its slot
// reused) reads as disposed because the generation moved on.
//
// Two ways to keep the JS value and the slot together, picked once per process (handleMode()):
// - "v8": the External is made with V8's API and held by one weak global handle, which dispose()
//   drops along with the slot, so a disposed tensor costs the GC nothing. This needs the addon
//   built against this Node's own V8 headers (NODE_MODULE_VERSION is compared at load). Such a
//   handle is an External to JS and to napi_typeof, but napi_get_value_external cannot read it
//   (N-API's Externals hold a wrapper): only tryHolder reads handles.
// - "napi": napi_create_external with a finalizer (two weak handles and two allocations per
//   tensor inside Node, and GC work even after dispose). Used when the ABI check fails, or
//   TSYOLO_NAPI_HANDLES=1 asks for it; dispose frees the tensor, the finalizer the slot.
#include "common.h"
// node_version.h (for NODE_MODULE_VERSION) would redefine NAPI_VERSION: keep the experimental one
#pragma push_macro("NAPI_VERSION")
#undef NAPI_VERSION
#include <node_version.h>
#pragma pop_macro("NAPI_VERSION")
#include <v8.h>
#include <sys/mman.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace tsy {
namespace {

struct alignas(64) Slot {
  Holder h{at::Tensor(), 0};  // first member: a Holder* of the pool is its Slot*
  v8::Global<v8::Value> weak;  // "v8" mode: the handle's weak reference
  Slot* next = nullptr;        // free list
  uint16_t gen = 0;            // bumped each time the slot is given back
  bool live = false;
};
static_assert(sizeof(Slot) == 64, "a slot is one cache line");

constexpr uintptr_t kSlab = 1 << 16;
constexpr int kGenShift = 48;
constexpr uintptr_t kAddrMask = (uintptr_t(1) << kGenShift) - 1;

enum Mode { kUnset, kV8, kNapi };
Mode mode = kUnset;  // set by the first initHolder, before any handle exists

// What a handle reads as once its tensor is gone: an undefined tensor. Never written.
Holder gone{at::Tensor(), 0};

void* keyOf(const Slot* s) {
  return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(s) | (uintptr_t(s->gen) << kGenShift));
}

// One per thread (the main thread and each worker have their own V8 isolate and napi env).
struct Pool {
  Slot* head = nullptr;  // FIFO: a given-back slot is reused last, so a stale handle meets its
  Slot* tail = nullptr;  // slot's generation again only after 65,536 rounds of the free list
  std::vector<uintptr_t> slabs;  // sorted bases
  uintptr_t lastSlab = 0;
  bool reporting = true;
  bool hooked = false;
  int64_t live = 0;  // slots holding a handle's tensor (liveHandles())

  Slot* take() {
    if (!head) grow();
    Slot* s = head;
    head = s->next;
    if (!head) tail = nullptr;
    s->next = nullptr;
    s->live = true;
    live++;
    return s;
  }
  void give(Slot* s) {
    s->h.t.reset();
    s->h.bytes = 0;
    s->live = false;
    live--;
    s->gen++;
    if (tail) tail->next = s;
    else head = s;
    tail = s;
  }
  bool owns(uintptr_t a) {
    uintptr_t base = a & ~(kSlab - 1);
    if ((a - base) % sizeof(Slot) != 0 || base == 0) return false;
    if (base == lastSlab) return true;
    if (!std::binary_search(slabs.begin(), slabs.end(), base)) return false;
    lastSlab = base;
    return true;
  }
  // The Holder a key names: nullptr if not ours, `gone` if its tensor was disposed.
  Holder* find(void* key) {
    auto k = reinterpret_cast<uintptr_t>(key);
    if (!owns(k & kAddrMask)) return nullptr;
    auto* s = reinterpret_cast<Slot*>(k & kAddrMask);
    return s->live && s->gen == uint16_t(k >> kGenShift) ? &s->h : &gone;
  }
  void grow() {
    // map twice the size and keep the aligned slab
    void* mem = mmap(nullptr, 2 * kSlab, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::bad_alloc();
    auto raw = reinterpret_cast<uintptr_t>(mem);
    uintptr_t base = (raw + kSlab - 1) & ~(kSlab - 1);
    if (base > raw) munmap(mem, base - raw);
    uintptr_t end = raw + 2 * kSlab;
    if (end > base + kSlab) munmap(reinterpret_cast<void*>(base + kSlab), end - base - kSlab);
    if ((base + kSlab) >> kGenShift) throw std::runtime_error("tensor handle pool: address above 2^48");
    slabs.insert(std::upper_bound(slabs.begin(), slabs.end(), base), base);
    auto* slots = reinterpret_cast<Slot*>(base);
    for (size_t i = 0; i < kSlab / sizeof(Slot); i++) {
      Slot* s = new (&slots[i]) Slot();
      if (tail) tail->next = s;
      else head = s;
      tail = s;
    }
  }
  // Frees every tensor still held (the env is going away: no GC callback will).
  void closeAll() {
    for (uintptr_t base : slabs) {
      auto* slots = reinterpret_cast<Slot*>(base);
      for (size_t i = 0; i < kSlab / sizeof(Slot); i++)
        if (slots[i].live) {
          slots[i].weak.Reset();
          give(&slots[i]);
        }
    }
  }
};
thread_local Pool pool;

v8::Local<v8::Value> toLocal(napi_value v) {
  v8::Local<v8::Value> l;
  static_assert(sizeof(l) == sizeof(v), "napi_value is a v8::Local");
  std::memcpy(static_cast<void*>(&l), &v, sizeof(v));
  return l;
}
napi_value fromLocal(v8::Local<v8::Value> l) {
  napi_value v;
  std::memcpy(&v, static_cast<void*>(&l), sizeof(v));
  return v;
}

// Tensors below this size are not reported to V8: the report costs more than they weigh.
constexpr int64_t kReportBytes = 4096;

void adjust(napi_env env, int64_t bytes) {
  int64_t total;
  napi_adjust_external_memory(env, bytes, &total);
}

// "v8" mode: the External was collected without dispose(). First pass: drop the weak handle
// (all V8 allows there); second pass, outside the GC: free the tensor and the slot.
void freeCollected(const v8::WeakCallbackInfo<Slot>& info) {
  Slot* s = info.GetParameter();
  if (!s->live) return;  // freed by the env's cleanup in between
  if (s->h.bytes) info.GetIsolate()->AdjustAmountOfExternalAllocatedMemory(-s->h.bytes);
  pool.give(s);
}
void onCollected(const v8::WeakCallbackInfo<Slot>& info) {
  info.GetParameter()->weak.Reset();
  info.SetSecondPassCallback(freeCollected);
}

// "napi" mode finalizer: frees the slot if it is still this handle's (dispose keeps it).
void finalizeKey(node_api_basic_env env, void* key, void*) {
  Holder* h = pool.find(key);
  if (!h || h == &gone) return;
  if (h->bytes) adjust(const_cast<napi_env>(env), -h->bytes);
  pool.give(reinterpret_cast<Slot*>(h));
}

std::string str(napi_env env, napi_value obj, const char* key) {
  napi_value v;
  char buf[32] = {0};
  size_t n = 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return "";
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &n) != napi_ok) return "";
  return std::string(buf, n);
}

// "v8" only when this addon was built for this Node's ABI and a napi_value is a v8::Local here.
Mode pickMode(napi_env env) {
  const char* forced = std::getenv("TSYOLO_NAPI_HANDLES");
  if (forced && *forced && std::string(forced) != "0") return kNapi;
  napi_value global, process, versions;
  napi_get_global(env, &global);
  if (napi_get_named_property(env, global, "process", &process) != napi_ok ||
      napi_get_named_property(env, process, "versions", &versions) != napi_ok ||
      str(env, versions, "modules") != std::to_string(NODE_MODULE_VERSION))
    return kNapi;
  // both directions: a V8 External read back as one, a napi number read as a V8 one
  // (N-API's own Externals hold a wrapper, so napi_get_value_external cannot read ours)
  void* probe = reinterpret_cast<void*>(uintptr_t(0x1234) << 4);
  napi_value ext = fromLocal(v8::External::New(v8::Isolate::GetCurrent(), probe));
  napi_valuetype ty;
  if (napi_typeof(env, ext, &ty) != napi_ok || ty != napi_external) return kNapi;
  v8::Local<v8::Value> back = toLocal(ext);
  if (!back->IsExternal() || back.As<v8::External>()->Value() != probe) return kNapi;
  napi_value num;
  if (napi_create_int32(env, 4242, &num) != napi_ok) return kNapi;
  v8::Local<v8::Value> n = toLocal(num);
  if (!n->IsInt32() || n.As<v8::Int32>()->Value() != 4242) return kNapi;
  return kV8;
}

void closeEnv(void*) { pool.closeAll(); }

}  // namespace

napi_value wrap(napi_env env, at::Tensor t) {
  Pool& p = pool;
  Slot* s = p.take();
  s->h.t = std::move(t);
  napi_value ext;
  if (mode == kV8) {
    v8::Isolate* iso = v8::Isolate::GetCurrent();
    v8::Local<v8::External> e = v8::External::New(iso, keyOf(s));
    s->weak.Reset(iso, e);
    s->weak.SetWeak(s, onCollected, v8::WeakCallbackType::kParameter);
    ext = fromLocal(e);
  } else if (napi_create_external(env, keyOf(s), finalizeKey, nullptr, &ext) != napi_ok) {
    p.give(s);
    throw Napi::Error::New(env, "could not create tensor handle");
  }
  if (p.reporting) reportHolder(env, &s->h);
  return ext;
}

Holder* tryHolder(napi_env env, napi_value v) {
  void* key = nullptr;
  if (mode == kV8) {
    v8::Local<v8::Value> l = toLocal(v);
    if (l.IsEmpty() || !l->IsExternal()) return nullptr;
    key = l.As<v8::External>()->Value();
  } else if (napi_get_value_external(env, v, &key) != napi_ok) {  // napi_invalid_arg for anything but an External
    return nullptr;
  }
  return pool.find(key);
}

void disposeHolder(napi_env env, Holder* h) {
  if (h == &gone || !h->t.defined()) return;
  if (h->bytes) adjust(env, -h->bytes);
  auto* s = reinterpret_cast<Slot*>(h);
  if (mode == kV8) {
    s->weak.Reset();  // nothing left for the GC to do
    pool.give(s);
  } else {
    h->t.reset();  // the finalizer gives the slot back
    h->bytes = 0;
  }
}

void reportHolder(napi_env env, Holder* h) {
  if (h->bytes || !h->t.defined()) return;
  int64_t bytes = static_cast<int64_t>(h->t.numel() * h->t.element_size());
  if (bytes < kReportBytes) return;
  h->bytes = bytes;
  adjust(env, bytes);
}

// Tensors created while a JS scope is open are freed by the scope, not by the GC. Reporting them
// would only make V8 start major GCs that free nothing, on the cores libtorch's threads need
// (bench: 2-thread forward 1.8x slower). scope.ts turns reporting off while any scope is open
// and reports the tensors that outlive every scope (reportExternal).
void setReporting(bool on) { pool.reporting = on; }

int64_t liveHandles() { return pool.live; }

const char* handleMode() { return mode == kV8 ? "v8" : "napi"; }

void initHolder(napi_env env) {
  static std::once_flag picked;
  std::call_once(picked, [env] { mode = pickMode(env); });
  if (!pool.hooked) {
    napi_add_env_cleanup_hook(env, closeEnv, nullptr);
    pool.hooked = true;
  }
}

}  // namespace tsy
