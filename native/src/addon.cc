// N-API entry points. Every kernel reads the caller's Float32Array buffers in place and writes into
// a Float32Array the caller allocated: nothing is copied on the way in or out.
#include <napi.h>
#include <cstdio>
#include <exception>
#include "ops.h"

namespace {

float* f32(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array");
  return v.As<Napi::Float32Array>().Data();
}

float* f32_or_null(const Napi::Value& v, const char* what) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return f32(v, what);
}

Shape ints(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  Shape s(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) s[i] = (int64_t)a.Get(i).As<Napi::Number>().DoubleValue();
  return s;
}

int64_t i64(const Napi::Value& v) { return (int64_t)v.As<Napi::Number>().DoubleValue(); }
float f(const Napi::Value& v) { return v.As<Napi::Number>().FloatValue(); }

#define GUARD_BEGIN try {
#define GUARD_END                                               \
  }                                                             \
  catch (const Napi::Error&) {                                  \
    throw;                                                      \
  }                                                             \
  catch (const std::exception& ex) {                            \
    throw Napi::Error::New(info.Env(), std::string("native kernel failed: ") + ex.what()); \
  }

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  char v[64];
  dnnl_version_string(v, sizeof v);
  o.Set("dnnl", v);
  o.Set("isa", dnnl_isa_name());
  o.Set("simd", simd().name);
  o.Set("threads", num_threads());
  o.Set("maxThreads", omp_get_num_procs());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  set_num_threads((int)i64(info[0]));
  return Napi::Number::New(info.Env(), num_threads());
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cacheEntries", (double)dnnl_cache_entries());
  o.Set("cacheBytes", (double)g_cache_bytes);
  return o;
}

