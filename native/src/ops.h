#pragma once
#include "common.h"

using Shape = std::vector<int64_t>;
int64_t numel(const Shape& s);

void unary(int op, const float* x, float* y, int64_t n, float alpha);
void binary(int op, const float* a, const Shape& as, const float* b, const Shape& bs, float* y, const Shape& os);
void reduce(int op, const float* x, const Shape& shape, const std::vector<int>& axes, float* y);
void transpose(const float* x, const Shape& shape, const std::vector<int>& perm, float* y);
void pad(const float* x, const Shape& shape, const std::vector<int64_t>& before, const std::vector<int64_t>& after, float value, float* y);
void slice(const float* x, const Shape& shape, const std::vector<int64_t>& begin, const Shape& size, float* y);
void tile(const float* x, const Shape& shape, const Shape& reps, float* y);
void concat(const std::vector<const float*>& xs, const std::vector<int64_t>& widths, int64_t rows, float* y);
void softmax(const float* x, float* y, int64_t rows, int64_t cols);
void softmax_grad(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols);
void scale_shift(const float* x, const float* a, const float* b, float* y, int64_t rows, int64_t c);

struct PoolParams {
  int64_t N, H, W, C, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL;
};
void pool2d(int kind, const float* x, float* y, const PoolParams& p);
void max_pool_grad(const float* dy, const float* x, float* dx, const PoolParams& p);
void argmax_rows(const float* x, int32_t* y, int64_t rows, int64_t n);
void avg_pool_grad(const float* dy, float* dx, const PoolParams& p);

void dropout(const float* x, float* y, int64_t n, uint32_t seed, uint32_t threshold, double scale);
void adam(const float* p, const float* g, const float* m, const float* v, float* po, float* mo, float* vo, int64_t n,
          float lr, float beta1, float beta2, float eps, float wd, int step);
void adamw(const float* p, const float* g, const float* m, const float* v, float* po, float* mo, float* vo, int64_t n,
           float lr, float beta1, float beta2, float eps, float decay, int step);
void sgd(const float* p, const float* g, const float* b, float* po, float* bo, int64_t n, float lr, float wd, float keep,
         float take, float momentum, bool nesterov);

void norm_rows_fwd(const float* x, const float* g, const float* b, float* y, float* mean, float* var, int64_t R, int64_t D, float eps);
void norm_rows_bwd(const float* dy, const float* x, const float* mean, const float* var, const float* g, float* dx, float* dg, float* db, int64_t R, int64_t D, float eps);
void norm_channels_fwd(const float* x, const float* g, const float* b, float* y, float* mean, float* var, int64_t R, int64_t C, float eps);
void norm_channels_bwd(const float* dy, const float* x, const float* mean, const float* var, const float* g, float* dx, float* dg, float* db, int64_t R, int64_t C, float eps);

// oneDNN-backed kernels (dnnl_ops.cc)
struct ConvParams {
  int64_t N, H, W, C, OH, OW, O, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR;
};
// act: 0 none, 1 relu, 2 relu6, 3 elu, 4 sigmoid, 5 leakyrelu (alpha)
void conv_fwd(const ConvParams& p, const float* x, const float* w, const float* bias, float* y, int act, float alpha);
void conv_bwd_data(const ConvParams& p, const float* dy, const float* w, float* dx);
void conv_bwd_weights(const ConvParams& p, const float* x, const float* dy, float* dw);
// C[b] = op(A[b]) op(B[b]) (+ bias, act); batch broadcast when ba or bb is 1.
void matmul(const float* a, const float* b, const float* bias, float* c, int64_t ba, int64_t bb, int64_t M, int64_t K,
            int64_t N, bool ta, bool tb, int act, float alpha);
const char* dnnl_isa_name();
void dnnl_version_string(char* buf, size_t n);
int64_t dnnl_cache_entries();
void dnnl_clear_cache();
