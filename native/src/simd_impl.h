// Vectorisable inner loops. This header is included twice by simd.cc: once compiled for the baseline
// x86-64 ISA and once with AVX2+FMA enabled, each copy inside its own namespace; the best copy the
// CPU supports is chosen at load time (see simd.cc). No OpenMP threading here: callers split work.

static inline float exp_ps(float x) {
  // Cephes expf: range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial (about 1 ulp).
  const float hi = 88.3762626647949f, lo = -88.3762626647949f;
  float xc = x > hi ? hi : (x < lo ? lo : x);
  float fx = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  float r2 = r * r;
  float y = 1.9875691500E-4f;
  y = y * r + 1.3981999507E-3f;
  y = y * r + 8.3334519073E-3f;
  y = y * r + 4.1665795894E-2f;
  y = y * r + 1.6666665459E-1f;
  y = y * r + 5.0000001201E-1f;
  y = y * r2 + r + 1.0f;
  int32_t n = (int32_t)fx + 127;
  n = n < 0 ? 0 : n;
  uint32_t bits = (uint32_t)n << 23;
  float p;
  __builtin_memcpy(&p, &bits, 4);
  float out = y * p;
  out = x > 88.72283905206835f ? __builtin_inff() : out;
  out = x < -103.972f ? 0.0f : out;
  return x != x ? x : out;
}

static inline float erf_ps(float a) {
  // Rational approximation of erf on [-4, 4] (saturates outside), a few ulp in float32.
  float x = a > 4.0f ? 4.0f : (a < -4.0f ? -4.0f : a);
  float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  p = p * x;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return p / q;
}

template <int OP>
static inline float unary_op(float x, float alpha) {
  switch (OP) {
    case U_RELU: return x < 0.0f ? 0.0f : x;
    case U_RELU6: return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    case U_ELU: return x >= 0.0f ? x : exp_ps(x) - 1.0f;
    case U_LEAKY: return x < 0.0f ? alpha * x : x;
    case U_SIGMOID: return 1.0f / (1.0f + exp_ps(-x));
    case U_TANH: {
      float e = exp_ps(-2.0f * (x < 0 ? -x : x));
      float t = (1.0f - e) / (1.0f + e);
      return x < 0 ? -t : t;
    }
    case U_EXP: return exp_ps(x);
    case U_SQRT: return __builtin_sqrtf(x);
    case U_RSQRT: return 1.0f / __builtin_sqrtf(x);
    case U_SQUARE: return x * x;
    case U_NEG: return -x;
    case U_ABS: return x < 0.0f ? -x : x;
    case U_RECIP: return 1.0f / x;
    case U_ERF: return erf_ps(x);
    case U_STEP: return x != x ? x : (x > 0.0f ? 1.0f : alpha);
    case U_GELU: return 0.5f * x * (1.0f + erf_ps(x * 0.70710678118654752f));
    case U_LINEAR: return x;
    case U_SCALE: return x * alpha;
    default: return x;
  }
}

template <int OP>
// No __restrict: callers may run in place (y == x); the compiler versions the loop on overlap.
static void unary_loop(const float* x, float* y, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; i++) y[i] = unary_op<OP>(x[i], alpha);
}

static void unary(int op, const float* x, float* y, int64_t n, float alpha) {
  switch (op) {
#define U_CASE(K) case K: unary_loop<K>(x, y, n, alpha); break;
    U_CASE(U_RELU) U_CASE(U_RELU6) U_CASE(U_ELU) U_CASE(U_LEAKY) U_CASE(U_SIGMOID) U_CASE(U_TANH)
    U_CASE(U_EXP) U_CASE(U_SQRT) U_CASE(U_RSQRT) U_CASE(U_SQUARE) U_CASE(U_NEG) U_CASE(U_ABS)
    U_CASE(U_RECIP) U_CASE(U_ERF) U_CASE(U_STEP) U_CASE(U_GELU) U_CASE(U_LINEAR) U_CASE(U_SCALE)
#undef U_CASE
    default: for (int64_t i = 0; i < n; i++) y[i] = std::log(x[i]); break;  // U_LOG
  }
}

