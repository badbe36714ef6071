// Convolutions and matrix products on oneDNN. Primitives are created once per shape and cached;
// activations stay in the caller's NHWC / row-major buffers, only weights are reordered.
#include <memory>
#include <string>
#include <unordered_map>
#include <cstdio>
#include "oneapi/dnnl/dnnl.hpp"
#include "ops.h"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static engine& eng() {
  static engine e(engine::kind::cpu, 0);
  return e;
}
static stream& strm() {
  static stream s(eng());
  return s;
}

struct Entry {
  primitive prim;
  memory::desc md_a, md_b, md_c, md_bias;  // per kind: see users below
  bool reorder_in = false, reorder_out = false;
  reorder rin, rout;
  memory tmp;  // reordered weights (in) or weight gradient in the primitive's layout (out)
  int64_t bytes = 0;
};

static std::unordered_map<std::string, std::unique_ptr<Entry>> g_cache;
static const size_t kMaxEntries = 1024;

static Entry* lookup(const std::string& key) {
  auto it = g_cache.find(key);
  return it == g_cache.end() ? nullptr : it->second.get();
}

static Entry* insert(const std::string& key, std::unique_ptr<Entry> e) {
  if (g_cache.size() >= kMaxEntries) dnnl_clear_cache();
  g_cache_bytes += e->bytes;
  Entry* p = e.get();
  g_cache[key] = std::move(e);
  return p;
}

int64_t dnnl_cache_entries() { return (int64_t)g_cache.size(); }
void dnnl_clear_cache() {
  for (auto& kv : g_cache) g_cache_bytes -= kv.second->bytes;
  g_cache.clear();
}

static std::string conv_key(const char* kind, const ConvParams& p, int extra = 0, float alpha = 0) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s|%ld,%ld,%ld,%ld|%ld,%ld,%ld|%ld,%ld|%ld,%ld,%ld,%ld|%ld,%ld,%ld,%ld|%d|%g", kind, (long)p.N,
           (long)p.H, (long)p.W, (long)p.C, (long)p.O, (long)p.KH, (long)p.KW, (long)p.OH, (long)p.OW, (long)p.SH,
           (long)p.SW, (long)p.DH, (long)p.DW, (long)p.PT, (long)p.PL, (long)p.PB, (long)p.PR, extra, alpha);
  return buf;
}

struct ConvDescs {
  memory::desc x, w_any, w_user, y, b;
  memory::dims strides, dil, pl, pr;
};

static ConvDescs conv_descs(const ConvParams& p) {
  ConvDescs d;
  d.x = memory::desc({p.N, p.C, p.H, p.W}, dt::f32, tag::nhwc);
  d.y = memory::desc({p.N, p.O, p.OH, p.OW}, dt::f32, tag::nhwc);
  d.w_any = memory::desc({p.O, p.C, p.KH, p.KW}, dt::f32, tag::any);
  d.w_user = memory::desc({p.O, p.C, p.KH, p.KW}, dt::f32, tag::hwio);
  d.b = memory::desc({p.O}, dt::f32, tag::x);
  d.strides = {p.SH, p.SW};
  d.dil = {p.DH - 1, p.DW - 1};
  d.pl = {p.PT, p.PL};
  d.pr = {p.PB, p.PR};
  return d;
}

// The fused activation of a forward convolution or matrix product as a oneDNN post-op
// (act: 0 none, 1 relu, 2 relu6, 3 elu, 4 sigmoid, 5 leaky relu with slope alpha).
static primitive_attr activation_attr(int act, float alpha) {
  primitive_attr attr;
  if (act) {
    post_ops po;
    switch (act) {
      case 1: po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
      case 2: po.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f); break;
      case 3: po.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f); break;
      case 4: po.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); break;
      case 5: po.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); break;
    }
    attr.set_post_ops(po);
  }
  return attr;
}

// A cached convolution entry over NHWC x (md_a), user-layout (HWIO) weights (md_b) and NHWC y (md_c).
static std::unique_ptr<Entry> conv_entry(const ConvDescs& d) {
  auto u = std::make_unique<Entry>();
  u->md_a = d.x;
  u->md_b = d.w_user;
  u->md_c = d.y;
  return u;
}

// Weights the primitive reads in another layout than the caller's: reorder them into `tmp` first.
static void plan_weights_in(Entry* u, const memory::desc& wanted) {
  if (wanted == u->md_b) return;
  u->reorder_in = true;
  u->tmp = memory(wanted, eng());
  u->rin = reorder(memory(u->md_b, eng(), nullptr), u->tmp);
  u->bytes += wanted.get_size();
}

