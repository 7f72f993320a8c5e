// One generic, schema-driven call into the c10 dispatcher. Ops are looked up
// once by name and overload and then referred to by a small integer.
#include "common.h"
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <vector>

namespace tsy {

struct Op {
  c10::OperatorHandle handle;
  std::string label;
};
static std::vector<Op>& ops() {
  static std::vector<Op> v;
  return v;
}

static std::string str(napi_env env, napi_value v) {
  size_t len;
  napi_get_value_string_utf8(env, v, nullptr, 0, &len);
  std::string s(len, '\0');
  napi_get_value_string_utf8(env, v, s.data(), len + 1, &len);
  return s;
}

static napi_valuetype typeOf(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t;
}

[[noreturn]] static void badArg(napi_env env, const Op& op, const c10::Argument& a, const char* want) {
  throw Napi::TypeError::New(env, op.label + ": argument '" + a.name() + "' expects " + want + " (schema type " +
                                      a.real_type()->str() + ")");
}

// The tensor behind a handle argument: one lookup, a clear error for anything else.
static const at::Tensor& tensorOf(napi_env env, napi_value v, const Op& op, const c10::Argument& a, const char* want) {
  Holder* h = tryHolder(env, v);
  if (!h) badArg(env, op, a, want);
  if (!h->t.defined()) throw Napi::Error::New(env, op.label + ": tensor was disposed");
  return h->t;
}

static double num(napi_env env, napi_value v) {
  double d;
  napi_get_value_double(env, v, &d);
  return d;
}

static int64_t intOf(napi_env env, napi_value v, const Op& op, const c10::Argument& a) {
  auto t = typeOf(env, v);
  if (t == napi_number) {
    double d = num(env, v);  // truncated toward zero; outside int64 the cast would be undefined
    if (!(d >= -0x1p63 && d < 0x1p63)) badArg(env, op, a, "an integer in the int64 range");
    return static_cast<int64_t>(d);
  }
  if (t == napi_bigint) {
    int64_t i;
    bool lossless;
    napi_get_value_bigint_int64(env, v, &i, &lossless);
    if (!lossless) badArg(env, op, a, "an integer in the int64 range");
    return i;
  }
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, v, &b);
    return b;
  }
  badArg(env, op, a, "an integer");
}

static double floatOf(napi_env env, napi_value v, const Op& op, const c10::Argument& a) {
  if (typeOf(env, v) != napi_number) badArg(env, op, a, "a number");
  return num(env, v);
}

static bool boolOf(napi_env env, napi_value v, const Op& op, const c10::Argument& a) {
  if (typeOf(env, v) != napi_boolean) badArg(env, op, a, "a boolean");
  bool b;
  napi_get_value_bool(env, v, &b);
  return b;
}

static bool isArray(napi_env env, napi_value v) {
  bool r = false;
  napi_is_array(env, v, &r);
  return r;
}

template <typename F>
static void eachElement(napi_env env, napi_value arr, F&& f) {
  uint32_t n;
  napi_get_array_length(env, arr, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, arr, i, &e);
    f(e, i, n);
  }
}

static c10::IValue scalarOf(napi_env env, napi_value v, const Op& op, const c10::Argument& a) {
  switch (typeOf(env, v)) {
    case napi_number: {
      double d = num(env, v);
      double ip;
      if (std::modf(d, &ip) == 0.0 && std::abs(d) < 9.0e15) return c10::IValue(static_cast<int64_t>(d));
      return c10::IValue(d);
    }
    case napi_boolean: {
      bool b;
      napi_get_value_bool(env, v, &b);
      return c10::IValue(b);
    }
    case napi_bigint: return c10::IValue(intOf(env, v, op, a));
    default: badArg(env, op, a, "a number");
  }
}

static c10::IValue convert(napi_env env, napi_value v, const c10::TypePtr& type, const Op& op, const c10::Argument& a);