template <int OP>
static inline float binary_op(float a, float b) {
  switch (OP) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_SQDIFF: { float d = a - b; return d * d; }
    case B_MAX: return (a != a || b != b) ? a + b : (a > b ? a : b);
    case B_MIN: return (a != a || b != b) ? a + b : (a < b ? a : b);
    case B_PRELU: return a < 0.0f ? a * b : a;
    case B_RELU_GRAD: return b > 0.0f ? a : 0.0f;           // a = dy, b = x (or y)
    case B_GELU_GRAD: {                                      // a = dy, b = x
      float cdf = 0.5f * (1.0f + erf_ps(b * 0.70710678118654752f));
      float pdf = 0.3989422804014327f * exp_ps(-0.5f * b * b);
      return a * (cdf + b * pdf);
    }
    case B_ERF_GRAD: return a * 1.1283791670955126f * exp_ps(-b * b);  // a = dy, b = x
    case B_SIGMOID_GRAD: return a * b * (1.0f - b);          // a = dy, b = y
    case B_TANH_GRAD: return a * (1.0f - b * b);             // a = dy, b = y
    default: return a;
  }
}

// mode: 0 = both vectors, 1 = b is a scalar, 2 = a is a scalar.
template <int OP>
static void binary_loop(int mode, const float* a, const float* b, float* y, int64_t n) {
  if (mode == 0) {
    for (int64_t i = 0; i < n; i++) y[i] = binary_op<OP>(a[i], b[i]);
  } else if (mode == 1) {
    const float s = b[0];
    for (int64_t i = 0; i < n; i++) y[i] = binary_op<OP>(a[i], s);
  } else {
    const float s = a[0];
    for (int64_t i = 0; i < n; i++) y[i] = binary_op<OP>(s, b[i]);
  }
}

static void binary(int op, int mode, const float* a, const float* b, float* y, int64_t n) {
  switch (op) {
#define B_CASE(K) case K: binary_loop<K>(mode, a, b, y, n); break;
    B_CASE(B_ADD) B_CASE(B_SUB) B_CASE(B_MUL) B_CASE(B_DIV) B_CASE(B_SQDIFF) B_CASE(B_MAX)
    B_CASE(B_MIN) B_CASE(B_PRELU) B_CASE(B_RELU_GRAD) B_CASE(B_GELU_GRAD) B_CASE(B_ERF_GRAD)
    B_CASE(B_SIGMOID_GRAD) B_CASE(B_TANH_GRAD)
#undef B_CASE
    default: break;
  }
}

// Row-wise softmax over `cols`, rows [r0, r1).
static void softmax_rows(const float* __restrict x, float* __restrict y, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -__builtin_inff();
    for (int64_t j = 0; j < cols; j++) m = xr[j] > m ? xr[j] : m;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < cols; j++) {
      float e = exp_ps(xr[j] - m);
      yr[j] = e;
      s += e;
    }
    const float inv = 1.0f / s;
    for (int64_t j = 0; j < cols; j++) yr[j] *= inv;
  }
}

// dx = y * (dy - sum(dy * y)) row-wise.
static void softmax_grad_rows(const float* __restrict dy, const float* __restrict y, float* __restrict dx, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; r++) {
    const float* d = dy + r * cols;
    const float* yr = y + r * cols;
    float* o = dx + r * cols;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < cols; j++) s += d[j] * yr[j];
    for (int64_t j = 0; j < cols; j++) o[j] = yr[j] * (d[j] - s);
  }
}

// Sum of a contiguous run in double precision (blocked so it vectorises).
static double sum_run(const float* __restrict x, int64_t n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++) s += (double)x[i];
  return s;
}

