{
  "targets": [
    {
      "target_name": "tsyolo_torch",
      "sources": [
        "native/addon.cc",
        "native/handle.cc",
        "native/holder.cc",
        "native/dispatch.cc",
        "native/autograd.cc",
        "native/runtime.cc",
        "native/distributed.cc",
        "native/function.cc"
      ],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs include)"
      ],
      "defines": [
        "NAPI_EXPERIMENTAL",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
        "USE_C10D_GLOO",
        "<!@(node scripts/libtorch.mjs defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["<!@(node scripts/libtorch.mjs libs)"]
    }
  ]
}