// The caller's weights as the primitive reads them (reordered into the entry's buffer if planned).
static memory weights_in(Entry* e, const float* w) {
  memory wm(e->md_b, eng(), (void*)w);
  if (!e->reorder_in) return wm;
  e->rin.execute(strm(), wm, e->tmp);
  return e->tmp;
}

static convolution_forward::primitive_desc conv_fwd_pd(const ConvParams& p, const ConvDescs& d, bool bias, int act, float alpha) {
  auto desc = bias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, d.x, d.w_any, d.b,
                                               d.y, d.strides, d.dil, d.pl, d.pr)
                   : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, d.x, d.w_any, d.y,
                                               d.strides, d.dil, d.pl, d.pr);
  return convolution_forward::primitive_desc(desc, activation_attr(act, alpha), eng());
}

void conv_fwd(const ConvParams& p, const float* x, const float* w, const float* bias, float* y, int act, float alpha) {
  std::string key = conv_key(bias ? "fwdb" : "fwd", p, act, alpha);
  Entry* e = lookup(key);
  if (!e) {
    ConvDescs d = conv_descs(p);
    auto u = conv_entry(d);
    auto pd = conv_fwd_pd(p, d, bias != nullptr, act, alpha);
    u->prim = convolution_forward(pd);
    u->md_bias = d.b;
    plan_weights_in(u.get(), pd.weights_desc());
    e = insert(key, std::move(u));
  }
  memory xm(e->md_a, eng(), (void*)x), ym(e->md_c, eng(), y);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, weights_in(e, w)}, {DNNL_ARG_DST, ym}};
  if (bias) args[DNNL_ARG_BIAS] = memory(e->md_bias, eng(), (void*)bias);
  e->prim.execute(strm(), args);
  strm().wait();
}

void conv_bwd_data(const ConvParams& p, const float* dy, const float* w, float* dx) {
  std::string key = conv_key("bwd_data", p);
  Entry* e = lookup(key);
  if (!e) {
    ConvDescs d = conv_descs(p);
    auto u = conv_entry(d);
    auto hint = conv_fwd_pd(p, d, false, 0, 0);
    auto desc = convolution_backward_data::desc(algorithm::convolution_direct, d.x, d.w_any, d.y, d.strides, d.dil, d.pl, d.pr);
    auto pd = convolution_backward_data::primitive_desc(desc, eng(), hint);
    u->prim = convolution_backward_data(pd);
    plan_weights_in(u.get(), pd.weights_desc());
    e = insert(key, std::move(u));
  }
  memory dxm(e->md_a, eng(), dx), dym(e->md_c, eng(), (void*)dy);
  e->prim.execute(strm(), {{DNNL_ARG_DIFF_SRC, dxm}, {DNNL_ARG_WEIGHTS, weights_in(e, w)}, {DNNL_ARG_DIFF_DST, dym}});
  strm().wait();
}

// Grow-only scratch memory for im2col buffers.
static float* scratch(size_t n) {
  static std::vector<float> buf;
  if (buf.size() < n) {
    g_cache_bytes += (int64_t)((n - buf.size()) * sizeof(float));
    buf.resize(n);
  }
  return buf.data();
}

// Filter gradient as one matrix product: dW[(kh,kw,c), o] = im2col(x)ᵀ · dy, with the kernel taps that
// only ever see padding left out (on 1×1 and 2×2 feature maps most of a 3×3 kernel does). oneDNN's
// direct backward-weights kernels are slow on such tiny maps.
static void conv_bwd_weights_gemm(const ConvParams& p, const float* x, const float* dy, float* dw) {
  std::vector<std::pair<int64_t, int64_t>> taps;
  for (int64_t kh = 0; kh < p.KH; kh++)
    for (int64_t kw = 0; kw < p.KW; kw++) {
      bool hit = false;
      for (int64_t oh = 0; oh < p.OH && !hit; oh++) {
        int64_t h = oh * p.SH - p.PT + kh * p.DH;
        if (h < 0 || h >= p.H) continue;
        for (int64_t ow = 0; ow < p.OW && !hit; ow++) {
          int64_t w = ow * p.SW - p.PL + kw * p.DW;
          hit = w >= 0 && w < p.W;
        }
      }
      if (hit) taps.emplace_back(kh, kw);
    }
  const int64_t T = (int64_t)taps.size(), C = p.C, O = p.O, rows = p.N * p.OH * p.OW;
  std::memset(dw, 0, sizeof(float) * p.KH * p.KW * C * O);
  if (T == 0 || rows == 0) return;
  float* col = scratch((size_t)(rows * T * C + T * C * O));
  float* part = col + rows * T * C;
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(T * C, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t n = r / (p.OH * p.OW), rem = r % (p.OH * p.OW), oh = rem / p.OW, ow = rem % p.OW;
      float* dst = col + r * T * C;
      for (int64_t t = 0; t < T; t++) {
        int64_t h = oh * p.SH - p.PT + taps[t].first * p.DH, w = ow * p.SW - p.PL + taps[t].second * p.DW;
        if (h < 0 || h >= p.H || w < 0 || w >= p.W) std::memset(dst + t * C, 0, C * sizeof(float));
        else std::memcpy(dst + t * C, x + ((n * p.H + h) * p.W + w) * C, C * sizeof(float));
      }
    }
  });
  float* target = T == p.KH * p.KW ? dw : part;
  ::matmul(col, dy, nullptr, target, 1, 1, T * C, rows, O, true, false, 0, 0.f);
  if (target == part)
    for (int64_t t = 0; t < T; t++)
      std::memcpy(dw + (taps[t].first * p.KW + taps[t].second) * C * O, part + t * C * O, C * O * sizeof(float));
}