static float max_run(const float* __restrict x, int64_t n) {
  float m = -__builtin_inff();
  bool nan = false;
  for (int64_t i = 0; i < n; i++) {
    m = x[i] > m ? x[i] : m;
    nan |= x[i] != x[i];
  }
  return nan ? __builtin_nanf("") : m;
}

static float min_run(const float* __restrict x, int64_t n) {
  float m = __builtin_inff();
  bool nan = false;
  for (int64_t i = 0; i < n; i++) {
    m = x[i] < m ? x[i] : m;
    nan |= x[i] != x[i];
  }
  return nan ? __builtin_nanf("") : m;
}

// acc[j] += x[j] (column accumulation in double).
static void acc_row(double* __restrict acc, const float* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; j++) acc[j] += (double)x[j];
}
static void max_row(float* __restrict acc, const float* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; j++) acc[j] = (x[j] > acc[j] || x[j] != x[j]) ? x[j] : acc[j];
}
static void min_row(float* __restrict acc, const float* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; j++) acc[j] = (x[j] < acc[j] || x[j] != x[j]) ? x[j] : acc[j];
}

// PyTorch-style Adam with coupled L2 decay on [0, n).
static void adam(const float* __restrict p, const float* __restrict g, const float* __restrict m, const float* __restrict v,
                 float* __restrict po, float* __restrict mo, float* __restrict vo, int64_t n,
                 float lr_bc1, float beta1, float beta2, float inv_sqrt_bc2, float eps, float wd) {
  const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i] + wd * p[i];
    float mi = beta1 * m[i] + c1 * gi;
    float vi = beta2 * v[i] + c2 * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] - lr_bc1 * mi / (__builtin_sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
}

// PyTorch-style AdamW on [0, n): the weight decayed by `decay` = 1 − lr·wd first, then Adam without L2.
static void adamw(const float* __restrict p, const float* __restrict g, const float* __restrict m, const float* __restrict v,
                  float* __restrict po, float* __restrict mo, float* __restrict vo, int64_t n,
                  float lr_bc1, float beta1, float beta2, float inv_sqrt_bc2, float eps, float decay) {
  const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
  for (int64_t i = 0; i < n; i++) {
    float pi = p[i] * decay;
    float gi = g[i];
    float mi = beta1 * m[i] + c1 * gi;
    float vi = beta2 * v[i] + c2 * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = pi - lr_bc1 * mi / (__builtin_sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
}

// PyTorch-style SGD on [0, n): b ← keep·b + take·(g + wd·p); p ← p − lr·(Nesterov ? g + μ·b : b).
static void sgd(const float* __restrict p, const float* __restrict g, const float* __restrict b, float* __restrict po,
                float* __restrict bo, int64_t n, float lr, float wd, float keep, float take, float momentum, bool nesterov) {
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i] + wd * p[i];
    float bi = keep * b[i] + take * gi;
    bo[i] = bi;
    po[i] = p[i] - lr * (nesterov ? gi + momentum * bi : bi);
  }
}

// y = x * a[c] + b[c] for rows of `c` channels (batch-norm apply with folded scale/shift).
static void scale_shift_rows(const float* __restrict x, const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t rows, int64_t c) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    for (int64_t j = 0; j < c; j++) yr[j] = xr[j] * a[j] + b[j];
  }
}

static void fill(float* __restrict y, float v, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = v;
}

// MixtureDropout: y = x · scale where fmix32(i·0x9e3779b1 ⊕ seed) ≥ threshold, else 0 (same hash as
// src/engine/kernels/dropout.ts; the product is rounded from double like the JavaScript loop).
static void dropout(const float* __restrict x, float* __restrict y, int64_t begin, int64_t end, uint32_t seed, uint32_t threshold, double scale) {
  for (int64_t i = begin; i < end; i++) {
    uint32_t h = ((uint32_t)i * 0x9e3779b1u) ^ seed;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    y[i] = h >= threshold ? (float)((double)x[i] * scale) : 0.0f;
  }
}