static c10::IValue convertList(napi_env env, napi_value v, const c10::ListTypePtr& lt, const Op& op,
                               const c10::Argument& a) {
  const auto& el = lt->getElementType();
  auto kind = el->kind();
  if (kind == c10::TypeKind::IntType || kind == c10::TypeKind::SymIntType) {
    c10::List<int64_t> out;
    if (!isArray(env, v)) {  // an int for int[N] repeats N times, as in Python
      int64_t x = intOf(env, v, op, a);
      size_t n = a.N() ? *a.N() : 1;
      for (size_t i = 0; i < n; i++) out.push_back(x);
      return out;
    }
    eachElement(env, v, [&](napi_value e, uint32_t, uint32_t) { out.push_back(intOf(env, e, op, a)); });
    return out;
  }
  if (!isArray(env, v)) {
    if (kind == c10::TypeKind::FloatType) {
      c10::List<double> out;
      size_t n = a.N() ? *a.N() : 1;
      double x = floatOf(env, v, op, a);
      for (size_t i = 0; i < n; i++) out.push_back(x);
      return out;
    }
    badArg(env, op, a, "an array");
  }
  switch (kind) {
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      eachElement(env, v, [&](napi_value e, uint32_t, uint32_t) {
        out.push_back(tensorOf(env, e, op, a, "an array of Tensors"));
      });
      return out;
    }
    case c10::TypeKind::OptionalType: {
      c10::List<c10::optional<at::Tensor>> out;
      eachElement(env, v, [&](napi_value e, uint32_t, uint32_t) {
        auto t = typeOf(env, e);
        if (t == napi_null || t == napi_undefined)
          out.push_back(c10::nullopt);
        else
          out.push_back(tensorOf(env, e, op, a, "an array of Tensors or nulls"));
      });
      return out;
    }
    case c10::TypeKind::FloatType: {
      c10::List<double> out;
      eachElement(env, v, [&](napi_value e, uint32_t, uint32_t) { out.push_back(floatOf(env, e, op, a)); });
      return out;
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      eachElement(env, v, [&](napi_value e, uint32_t, uint32_t) { out.push_back(boolOf(env, e, op, a)); });
      return out;
    }
    default: {
      c10::impl::GenericList out(el);
      eachElement(env, v, [&](napi_value e, uint32_t, uint32_t) { out.push_back(convert(env, e, el, op, a)); });
      return out;
    }
  }
}

static c10::IValue convert(napi_env env, napi_value v, const c10::TypePtr& type, const Op& op, const c10::Argument& a) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType:
      return tensorOf(env, v, op, a, "a Tensor");
    case c10::TypeKind::OptionalType: {
      auto t = typeOf(env, v);
      if (t == napi_null || t == napi_undefined) return c10::IValue();
      return convert(env, v, type->castRaw<c10::OptionalType>()->getElementType(), op, a);
    }
    case c10::TypeKind::ListType: return convertList(env, v, type->cast<c10::ListType>(), op, a);
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: return intOf(env, v, op, a);
    case c10::TypeKind::FloatType: return floatOf(env, v, op, a);
    case c10::TypeKind::BoolType: return boolOf(env, v, op, a);
    case c10::TypeKind::NumberType: return scalarOf(env, v, op, a);
    case c10::TypeKind::StringType: {
      if (typeOf(env, v) != napi_string) badArg(env, op, a, "a string");
      return str(env, v);
    }
    case c10::TypeKind::ScalarTypeType:
      return static_cast<int64_t>(parseDtype(env, v, op.label + ": argument '" + a.name() + "'"));
    case c10::TypeKind::LayoutType: {
      if (typeOf(env, v) == napi_string) {
        auto s = str(env, v);
        if (s == "strided") return static_cast<int64_t>(at::kStrided);
        if (s == "sparse") return static_cast<int64_t>(at::kSparse);
        badArg(env, op, a, "'strided' or 'sparse'");
      }
      return intOf(env, v, op, a);
    }
    case c10::TypeKind::MemoryFormatType: {
      if (typeOf(env, v) == napi_string) {
        auto s = str(env, v);
        if (s == "contiguous") return static_cast<int64_t>(at::MemoryFormat::Contiguous);
        if (s == "preserve") return static_cast<int64_t>(at::MemoryFormat::Preserve);
        if (s == "channels_last") return static_cast<int64_t>(at::MemoryFormat::ChannelsLast);
        if (s == "channels_last_3d") return static_cast<int64_t>(at::MemoryFormat::ChannelsLast3d);
        badArg(env, op, a, "a memory format name");
      }
      return intOf(env, v, op, a);
    }
    case c10::TypeKind::DeviceObjType: {
      if (typeOf(env, v) != napi_string) badArg(env, op, a, "a device string");
      return c10::Device(str(env, v));
    }
    case c10::TypeKind::GeneratorType: {
      auto t = typeOf(env, v);
      if (t == napi_null || t == napi_undefined) return c10::IValue();
      badArg(env, op, a, "null (generators are not supported)");
    }
    default: badArg(env, op, a, "a supported type");
  }
}

