// Instantiates the inner loops of simd_impl.h for the baseline ISA and for AVX2+FMA, and picks one.
#include "common.h"

#define SIMD_TABLE(NAME)                                                                                      \
  Simd{#NAME, unary, binary, softmax_rows, softmax_grad_rows, sum_run, max_run, min_run, acc_row, max_row, \
       min_row, adam, adamw, sgd, scale_shift_rows, fill, norm_row_fwd, norm_row_bwd, norm_cols_bwd_sums, norm_cols_fwd_sums, norm_cols_bwd_dx, maxpool_take, dropout}

namespace isa_base {
#include "simd_impl.h"
const Simd table = SIMD_TABLE(baseline);
}  // namespace isa_base

#if defined(__x86_64__) || defined(__i386__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt")
namespace isa_avx2 {
#include "simd_impl.h"
const Simd table = SIMD_TABLE(avx2);
}  // namespace isa_avx2
#pragma GCC pop_options
#endif

const Simd& simd() {
  static const Simd* chosen = [] {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &isa_avx2::table;
#endif
    return &isa_base::table;
  }();
  return *chosen;
}
