// c10d bindings: key-value stores (TCPStore, FileStore) and process groups (Gloo on the CPU,
// NCCL where the libtorch has CUDA and NCCL headers), with blocking collectives that take
// timeouts. Handles are type-tagged napi externals holding intrusive pointers.
#include "common.h"
#define TSY_COMPAT_C10D
#include "compat.h"  // the c10d headers, and what differs between libtorch versions
#include <chrono>

namespace tsy {
namespace {

using ms = std::chrono::milliseconds;

static const napi_type_tag kStoreTag = {0x3d1f8a2c5e7b9041ULL, 0x8a6c2e4f1b3d5a70ULL};
static const napi_type_tag kGroupTag = {0x51c7e3a9f2d84b16ULL, 0x2f9b4d6a8c1e3b57ULL};

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
};
struct GroupBox {
  c10::intrusive_ptr<compat::Collectives> pg;
  std::string backend;
};

template <typename T>
napi_value box(napi_env env, T* p, const napi_type_tag* tag) {
  napi_value ext;
  napi_create_external(
      env, p, [](node_api_basic_env, void* data, void*) { delete static_cast<T*>(data); }, nullptr, &ext);
  napi_type_tag_object(env, ext, tag);
  return ext;
}

template <typename T>
T* unbox(napi_env env, napi_value v, const napi_type_tag* tag, const char* what) {
  bool ok = false;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  // a tensor handle is an External that napi's type tags cannot read (holder.cc): refuse it first
  if (t == napi_external && !tryHolder(env, v)) napi_check_object_type_tag(env, v, tag, &ok);
  if (!ok) throw Napi::TypeError::New(env, std::string("expected a ") + what + " handle");
  void* p = nullptr;
  napi_get_value_external(env, v, &p);
  return static_cast<T*>(p);
}

c10d::Store& storeOf(const Napi::CallbackInfo& info, size_t i) {
  return *unbox<StoreBox>(info.Env(), info[i], &kStoreTag, "store")->store;
}

GroupBox& groupOf(const Napi::CallbackInfo& info, size_t i) {
  auto* g = unbox<GroupBox>(info.Env(), info[i], &kGroupTag, "process group");
  if (!g->pg) throw Napi::Error::New(info.Env(), "process group: already destroyed");
  return *g;
}

ms msArg(const Napi::CallbackInfo& info, size_t i, int64_t dflt) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return ms(dflt);
  return ms(info[i].As<Napi::Number>().Int64Value());
}

std::vector<uint8_t> bytesArg(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsString()) {
    std::string s = info[i].As<Napi::String>().Utf8Value();
    return std::vector<uint8_t>(s.begin(), s.end());
  }
  auto a = info[i].As<Napi::Uint8Array>();
  return std::vector<uint8_t>(a.Data(), a.Data() + a.ByteLength());
}

// (host, port, isServer, worldSize, timeoutMs, waitWorkers) -> store
Napi::Value StoreTcp(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return guarded(env, "TCPStore", [&]() -> Napi::Value {
    c10d::TCPStoreOptions o;
    std::string host = info[0].As<Napi::String>().Utf8Value();
    o.port = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
    o.isServer = info[2].As<Napi::Boolean>().Value();
    int64_t n = info[3].As<Napi::Number>().Int64Value();
    if (n > 0) o.numWorkers = static_cast<size_t>(n);
    o.timeout = msArg(info, 4, 300000);
    o.waitWorkers = info.Length() > 5 ? info[5].As<Napi::Boolean>().Value() : false;
    auto s = compat::tcpStore(host, o);
    return Napi::Value(env, box(env, new StoreBox{s}, &kStoreTag));
  });
}

// (path, worldSize, timeoutMs) -> store
Napi::Value StoreFile(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return guarded(env, "FileStore", [&]() -> Napi::Value {
    auto s = c10::make_intrusive<c10d::FileStore>(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value());
    s->setTimeout(msArg(info, 2, 300000));
    return Napi::Value(env, box(env, new StoreBox{s}, &kStoreTag));
  });
}