static napi_value toJs(napi_env env, const c10::IValue& iv) {
  napi_value r;
  if (iv.isTensor()) return wrap(env, iv.toTensor());
  if (iv.isNone()) {
    napi_get_null(env, &r);
    return r;
  }
  if (iv.isInt()) {
    napi_create_double(env, double(iv.toInt()), &r);
    return r;
  }
  if (iv.isDouble()) {
    napi_create_double(env, iv.toDouble(), &r);
    return r;
  }
  if (iv.isBool()) {
    napi_get_boolean(env, iv.toBool(), &r);
    return r;
  }
  if (iv.isString()) {
    const auto& s = iv.toStringRef();
    napi_create_string_utf8(env, s.data(), s.size(), &r);
    return r;
  }
  if (iv.isTuple()) {
    const auto& els = iv.toTupleRef().elements();
    napi_create_array_with_length(env, els.size(), &r);
    for (size_t i = 0; i < els.size(); i++) napi_set_element(env, r, uint32_t(i), toJs(env, els[i]));
    return r;
  }
  if (iv.isList()) {
    auto l = iv.toListRef();
    napi_create_array_with_length(env, l.size(), &r);
    for (size_t i = 0; i < l.size(); i++) napi_set_element(env, r, uint32_t(i), toJs(env, l[i]));
    return r;
  }
  if (iv.isScalar()) {
    napi_create_double(env, iv.toScalar().toDouble(), &r);
    return r;
  }
  throw Napi::TypeError::New(env, std::string("unsupported return type ") + iv.tagKind());
}

// lookupOp(name, overload) -> op id. Name without a namespace means aten::.
static Napi::Value LookupOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (name.find("::") == std::string::npos) name = "aten::" + name;
  auto h = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!h) throw Napi::Error::New(env, "unknown op " + name + (overload.empty() ? "" : "." + overload));
  ops().push_back(Op{*h, name + (overload.empty() ? "" : "." + overload)});
  return Napi::Number::New(env, double(ops().size() - 1));
}

static const Op& opAt(napi_env env, napi_value v) {
  uint32_t id;
  if (napi_get_value_uint32(env, v, &id) != napi_ok || id >= ops().size()) throw Napi::Error::New(env, "bad op id");
  return ops()[id];
}

// opSchema(id) -> { name, overload, args: [{name, type, hasDefault, kwargOnly}], returns }
static Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Op& op = opAt(env, info[0]);
  const auto& s = op.handle.schema();
  auto o = Napi::Object::New(env);
  o.Set("name", s.name());
  o.Set("overload", s.overload_name());
  o.Set("schema", c10::toString(s));
  auto args = Napi::Array::New(env, s.arguments().size());
  for (size_t i = 0; i < s.arguments().size(); i++) {
    const auto& a = s.arguments()[i];
    auto ao = Napi::Object::New(env);
    ao.Set("name", a.name());
    ao.Set("type", a.real_type()->str());
    ao.Set("hasDefault", a.default_value().has_value());
    ao.Set("kwargOnly", a.kwarg_only());
    args.Set(uint32_t(i), ao);
  }
  o.Set("args", args);
  o.Set("returns", Napi::Number::New(env, double(s.returns().size())));
  return o;
}

// call(id, ...args): positional arguments by schema; undefined means "use the default".
// Returns one value for a single return, an array for several.
template <bool kReturn>
static napi_value Call(napi_env env, napi_callback_info cbinfo) {
  // one reusable stack per thread: no allocation per call
  thread_local torch::jit::Stack stack;
  try {
    // the arguments in a small fixed buffer, or all of them in a vector when there are more
    constexpr size_t kSmall = 24;
    napi_value small[kSmall];
    std::vector<napi_value> large;
    napi_value* argv = small;
    size_t argc = kSmall;
    napi_get_cb_info(env, cbinfo, &argc, small, nullptr, nullptr);
    if (argc > kSmall) {
      large.resize(argc);
      napi_get_cb_info(env, cbinfo, &argc, large.data(), nullptr, nullptr);
      argv = large.data();
    }
    if (argc < 1) throw Napi::Error::New(env, "call: missing op id");
    const Op& op = opAt(env, argv[0]);
    const auto& schema = op.handle.schema();
    const auto& args = schema.arguments();
    if (argc - 1 > args.size())
      throw Napi::TypeError::New(env, op.label + ": takes " + std::to_string(args.size()) + " arguments, got " +
                                          std::to_string(argc - 1));
    stack.clear();
    guarded(env, op.label.c_str(), [&]() {
      for (size_t i = 0; i < args.size(); i++) {
        const auto& a = args[i];
        napi_value v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (v == nullptr || typeOf(env, v) == napi_undefined) {
          if (a.default_value()) {
            stack.push_back(*a.default_value());
            continue;
          }
          if (a.real_type()->kind() == c10::TypeKind::OptionalType) {
            stack.emplace_back();
            continue;
          }
          throw Napi::TypeError::New(env, op.label + ": missing argument '" + a.name() + "'");
        }
        stack.push_back(convert(env, v, a.real_type(), op, a));
      }
      op.handle.callBoxed(&stack);
    });
    if (!kReturn) {
      stack.clear();
      return nullptr;
    }
    napi_value r;
    if (stack.size() == 1) {
      r = toJs(env, stack[0]);
    } else {
      napi_create_array_with_length(env, stack.size(), &r);
      for (size_t i = 0; i < stack.size(); i++) napi_set_element(env, r, uint32_t(i), toJs(env, stack[i]));
    }
    stack.clear();
    return r;
  } catch (...) {
    stack.clear();
    throwPending(env, "call");
    return nullptr;
  }
}

