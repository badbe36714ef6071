// Shared declarations of the mixture-models native addon.
#pragma once
#include <cstdint>
#include <cstddef>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <vector>
#include <omp.h>
#include "pool.h"

enum UnaryOp {
  U_RELU = 0, U_RELU6, U_ELU, U_LEAKY, U_SIGMOID, U_TANH, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_NEG,
  U_ABS, U_RECIP, U_ERF, U_STEP, U_GELU, U_LINEAR, U_SCALE,
};

enum BinaryOp {
  B_ADD = 0, B_SUB, B_MUL, B_DIV, B_SQDIFF, B_MAX, B_MIN, B_PRELU, B_RELU_GRAD, B_GELU_GRAD, B_ERF_GRAD,
  B_SIGMOID_GRAD, B_TANH_GRAD,
};

// Inner loops, one table per instruction set (see simd.cc).
struct Simd {
  const char* name;
  void (*unary)(int op, const float* x, float* y, int64_t n, float alpha);
  void (*binary)(int op, int mode, const float* a, const float* b, float* y, int64_t n);
  void (*softmax_rows)(const float* x, float* y, int64_t r0, int64_t r1, int64_t cols);
  void (*softmax_grad_rows)(const float* dy, const float* y, float* dx, int64_t r0, int64_t r1, int64_t cols);
  double (*sum_run)(const float* x, int64_t n);
  float (*max_run)(const float* x, int64_t n);
  float (*min_run)(const float* x, int64_t n);
  void (*acc_row)(double* acc, const float* x, int64_t n);
  void (*max_row)(float* acc, const float* x, int64_t n);
  void (*min_row)(float* acc, const float* x, int64_t n);
  void (*adam)(const float* p, const float* g, const float* m, const float* v, float* po, float* mo, float* vo, int64_t n,
               float lr_bc1, float beta1, float beta2, float inv_sqrt_bc2, float eps, float wd);
  void (*adamw)(const float* p, const float* g, const float* m, const float* v, float* po, float* mo, float* vo, int64_t n,
                float lr_bc1, float beta1, float beta2, float inv_sqrt_bc2, float eps, float decay);
  void (*sgd)(const float* p, const float* g, const float* b, float* po, float* bo, int64_t n, float lr, float wd, float keep,
              float take, float momentum, bool nesterov);
  void (*scale_shift_rows)(const float* x, const float* a, const float* b, float* y, int64_t rows, int64_t c);
  void (*fill)(float* y, float v, int64_t n);
  void (*norm_row_fwd)(const float* xr, const float* g, const float* b, float* yr, int64_t D, float eps, float* mean, float* var);
  void (*norm_row_bwd)(const float* d, const float* xr, float m, float rs, const float* g, float* o, float* ag, float* ab, int64_t D);
  void (*norm_cols_bwd_sums)(const float* dy, const float* x, const float* mean, const float* rs, float* a1, float* a2, int64_t r0, int64_t r1, int64_t C);
  void (*norm_cols_fwd_sums)(const float* x, const float* m, float* a1, float* a2, int64_t r0, int64_t r1, int64_t C);
  void (*norm_cols_bwd_dx)(const float* dy, const float* x, const float* mean, const float* rs, const float* k0, const float* k1, const float* k2, float* dx, int64_t r0, int64_t r1, int64_t C);
  void (*maxpool_take)(const float* xp, float* best, int32_t* arg, int32_t base, int64_t C);
  void (*dropout)(const float* x, float* y, int64_t begin, int64_t end, uint32_t seed, uint32_t threshold, double scale);
};

const Simd& simd();

// Threads used by every kernel (oneDNN included); set once from JavaScript.
int num_threads();
void set_num_threads(int n);

// Run f(begin, end) over [0, n) split into contiguous ranges of at least `grain` items, on the
// caller and the pool's workers (see pool.h).
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t threads = num_threads();
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, threads > 1 ? 4 * threads : 1);
  if (chunks <= 1) {
    f(int64_t(0), n);
    return;
  }
  pool().run(chunks, [&](int64_t c) {
    int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) f(b, e);
  });
}

// Bytes held by the addon's own caches (primitive scratch, reordered weights, temporaries).
extern int64_t g_cache_bytes;