// ---- normalisation rows (see ops.cc) ----
// One row of the row layout: mean/var over D, y = (x − mean)·rstd·g + b.
static void norm_row_fwd(const float* __restrict xr, const float* __restrict g, const float* __restrict b, float* __restrict yr,
                         int64_t D, float eps, float* mean, float* var) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < D; j++) s += (double)xr[j];
  const double m = s / (double)D;
  double v = 0.0;
#pragma omp simd reduction(+ : v)
  for (int64_t j = 0; j < D; j++) {
    double d = (double)xr[j] - m;
    v += d * d;
  }
  v /= (double)D;
  *mean = (float)m;
  *var = (float)v;
  const float mf = (float)m, rs = (float)(1.0 / __builtin_sqrt(v + (double)eps));
  for (int64_t j = 0; j < D; j++) yr[j] = (xr[j] - mf) * rs * g[j] + b[j];
}

// One row of the row layout backward; accumulates dγ, dβ partial sums (float, per call) into ag/ab.
static void norm_row_bwd(const float* __restrict d, const float* __restrict xr, float m, float rs, const float* __restrict g,
                         float* __restrict o, float* __restrict ag, float* __restrict ab, int64_t D) {
  double s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
  for (int64_t j = 0; j < D; j++) {
    const float xh = (xr[j] - m) * rs;
    const float gd = d[j] * g[j];
    s1 += (double)gd;
    s2 += (double)(gd * xh);
    ag[j] += d[j] * xh;
    ab[j] += d[j];
  }
  const float c1 = (float)(s1 / (double)D), c2 = (float)(s2 / (double)D);
  for (int64_t j = 0; j < D; j++) o[j] = rs * (d[j] * g[j] - c1 - (xr[j] - m) * rs * c2);
}

// Channel layout backward, first pass over rows [r0, r1): a1[c] += dy, a2[c] += dy·x̂ (float partials).
static void norm_cols_bwd_sums(const float* __restrict dy, const float* __restrict x, const float* __restrict mean,
                               const float* __restrict rs, float* __restrict a1, float* __restrict a2, int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; r++) {
    const float* d = dy + r * C;
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; c++) {
      a1[c] += d[c];
      a2[c] += d[c] * ((xr[c] - mean[c]) * rs[c]);
    }
  }
}

// Channel layout: a1[c] += x, a2[c] += (x − m[c])² over rows [r0, r1) (float partials).
static void norm_cols_fwd_sums(const float* __restrict x, const float* __restrict m, float* __restrict a1, float* __restrict a2,
                               int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    if (m) {
      for (int64_t c = 0; c < C; c++) {
        const float t = xr[c] - m[c];
        a2[c] += t * t;
      }
    } else {
      for (int64_t c = 0; c < C; c++) a1[c] += xr[c];
    }
  }
}

// dx for the channel layout over rows [r0, r1).
static void norm_cols_bwd_dx(const float* __restrict dy, const float* __restrict x, const float* __restrict mean, const float* __restrict rs,
                             const float* __restrict k0, const float* __restrict k1, const float* __restrict k2, float* __restrict dx,
                             int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; r++) {
    const float* d = dy + r * C;
    const float* xr = x + r * C;
    float* o = dx + r * C;
    for (int64_t c = 0; c < C; c++) o[c] = k0[c] * (d[c] - k1[c] - (xr[c] - mean[c]) * rs[c] * k2[c]);
  }
}

// Max-pool backward: fold one window tap into the running maximum and its index (first max wins).
static void maxpool_take(const float* __restrict xp, float* __restrict best, int32_t* __restrict arg, int32_t base, int64_t C) {
  for (int64_t c = 0; c < C; c++) {
    const bool t = xp[c] > best[c];
    best[c] = t ? xp[c] : best[c];
    arg[c] = t ? base + (int32_t)c : arg[c];
  }
}