// binary(kind, a, b, alpha?): the hottest elementwise ops without boxing their
// arguments (still through the dispatcher, so autograd records them).
// kind: 0 add, 1 sub, 2 mul, 3 div; b is a tensor handle or a number.
static napi_value Binary(napi_env env, napi_callback_info cbinfo) {
  static const char* names[] = {"aten::add.Tensor", "aten::sub.Tensor", "aten::mul.Tensor", "aten::div.Tensor"};
  try {
    napi_value argv[4];
    size_t argc = 4;  // extra arguments are ignored; missing ones read as undefined
    napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr);
    int32_t kind = -1;
    napi_get_value_int32(env, argv[0], &kind);
    if (kind < 0 || kind > 3) throw Napi::Error::New(env, "binary: bad kind");
    // self is a handle; other a handle or a number
    Holder* ha = tryHolder(env, argv[1]);
    Holder* hb = tryHolder(env, argv[2]);
    bool scalar = !hb && typeOf(env, argv[2]) == napi_number;
    if (!ha || (!hb && !scalar))
      throw Napi::TypeError::New(env, std::string(names[kind]) + ": argument '" + (!ha ? "self" : "other") +
                                          "' expects a Tensor (schema type Tensor)");
    if (!ha->t.defined() || (hb && !hb->t.defined()))
      throw Napi::Error::New(env, std::string(names[kind]) + ": tensor was disposed");
    const at::Tensor& a = ha->t;
    double alpha = 1;
    if (argc > 3 && typeOf(env, argv[3]) == napi_number) napi_get_value_double(env, argv[3], &alpha);
    at::Tensor r = guarded(env, names[kind], [&]() -> at::Tensor {
      if (scalar) {
        double d = num(env, argv[2]);
        double ip;
        at::Scalar s = std::modf(d, &ip) == 0.0 && std::abs(d) < 9.0e15 ? at::Scalar(static_cast<int64_t>(d)) : at::Scalar(d);
        switch (kind) {
          case 0: return at::add(a, s, alpha);
          case 1: return at::sub(a, s, alpha);
          case 2: return at::mul(a, s);
          default: return at::div(a, s);
        }
      }
      const at::Tensor& b = hb->t;
      switch (kind) {
        case 0: return alpha == 1 ? at::add(a, b) : at::add(a, b, alpha);
        case 1: return alpha == 1 ? at::sub(a, b) : at::sub(a, b, alpha);
        case 2: return at::mul(a, b);
        default: return at::div(a, b);
      }
    });
    return wrap(env, std::move(r));
  } catch (...) {
    throwPending(env, "binary");
    return nullptr;
  }
}

void initDispatch(Napi::Env env, Napi::Object exports) {
  {
    napi_value fn;
    napi_create_function(env, "binary", NAPI_AUTO_LENGTH, Binary, nullptr, &fn);
    exports.Set("binary", Napi::Value(env, fn));
  }
  expose(exports, "lookupOp", LookupOp);
  expose(exports, "opSchema", OpSchema);
  napi_value fn;
  napi_create_function(env, "call", NAPI_AUTO_LENGTH, Call<true>, nullptr, &fn);
  exports.Set("call", Napi::Value(env, fn));
  // callVoid: the same call, results dropped (in-place ops return their input again)
  napi_create_function(env, "callVoid", NAPI_AUTO_LENGTH, Call<false>, nullptr, &fn);
  exports.Set("callVoid", Napi::Value(env, fn));
}

}  // namespace tsy