// (store, prefix) -> store whose keys are prefixed
Napi::Value StorePrefix(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto base = unbox<StoreBox>(env, info[0], &kStoreTag, "store")->store;
  auto s = c10::make_intrusive<c10d::PrefixStore>(info[1].As<Napi::String>().Utf8Value(), base);
  return Napi::Value(env, box(env, new StoreBox{s}, &kStoreTag));
}

Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  guarded(env, "store.set", [&]() { storeOf(info, 0).set(info[1].As<Napi::String>().Utf8Value(), bytesArg(info, 2)); });
  return env.Undefined();
}

// (store, key) -> Buffer; blocks until the key exists or the store's timeout passes
Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return guarded(env, "store.get", [&]() -> Napi::Value {
    auto v = storeOf(info, 0).get(info[1].As<Napi::String>().Utf8Value());
    return Napi::Buffer<uint8_t>::Copy(env, v.data(), v.size());
  });
}

Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return guarded(env, "store.add", [&]() -> Napi::Value {
    int64_t r = storeOf(info, 0).add(info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int64Value());
    return Napi::Number::New(env, static_cast<double>(r));
  });
}

std::vector<std::string> keysArg(const Napi::CallbackInfo& info, size_t i) {
  auto a = info[i].As<Napi::Array>();
  std::vector<std::string> keys;
  for (uint32_t k = 0; k < a.Length(); k++) keys.push_back(a.Get(k).As<Napi::String>().Utf8Value());
  return keys;
}

Napi::Value StoreCheck(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return guarded(env, "store.check", [&]() -> Napi::Value { return Napi::Boolean::New(env, storeOf(info, 0).check(keysArg(info, 1))); });
}

Napi::Value StoreWait(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  guarded(env, "store.wait", [&]() { storeOf(info, 0).wait(keysArg(info, 1), msArg(info, 2, 300000)); });
  return env.Undefined();
}

// (store, rank, size, timeoutMs, {ifname, hostname}) -> gloo process group
Napi::Value GroupGloo(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return guarded(env, "ProcessGroupGloo", [&]() -> Napi::Value {
    auto store = unbox<StoreBox>(env, info[0], &kStoreTag, "store")->store;
    int rank = info[1].As<Napi::Number>().Int32Value();
    int size = info[2].As<Napi::Number>().Int32Value();
    auto opts = c10d::ProcessGroupGloo::Options::create(msArg(info, 3, 1800000));
    std::string ifname = info.Length() > 4 && info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
    std::string hostname = info.Length() > 5 && info[5].IsString() ? info[5].As<Napi::String>().Utf8Value() : "";
    if (!ifname.empty())
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (!hostname.empty())
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
    else
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    opts->threads = 2;
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
    return Napi::Value(env, box(env, new GroupBox{pg, "gloo"}, &kGroupTag));
  });
}

// (store, rank, size, timeoutMs) -> nccl process group
Napi::Value GroupNccl(const Napi::CallbackInfo& info) {
  auto env = info.Env();
#ifdef TSYOLO_WITH_NCCL
  return guarded(env, "ProcessGroupNCCL", [&]() -> Napi::Value {
    auto store = unbox<StoreBox>(env, info[0], &kStoreTag, "store")->store;
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = msArg(info, 3, 1800000);
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value(), opts);
    return Napi::Value(env, box(env, new GroupBox{pg, "nccl"}, &kGroupTag));
  });
#else
  throwJs(env, "ProcessGroupNCCL", "this build has no NCCL (it needs a CUDA libtorch with NCCL headers: build with LIBTORCH=/path/to/cuda/libtorch)");
#endif
}