void conv_bwd_weights(const ConvParams& p, const float* x, const float* dy, float* dw) {
  if (p.OH * p.OW <= 4) return conv_bwd_weights_gemm(p, x, dy, dw);
  std::string key = conv_key("bwd_w", p);
  Entry* e = lookup(key);
  if (!e) {
    ConvDescs d = conv_descs(p);
    auto u = conv_entry(d);
    auto hint = conv_fwd_pd(p, d, false, 0, 0);
    auto desc = convolution_backward_weights::desc(algorithm::convolution_direct, d.x, d.w_any, d.y, d.strides, d.dil, d.pl, d.pr);
    auto pd = convolution_backward_weights::primitive_desc(desc, eng(), hint);
    u->prim = convolution_backward_weights(pd);
    if (pd.diff_weights_desc() != d.w_user) {
      u->reorder_out = true;
      u->tmp = memory(pd.diff_weights_desc(), eng());
      u->rout = reorder(u->tmp, memory(d.w_user, eng(), nullptr));
      u->bytes += pd.diff_weights_desc().get_size();
    }
    e = insert(key, std::move(u));
  }
  memory xm(e->md_a, eng(), (void*)x), dym(e->md_c, eng(), (void*)dy), dwm(e->md_b, eng(), dw);
  e->prim.execute(strm(), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_WEIGHTS, e->reorder_out ? e->tmp : dwm}, {DNNL_ARG_DIFF_DST, dym}});
  if (e->reorder_out) e->rout.execute(strm(), e->tmp, dwm);
  strm().wait();
}

void matmul(const float* a, const float* b, const float* bias, float* c, int64_t ba, int64_t bb, int64_t M, int64_t K,
            int64_t N, bool ta, bool tb, int act, float alpha) {
  char buf[192];
  snprintf(buf, sizeof buf, "mm|%ld,%ld,%ld,%ld,%ld|%d%d%d|%d|%g", (long)ba, (long)bb, (long)M, (long)K, (long)N, (int)ta,
           (int)tb, bias != nullptr, act, alpha);
  std::string key(buf);
  Entry* e = lookup(key);
  if (!e) {
    auto u = std::make_unique<Entry>();
    const int64_t B = std::max(ba, bb);
    memory::desc amd({ba, M, K}, dt::f32, ta ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1});
    memory::desc bmd({bb, K, N}, dt::f32, tb ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1});
    memory::desc cmd({B, M, N}, dt::f32, memory::dims{M * N, N, 1});
    memory::desc biasmd({1, 1, N}, dt::f32, memory::dims{N, N, 1});
    auto desc = bias ? matmul::desc(amd, bmd, biasmd, cmd) : matmul::desc(amd, bmd, cmd);
    auto pd = matmul::primitive_desc(desc, activation_attr(act, alpha), eng());
    u->prim = dnnl::matmul(pd);
    u->md_a = amd;
    u->md_b = bmd;
    u->md_c = cmd;
    u->md_bias = biasmd;
    e = insert(key, std::move(u));
  }
  memory am(e->md_a, eng(), (void*)a), bm(e->md_b, eng(), (void*)b), cm(e->md_c, eng(), c);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
  if (bias) args[DNNL_ARG_BIAS] = memory(e->md_bias, eng(), (void*)bias);
  e->prim.execute(strm(), args);
  strm().wait();
}

const char* dnnl_isa_name() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "generic";
  }
}

void dnnl_version_string(char* buf, size_t n) {
  const dnnl_version_t* v = dnnl_version();
  snprintf(buf, n, "%d.%d.%d", v->major, v->minor, v->patch);
}