Napi::Value ClearCache(const Napi::CallbackInfo& info) {
  dnnl_clear_cache();
  return info.Env().Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  auto x = info[1].As<Napi::Float32Array>();
  float* y = f32(info[2], "y");
  unary((int)i64(info[0]), f32(info[1], "x"), y, (int64_t)x.ElementLength(), f(info[3]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  auto y = info[0].As<Napi::Float32Array>();
  float* p = f32(info[0], "y");
  const float v = f(info[1]);
  const int64_t n = (int64_t)y.ElementLength();
  parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) { simd().fill(p + b, v, e - b); });
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  binary((int)i64(info[0]), f32(info[1], "a"), ints(info[2]), f32(info[3], "b"), ints(info[4]), f32(info[5], "y"), ints(info[6]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  Shape axes64 = ints(info[3]);
  std::vector<int> axes(axes64.begin(), axes64.end());
  reduce((int)i64(info[0]), f32(info[1], "x"), ints(info[2]), axes, f32(info[4], "y"));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  Shape p64 = ints(info[2]);
  std::vector<int> perm(p64.begin(), p64.end());
  transpose(f32(info[0], "x"), ints(info[1]), perm, f32(info[3], "y"));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Pad(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  pad(f32(info[0], "x"), ints(info[1]), ints(info[2]), ints(info[3]), f(info[4]), f32(info[5], "y"));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Slice(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  slice(f32(info[0], "x"), ints(info[1]), ints(info[2]), ints(info[3]), f32(info[4], "y"));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Tile(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  tile(f32(info[0], "x"), ints(info[1]), ints(info[2]), f32(info[3], "y"));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Concat(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<const float*> xs(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) xs[i] = f32(arr.Get(i), "x");
  concat(xs, ints(info[1]), i64(info[2]), f32(info[3], "y"));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  softmax(f32(info[0], "x"), f32(info[1], "y"), i64(info[2]), i64(info[3]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value SoftmaxGrad(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  softmax_grad(f32(info[0], "dy"), f32(info[1], "y"), f32(info[2], "dx"), i64(info[3]), i64(info[4]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value ScaleShift(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  scale_shift(f32(info[0], "x"), f32(info[1], "a"), f32(info[2], "b"), f32(info[3], "y"), i64(info[4]), i64(info[5]));
  GUARD_END
  return info.Env().Undefined();
}

PoolParams pool_params(const Napi::Value& v) {
  Shape s = ints(v);
  if (s.size() != 14) throw Napi::TypeError::New(v.Env(), "pool params must have 14 entries");
  return PoolParams{s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13]};
}

Napi::Value Pool(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  pool2d((int)i64(info[0]), f32(info[1], "x"), f32(info[2], "y"), pool_params(info[3]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  max_pool_grad(f32(info[0], "dy"), f32(info[1], "x"), f32(info[2], "dx"), pool_params(info[3]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value ArgMax(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), "y must be an Int32Array");
  argmax_rows(f32(info[0], "x"), info[1].As<Napi::Int32Array>().Data(), i64(info[2]), i64(info[3]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  avg_pool_grad(f32(info[0], "dy"), f32(info[1], "dx"), pool_params(info[2]));
  GUARD_END
  return info.Env().Undefined();
}

// Adam and AdamW take the same arguments: p, g, m, v, p out, m out, v out, lr, β1, β2, ε, wd (AdamW: the decay factor), step.
using AdamUpdate = void (*)(const float*, const float*, const float*, const float*, float*, float*, float*, int64_t, float, float,
                            float, float, float, int);

Napi::Value AdamCall(const Napi::CallbackInfo& info, AdamUpdate update) {
  GUARD_BEGIN
  auto p = info[0].As<Napi::Float32Array>();
  update(f32(info[0], "param"), f32(info[1], "grad"), f32(info[2], "m"), f32(info[3], "v"), f32(info[4], "param out"),
         f32(info[5], "m out"), f32(info[6], "v out"), (int64_t)p.ElementLength(), f(info[7]), f(info[8]), f(info[9]),
         f(info[10]), f(info[11]), (int)i64(info[12]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Adam(const Napi::CallbackInfo& info) { return AdamCall(info, adam); }

Napi::Value AdamW(const Napi::CallbackInfo& info) { return AdamCall(info, adamw); }

Napi::Value Sgd(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  auto p = info[0].As<Napi::Float32Array>();
  sgd(f32(info[0], "param"), f32(info[1], "grad"), f32(info[2], "momentum"), f32(info[3], "param out"),
      f32(info[4], "momentum out"), (int64_t)p.ElementLength(), f(info[5]), f(info[6]), f(info[7]), f(info[8]), f(info[9]),
      info[10].As<Napi::Boolean>().Value());
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  auto x = info[0].As<Napi::Float32Array>();
  dropout(f32(info[0], "x"), f32(info[1], "y"), (int64_t)x.ElementLength(), (uint32_t)i64(info[2]), (uint32_t)i64(info[3]),
          info[4].As<Napi::Number>().DoubleValue());
  GUARD_END
  return info.Env().Undefined();
}

// norm(layout, x, gamma, beta, y, mean, var, R, D, eps): layout 0 = rows, 1 = channels
Napi::Value Norm(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  const int layout = (int)i64(info[0]);
  auto fn = layout == 0 ? norm_rows_fwd : norm_channels_fwd;
  fn(f32(info[1], "x"), f32(info[2], "gamma"), f32(info[3], "beta"), f32(info[4], "y"), f32(info[5], "mean"), f32(info[6], "variance"),
     i64(info[7]), i64(info[8]), f(info[9]));
  GUARD_END
  return info.Env().Undefined();
}

// normGrad(layout, dy, x, mean, var, gamma, dx, dgamma, dbeta, R, D, eps)
Napi::Value NormGrad(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  const int layout = (int)i64(info[0]);
  auto fn = layout == 0 ? norm_rows_bwd : norm_channels_bwd;
  fn(f32(info[1], "dy"), f32(info[2], "x"), f32(info[3], "mean"), f32(info[4], "variance"), f32(info[5], "gamma"), f32(info[6], "dx"),
     f32(info[7], "dgamma"), f32(info[8], "dbeta"), i64(info[9]), i64(info[10]), f(info[11]));
  GUARD_END
  return info.Env().Undefined();
}

ConvParams conv_params(const Napi::Value& v) {
  Shape s = ints(v);
  if (s.size() != 17) throw Napi::TypeError::New(v.Env(), "conv params must have 17 entries");
  return ConvParams{s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15], s[16]};
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  conv_fwd(conv_params(info[4]), f32(info[0], "x"), f32(info[1], "filter"), f32_or_null(info[2], "bias"), f32(info[3], "y"),
           (int)i64(info[5]), f(info[6]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  conv_bwd_data(conv_params(info[3]), f32(info[0], "dy"), f32(info[1], "filter"), f32(info[2], "dx"));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  conv_bwd_weights(conv_params(info[3]), f32(info[0], "x"), f32(info[1], "dy"), f32(info[2], "dw"));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Value MatMul(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  matmul(f32(info[0], "a"), f32(info[1], "b"), f32_or_null(info[2], "bias"), f32(info[3], "c"), i64(info[4]), i64(info[5]),
         i64(info[6]), i64(info[7]), i64(info[8]), info[9].ToBoolean(), info[10].ToBoolean(), (int)i64(info[11]), f(info[12]));
  GUARD_END
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  set_num_threads(omp_get_num_procs());
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("stats", Napi::Function::New(env, Stats));
  exports.Set("clearCache", Napi::Function::New(env, ClearCache));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("tile", Napi::Function::New(env, Tile));
  exports.Set("concat", Napi::Function::New(env, Concat));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("softmaxGrad", Napi::Function::New(env, SoftmaxGrad));
  exports.Set("scaleShift", Napi::Function::New(env, ScaleShift));
  exports.Set("pool", Napi::Function::New(env, Pool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("argMax", Napi::Function::New(env, ArgMax));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
  exports.Set("dropout", Napi::Function::New(env, Dropout));
  exports.Set("norm", Napi::Function::New(env, Norm));
  exports.Set("normGrad", Napi::Function::New(env, NormGrad));
  exports.Set("adam", Napi::Function::New(env, Adam));
  exports.Set("adamw", Napi::Function::New(env, AdamW));
  exports.Set("sgd", Napi::Function::New(env, Sgd));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("matmul", Napi::Function::New(env, MatMul));
  return exports;
}

}  // namespace

NODE_API_MODULE(mixture_native, Init)