Napi::Value HasNccl(const Napi::CallbackInfo& info) {
#ifdef TSYOLO_WITH_NCCL
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

c10d::ReduceOp reduceOp(napi_env env, const std::string& s) {
  if (s == "sum") return c10d::ReduceOp::SUM;
  if (s == "max") return c10d::ReduceOp::MAX;
  if (s == "min") return c10d::ReduceOp::MIN;
  if (s == "product") return c10d::ReduceOp::PRODUCT;
  throwJs(env, "allreduce", "unknown reduce op '" + s + "' (sum, max, min, product)");
}

// Waits for a collective; a timeout or a peer failure becomes a JS error naming the op.
void finish(napi_env env, const char* what, const c10::intrusive_ptr<c10d::Work>& work, ms timeout) {
  guarded(env, what, [&]() { work->wait(timeout); });
}

std::vector<at::Tensor> tensorsArg(const Napi::CallbackInfo& info, size_t i) {
  std::vector<at::Tensor> v;
  if (info[i].IsArray()) {
    auto a = info[i].As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); k++) v.push_back(unwrap(info.Env(), a.Get(k)));
  } else {
    v.push_back(unwrap(info.Env(), info[i]));
  }
  return v;
}

// (pg, tensor, op, timeoutMs): in place
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(info, 0);
  std::vector<at::Tensor> t = tensorsArg(info, 1);
  c10d::AllreduceOptions o;
  o.reduceOp = reduceOp(env, info[2].As<Napi::String>().Utf8Value());
  o.timeout = msArg(info, 3, 1800000);
  auto work = guarded(env, "allreduce", [&]() { return g.pg->allreduce(t, o); });
  finish(env, "allreduce", work, o.timeout);
  return env.Undefined();
}

// (pg, tensor, root, timeoutMs): in place
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(info, 0);
  std::vector<at::Tensor> t = tensorsArg(info, 1);
  c10d::BroadcastOptions o;
  o.rootRank = info[2].As<Napi::Number>().Int32Value();
  o.timeout = msArg(info, 3, 1800000);
  auto work = guarded(env, "broadcast", [&]() { return g.pg->broadcast(t, o); });
  finish(env, "broadcast", work, o.timeout);
  return env.Undefined();
}

// (pg, outputs[worldSize], input, timeoutMs): outputs filled in rank order
Napi::Value Allgather(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(info, 0);
  std::vector<std::vector<at::Tensor>> out{tensorsArg(info, 1)};
  std::vector<at::Tensor> in = tensorsArg(info, 2);
  c10d::AllgatherOptions o;
  o.timeout = msArg(info, 3, 1800000);
  auto work = guarded(env, "allgather", [&]() { return g.pg->allgather(out, in, o); });
  finish(env, "allgather", work, o.timeout);
  return env.Undefined();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(info, 0);
  c10d::BarrierOptions o;
  o.timeout = msArg(info, 1, 1800000);
  auto work = guarded(env, "barrier", [&]() { return g.pg->barrier(o); });
  finish(env, "barrier", work, o.timeout);
  return env.Undefined();
}

Napi::Value GroupInfo(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(info, 0);
  auto o = Napi::Object::New(env);
  o.Set("rank", g.pg->getRank());
  o.Set("size", g.pg->getSize());
  o.Set("backend", g.backend);
  return o;
}

// Drops the group now (its threads stop) instead of at GC.
Napi::Value GroupDestroy(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* g = unbox<GroupBox>(env, info[0], &kGroupTag, "process group");
  g->pg.reset();
  return env.Undefined();
}

}  // namespace

void initDistributed(Napi::Env env, Napi::Object exports) {
  auto d = Napi::Object::New(env);
  expose(d, "storeTcp", StoreTcp);
  expose(d, "storeFile", StoreFile);
  expose(d, "storePrefix", StorePrefix);
  expose(d, "storeSet", StoreSet);
  expose(d, "storeGet", StoreGet);
  expose(d, "storeAdd", StoreAdd);
  expose(d, "storeCheck", StoreCheck);
  expose(d, "storeWait", StoreWait);
  expose(d, "groupGloo", GroupGloo);
  expose(d, "groupNccl", GroupNccl);
  expose(d, "hasNccl", HasNccl);
  expose(d, "groupInfo", GroupInfo);
  expose(d, "groupDestroy", GroupDestroy);
  expose(d, "allreduce", Allreduce);
  expose(d, "broadcast", Broadcast);
  expose(d, "allgather", Allgather);
  expose(d, "barrier", Barrier);
  exports.Set("dist", d);
}

}  // namespace tsy
