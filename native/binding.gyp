{
  "targets": [
    {
      "target_name": "mixture_native",
      "sources": ["src/addon.cc", "src/ops.cc", "src/simd.cc", "src/dnnl_ops.cc", "src/pool.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags": ["-O3", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fopenmp", "-fno-math-errno", "-fno-trapping-math", "-Wno-unused-function"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
