// Memory-bound kernels on float32 NHWC / row-major tensors: broadcasting element-wise ops,
// reductions, transpose, pad, slice, tile, softmax, pooling, batch-norm apply and the optimizer updates (Adam, AdamW, SGD).
#include "ops.h"

int64_t g_cache_bytes = 0;
static int g_threads = 1;
int num_threads() { return g_threads; }
void set_num_threads(int n) {
  g_threads = n < 1 ? 1 : n;
  omp_set_num_threads(g_threads);
  pool().resize(g_threads);
}

static const int64_t kGrain = 1 << 15;  // elements per thread below which a kernel stays single-threaded

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

static Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int i = (int)s.size() - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

// Strides of `s` (right-aligned) in the coordinates of `out`; 0 along broadcast dimensions.
static Shape broadcast_strides(const Shape& s, const Shape& out) {
  int R = (int)out.size(), off = R - (int)s.size();
  Shape st(R, 0);
  int64_t acc = 1;
  for (int i = R - 1; i >= 0; i--) {
    int j = i - off;
    int64_t d = j >= 0 ? s[j] : 1;
    st[i] = d == 1 ? 0 : acc;
    acc *= d;
  }
  return st;
}

// Drop size-1 dimensions and merge neighbours that every operand walks contiguously.
static void collapse(Shape& dims, std::vector<Shape*> strides) {
  Shape nd;
  std::vector<Shape> ns(strides.size());
  for (size_t i = 0; i < dims.size(); i++) {
    if (dims[i] == 1) continue;
    if (!nd.empty()) {
      bool merge = true;
      for (size_t k = 0; k < strides.size(); k++)
        if (ns[k].back() != (*strides[k])[i] * dims[i]) merge = false;
      if (merge) {
        nd.back() *= dims[i];
        for (size_t k = 0; k < strides.size(); k++) ns[k].back() = (*strides[k])[i];
        continue;
      }
    }
    nd.push_back(dims[i]);
    for (size_t k = 0; k < strides.size(); k++) ns[k].push_back((*strides[k])[i]);
  }
  dims = nd;
  for (size_t k = 0; k < strides.size(); k++) *strides[k] = ns[k];
}

// Walks the outer dimensions of a collapsed iteration space, tracking each operand's offset.
struct Odometer {
  Shape dims;                   // outer dims (all but the innermost)
  std::vector<Shape> strides;   // per operand
  Shape idx;
  std::vector<int64_t> off;
  void seek(int64_t outer) {
    idx.assign(dims.size(), 0);
    off.assign(strides.size(), 0);
    for (int i = (int)dims.size() - 1; i >= 0; i--) {
      idx[i] = outer % dims[i];
      outer /= dims[i];
      for (size_t k = 0; k < strides.size(); k++) off[k] += idx[i] * strides[k][i];
    }
  }
  void next() {
    for (int i = (int)dims.size() - 1; i >= 0; i--) {
      idx[i]++;
      for (size_t k = 0; k < strides.size(); k++) off[k] += strides[k][i];
      if (idx[i] < dims[i]) return;
      for (size_t k = 0; k < strides.size(); k++) off[k] -= strides[k][i] * dims[i];
      idx[i] = 0;
    }
  }
};

// Calls f(r, off) for every row r over the outer index space `dims` (rows of `inner` elements, in
// parallel), where off[k] = Σ idx·strides[k] is operand k's offset of that row.
template <class F>
static void for_each_row(const Shape& dims, std::vector<Shape> strides, int64_t inner, F f) {
  Odometer proto;
  proto.dims = dims;
  proto.strides = std::move(strides);
  parallel_for(numel(dims), std::max<int64_t>(1, kGrain / inner), [&](int64_t r0, int64_t r1) {
    Odometer od = proto;
    od.seek(r0);
    for (int64_t r = r0; r < r1; r++, od.next()) f(r, od.off);
  });
}

// The outer dims of a collapsed shape (all but the innermost).
static Shape outer(const Shape& s) { return Shape(s.begin(), s.end() - 1); }

void unary(int op, const float* x, float* y, int64_t n, float alpha) {
  const Simd& s = simd();
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { s.unary(op, x + b, y + b, e - b, alpha); });
}

void binary(int op, const float* a, const Shape& as, const float* b, const Shape& bs, float* y, const Shape& os) {
  const Simd& s = simd();
  int64_t total = numel(os);
  if (total == 0) return;
  Shape dims = os, sa = broadcast_strides(as, os), sb = broadcast_strides(bs, os);
  collapse(dims, {&sa, &sb});
  if (dims.empty()) {
    s.binary(op, 0, a, b, y, 1);
    return;
  }
  const int64_t inner = dims.back();
  const int64_t ia = sa.back(), ib = sb.back();
  if (ia == 0 && ib == 0) {
    // both operands constant along the innermost dimension: one value per row
    for_each_row(outer(dims), {outer(sa), outer(sb)}, inner, [&](int64_t r, const std::vector<int64_t>& off) {
      float v;
      s.binary(op, 0, a + off[0], b + off[1], &v, 1);
      s.fill(y + r * inner, v, inner);
    });
    return;
  }
  Odometer proto;
  proto.dims = outer(dims);
  proto.strides = {outer(sa), outer(sb)};
  const int mode = (ia != 0 && ib != 0) ? 0 : (ib == 0 ? 1 : 2);
  parallel_for(total, kGrain, [&](int64_t e0, int64_t e1) {
    Odometer od = proto;
    int64_t r = e0 / inner, c = e0 % inner;
    od.seek(r);
    int64_t pos = e0;
    while (pos < e1) {
      int64_t len = std::min(inner - c, e1 - pos);
      s.binary(op, mode, a + od.off[0] + (ia ? c : 0), b + od.off[1] + (ib ? c : 0), y + pos, len);
      pos += len;
      c = 0;
      od.next();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Reductions

// Group dims into runs of kept / reduced axes after dropping size-1 dims.
struct ReducePlan {
  Shape dims;
  std::vector<bool> red;
};

static ReducePlan plan_reduce(const Shape& shape, const std::vector<int>& axes) {
  ReducePlan p;
  std::vector<bool> isr(shape.size(), false);
  for (int a : axes) isr[a] = true;
  for (size_t i = 0; i < shape.size(); i++) {
    if (shape[i] == 1) continue;
    if (!p.dims.empty() && p.red.back() == isr[i]) {
      p.dims.back() *= shape[i];
    } else {
      p.dims.push_back(shape[i]);
      p.red.push_back(isr[i]);
    }
  }
  return p;
}

// op: 0 sum, 1 mean, 2 max, 3 min
static void reduce_rows(int op, const float* x, float* y, int64_t rows, int64_t n) {
  const Simd& s = simd();
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * n;
      if (op == 0) y[r] = (float)s.sum_run(xr, n);
      else if (op == 1) y[r] = (float)(s.sum_run(xr, n) / (double)n);
      else if (op == 2) y[r] = s.max_run(xr, n);
      else y[r] = s.min_run(xr, n);
    }
  });
}

// y[o, k] = reduce_r x[o, r, k]
static void reduce_middle(int op, const float* x, float* y, int64_t outer, int64_t R, int64_t K) {
  const Simd& s = simd();
  const int nt = num_threads();
  if (outer >= nt || R * K < kGrain) {
    parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(R * K, 1)), [&](int64_t o0, int64_t o1) {
      std::vector<double> acc(op <= 1 ? K : 0);
      for (int64_t o = o0; o < o1; o++) {
        const float* xo = x + o * R * K;
        float* yo = y + o * K;
        if (op <= 1) {
          std::fill(acc.begin(), acc.end(), 0.0);
          for (int64_t r = 0; r < R; r++) s.acc_row(acc.data(), xo + r * K, K);
          const double scale = op == 1 ? 1.0 / (double)R : 1.0;
          for (int64_t k = 0; k < K; k++) yo[k] = (float)(acc[k] * scale);
        } else {
          std::memcpy(yo, xo, K * sizeof(float));
          for (int64_t r = 1; r < R; r++) (op == 2 ? s.max_row : s.min_row)(yo, xo + r * K, K);
        }
      }
    });
    return;
  }
  // few outer slices: split the reduced axis over threads, then combine partial results
  for (int64_t o = 0; o < outer; o++) {
    const float* xo = x + o * R * K;
    float* yo = y + o * K;
    int64_t chunks = std::min<int64_t>(nt, R);
    std::vector<double> dacc(op <= 1 ? chunks * K : 0, 0.0);
    std::vector<float> facc(op <= 1 ? 0 : chunks * K);
    parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; c++) {
        int64_t r0 = R * c / chunks, r1 = R * (c + 1) / chunks;
        if (op <= 1) {
          for (int64_t r = r0; r < r1; r++) s.acc_row(dacc.data() + c * K, xo + r * K, K);
        } else {
          float* a = facc.data() + c * K;
          std::memcpy(a, xo + r0 * K, K * sizeof(float));
          for (int64_t r = r0 + 1; r < r1; r++) (op == 2 ? s.max_row : s.min_row)(a, xo + r * K, K);
        }
      }
    });
    if (op <= 1) {
      const double scale = op == 1 ? 1.0 / (double)R : 1.0;
      for (int64_t k = 0; k < K; k++) {
        double t = 0;
        for (int64_t c = 0; c < chunks; c++) t += dacc[c * K + k];
        yo[k] = (float)(t * scale);
      }
    } else {
      std::memcpy(yo, facc.data(), K * sizeof(float));
      for (int64_t c = 1; c < chunks; c++) (op == 2 ? s.max_row : s.min_row)(yo, facc.data() + c * K, K);
    }
  }
}

void reduce(int op, const float* x, const Shape& shape, const std::vector<int>& axes, float* y) {
  int64_t total = numel(shape);
  ReducePlan p = plan_reduce(shape, axes);
  int64_t out_n = 1, red_n = 1;
  for (size_t i = 0; i < p.dims.size(); i++) (p.red[i] ? red_n : out_n) *= p.dims[i];
  if (total == 0) {
    float v = op <= 1 ? (op == 1 ? NAN : 0.0f) : (op == 2 ? -INFINITY : INFINITY);
    for (int64_t i = 0; i < out_n; i++) y[i] = v;
    return;
  }
  if (red_n == 1) {
    std::memcpy(y, x, total * sizeof(float));
    return;
  }
  size_t n = p.dims.size();
  if (n == 1) {
    // everything reduced: partial results per contiguous chunk, combined in order
    const Simd& s = simd();
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(64, total / kGrain));
    std::vector<double> part(chunks);
    parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; c++) {
        int64_t b = total * c / chunks, e = total * (c + 1) / chunks;
        part[c] = op <= 1 ? s.sum_run(x + b, e - b) : (op == 2 ? s.max_run(x + b, e - b) : s.min_run(x + b, e - b));
      }
    });
    double r = part[0];
    for (int64_t c = 1; c < chunks; c++) {
      if (op <= 1) r += part[c];
      else if (op == 2) r = (part[c] > r || part[c] != part[c]) ? part[c] : r;
      else r = (part[c] < r || part[c] != part[c]) ? part[c] : r;
    }
    y[0] = (float)(op == 1 ? r / (double)total : r);
    return;
  }
  if (n == 2 && !p.red[0]) return reduce_rows(op, x, y, p.dims[0], p.dims[1]);
  if (n == 2 && p.red[0]) return reduce_middle(op, x, y, 1, p.dims[0], p.dims[1]);
  if (n == 3 && !p.red[0]) return reduce_middle(op, x, y, p.dims[0], p.dims[1], p.dims[2]);
  // General pattern: move the reduced axes innermost, then reduce rows.
  std::vector<int> perm;
  Shape tshape;
  for (size_t i = 0; i < n; i++)
    if (!p.red[i]) perm.push_back((int)i);
  for (size_t i = 0; i < n; i++)
    if (p.red[i]) perm.push_back((int)i);
  std::vector<float> tmp(total);
  transpose(x, p.dims, perm, tmp.data());
  reduce_rows(op, tmp.data(), y, out_n, red_n);
}

// ---------------------------------------------------------------------------------------------
// Data movement

void transpose(const float* x, const Shape& shape, const std::vector<int>& perm, float* y) {
  int R = (int)shape.size();
  int64_t total = numel(shape);
  if (total == 0) return;
  Shape ist = contiguous_strides(shape);
  Shape dims(R), st(R), ost;
  for (int i = 0; i < R; i++) {
    dims[i] = shape[perm[i]];
    st[i] = ist[perm[i]];
  }
  ost = contiguous_strides(dims);
  collapse(dims, {&st, &ost});
  R = (int)dims.size();
  if (R <= 1) {
    std::memcpy(y, x, total * sizeof(float));
    return;
  }
  if (st[R - 1] == 1) {
    // innermost run is contiguous in both: copy runs
    const int64_t inner = dims[R - 1];
    for_each_row(outer(dims), {outer(st)}, inner, [&](int64_t r, const std::vector<int64_t>& off) {
      std::memcpy(y + r * inner, x + off[0], inner * sizeof(float));
    });
    return;
  }
  // Blocked 2-D transpose between output dim q (input-contiguous) and the innermost output dim.
  int q = -1;
  for (int i = 0; i < R; i++)
    if (st[i] == 1) q = i;
  const int64_t nq = dims[q], nl = dims[R - 1], sl = st[R - 1], oq = ost[q];
  Shape odims, ostr_in, ostr_out;
  for (int i = 0; i < R - 1; i++)
    if (i != q) {
      odims.push_back(dims[i]);
      ostr_in.push_back(st[i]);
      ostr_out.push_back(ost[i]);
    }
  Odometer proto;
  proto.dims = odims;
  proto.strides = {ostr_in, ostr_out};
  const int64_t B = 32;
  const int64_t tq = (nq + B - 1) / B, tl = (nl + B - 1) / B;
  int64_t outer = numel(odims);
  int64_t tasks = outer * tq * tl;
  parallel_for(tasks, std::max<int64_t>(1, kGrain / (B * B)), [&](int64_t t0, int64_t t1) {
    Odometer od = proto;
    int64_t cur = -1;
    for (int64_t t = t0; t < t1; t++) {
      int64_t o = t / (tq * tl), rem = t % (tq * tl);
      if (o != cur) {
        od.seek(o);
        cur = o;
      }
      int64_t q0 = (rem / tl) * B, l0 = (rem % tl) * B;
      int64_t q1 = std::min(nq, q0 + B), l1 = std::min(nl, l0 + B);
      const float* xb = x + od.off[0];
      float* yb = y + od.off[1];
      for (int64_t i = q0; i < q1; i++)
        for (int64_t j = l0; j < l1; j++) yb[i * oq + j] = xb[i + j * sl];
    }
  });
}

void pad(const float* x, const Shape& shape, const std::vector<int64_t>& before, const std::vector<int64_t>& after,
         float value, float* y) {
  int R = (int)shape.size();
  Shape oshape(R);
  for (int i = 0; i < R; i++) oshape[i] = shape[i] + before[i] + after[i];
  int64_t on = numel(oshape), in = numel(shape);
  const Simd& s = simd();
  parallel_for(on, kGrain, [&](int64_t b, int64_t e) { s.fill(y + b, value, e - b); });
  if (in == 0) return;
  Shape ost = contiguous_strides(oshape);
  int64_t base = 0;
  for (int i = 0; i < R; i++) base += before[i] * ost[i];
  // copy each innermost input row to its place in the output
  const int64_t inner = shape[R - 1];
  for_each_row(outer(shape), {outer(ost)}, inner, [&](int64_t r, const std::vector<int64_t>& off) {
    std::memcpy(y + base + off[0], x + r * inner, inner * sizeof(float));
  });
}

void slice(const float* x, const Shape& shape, const std::vector<int64_t>& begin, const Shape& size, float* y) {
  int R = (int)shape.size();
  int64_t on = numel(size);
  if (on == 0) return;
  Shape ist = contiguous_strides(shape);
  int64_t base = 0;
  for (int i = 0; i < R; i++) base += begin[i] * ist[i];
  Shape dims = size, st = ist, ost = contiguous_strides(size);
  collapse(dims, {&st, &ost});
  if (dims.empty()) {
    y[0] = x[base];
    return;
  }
  const int64_t inner = dims.back(), step = st.back();
  for_each_row(outer(dims), {outer(st)}, inner, [&](int64_t r, const std::vector<int64_t>& off) {
    if (step == 1) std::memcpy(y + r * inner, x + base + off[0], inner * sizeof(float));
    else
      for (int64_t j = 0; j < inner; j++) y[r * inner + j] = x[base + off[0] + j * step];
  });
}

void tile(const float* x, const Shape& shape, const Shape& reps, float* y) {
  int R = (int)shape.size();
  Shape oshape(R);
  for (int i = 0; i < R; i++) oshape[i] = shape[i] * reps[i];
  int64_t on = numel(oshape);
  if (on == 0) return;
  // express as a broadcast copy: view output as [reps0, s0, reps1, s1, ...] and input with 0 strides on reps
  Shape dims, st, ost;
  Shape ist = contiguous_strides(shape);
  for (int i = 0; i < R; i++) {
    dims.push_back(reps[i]);
    st.push_back(0);
    dims.push_back(shape[i]);
    st.push_back(ist[i]);
  }
  ost = contiguous_strides(dims);
  collapse(dims, {&st, &ost});
  if (dims.empty()) {
    y[0] = x[0];
    return;
  }
  const int64_t inner = dims.back();
  const int64_t is = st.back();
  for_each_row(outer(dims), {outer(st)}, inner, [&](int64_t r, const std::vector<int64_t>& off) {
    if (is == 1) std::memcpy(y + r * inner, x + off[0], inner * sizeof(float));
    else simd().fill(y + r * inner, x[off[0]], inner);
  });
}

void concat(const std::vector<const float*>& xs, const std::vector<int64_t>& widths, int64_t rows, float* y) {
  int64_t total_w = 0;
  for (auto w : widths) total_w += w;
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(total_w, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      float* yr = y + r * total_w;
      for (size_t k = 0; k < xs.size(); k++) {
        std::memcpy(yr, xs[k] + r * widths[k], widths[k] * sizeof(float));
        yr += widths[k];
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Softmax, batch norm, pooling, Adam

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  const Simd& s = simd();
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) { s.softmax_rows(x, y, r0, r1, cols); });
}

void softmax_grad(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols) {
  const Simd& s = simd();
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) { s.softmax_grad_rows(dy, y, dx, r0, r1, cols); });
}

void scale_shift(const float* x, const float* a, const float* b, float* y, int64_t rows, int64_t c) {
  const Simd& s = simd();
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(c, 1)), [&](int64_t r0, int64_t r1) {
    s.scale_shift_rows(x + r0 * c, a, b, y + r0 * c, r1 - r0, c);
  });
}

void pool2d(int kind, const float* x, float* y, const PoolParams& p) {
  // NHWC; kind 0 = max (padding is -inf), 1 = avg (count_include_pad = false, like tfjs)
  const int64_t C = p.C;
  int64_t tasks = p.N * p.OH;
  parallel_for(tasks, std::max<int64_t>(1, kGrain / std::max<int64_t>(p.OW * C * p.KH * p.KW, 1)), [&](int64_t t0, int64_t t1) {
    std::vector<float> acc(C);
    for (int64_t t = t0; t < t1; t++) {
      int64_t n = t / p.OH, oh = t % p.OH;
      int64_t h0 = oh * p.SH - p.PT;
      for (int64_t ow = 0; ow < p.OW; ow++) {
        int64_t w0 = ow * p.SW - p.PL;
        std::fill(acc.begin(), acc.end(), kind == 0 ? -INFINITY : 0.0f);
        int64_t count = 0;
        for (int64_t kh = 0; kh < p.KH; kh++) {
          int64_t h = h0 + kh * p.DH;
          if (h < 0 || h >= p.H) continue;
          for (int64_t kw = 0; kw < p.KW; kw++) {
            int64_t w = w0 + kw * p.DW;
            if (w < 0 || w >= p.W) continue;
            const float* xp = x + ((n * p.H + h) * p.W + w) * C;
            if (kind == 0)
              for (int64_t c = 0; c < C; c++) acc[c] = xp[c] > acc[c] ? xp[c] : acc[c];
            else
              for (int64_t c = 0; c < C; c++) acc[c] += xp[c];
            count++;
          }
        }
        float* yp = y + ((n * p.OH + oh) * p.OW + ow) * C;
        if (kind == 0) std::memcpy(yp, acc.data(), C * sizeof(float));
        else {
          float inv = count ? 1.0f / (float)count : 0.0f;
          for (int64_t c = 0; c < C; c++) yp[c] = acc[c] * inv;
        }
      }
    }
  });
}

void max_pool_grad(const float* dy, const float* x, float* dx, const PoolParams& p) {
  // The gradient flows to the first maximum of each window in row-major window order (as tfjs).
  const int64_t C = p.C, HWC = p.H * p.W * C;
  const Simd& s = simd();
  // parallel over images: windows of one image only write into that image
  parallel_for(p.N, 1, [&](int64_t n0, int64_t n1) {
    std::vector<float> best(C);
    std::vector<int32_t> arg(C);
    for (int64_t n = n0; n < n1; n++) {
      float* dxn = dx + n * HWC;
      std::memset(dxn, 0, sizeof(float) * HWC);
      const float* xn = x + n * HWC;
      for (int64_t oh = 0; oh < p.OH; oh++) {
        const int64_t h0 = oh * p.SH - p.PT;
        for (int64_t ow = 0; ow < p.OW; ow++) {
          const int64_t w0 = ow * p.SW - p.PL;
          bool first = true;
          for (int64_t kh = 0; kh < p.KH; kh++) {
            const int64_t h = h0 + kh * p.DH;
            if (h < 0 || h >= p.H) continue;
            for (int64_t kw = 0; kw < p.KW; kw++) {
              const int64_t w = w0 + kw * p.DW;
              if (w < 0 || w >= p.W) continue;
              const int32_t base = (int32_t)((h * p.W + w) * C);
              const float* xp = xn + base;
              float* bp = best.data();
              int32_t* ap = arg.data();
              if (first) {
                for (int64_t c = 0; c < C; c++) {
                  bp[c] = xp[c];
                  ap[c] = base + (int32_t)c;
                }
                first = false;
              } else {
                s.maxpool_take(xp, bp, ap, base, C);
              }
            }
          }
          if (first) continue;
          const float* dyp = dy + ((n * p.OH + oh) * p.OW + ow) * C;
          for (int64_t c = 0; c < C; c++) dxn[arg[c]] += dyp[c];
        }
      }
    }
  });
}

void argmax_rows(const float* x, int32_t* y, int64_t rows, int64_t n) {
  parallel_for(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * n;
      int32_t best = 0;
      float v = xr[0];
      for (int64_t j = 1; j < n; j++)
        if (xr[j] > v) {
          v = xr[j];
          best = (int32_t)j;
        }
      y[r] = best;
    }
  });
}

void avg_pool_grad(const float* dy, float* dx, const PoolParams& p) {
  const int64_t C = p.C;
  std::memset(dx, 0, sizeof(float) * p.N * p.H * p.W * C);
  parallel_for(p.N, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; n++)
      for (int64_t oh = 0; oh < p.OH; oh++) {
        int64_t h0 = oh * p.SH - p.PT;
        for (int64_t ow = 0; ow < p.OW; ow++) {
          int64_t w0 = ow * p.SW - p.PL;
          int64_t count = 0;
          for (int64_t kh = 0; kh < p.KH; kh++) {
            int64_t h = h0 + kh * p.DH;
            if (h < 0 || h >= p.H) continue;
            for (int64_t kw = 0; kw < p.KW; kw++) {
              int64_t w = w0 + kw * p.DW;
              if (w >= 0 && w < p.W) count++;
            }
          }
          if (!count) continue;
          const float inv = 1.0f / (float)count;
          const float* dyp = dy + ((n * p.OH + oh) * p.OW + ow) * C;
          for (int64_t kh = 0; kh < p.KH; kh++) {
            int64_t h = h0 + kh * p.DH;
            if (h < 0 || h >= p.H) continue;
            for (int64_t kw = 0; kw < p.KW; kw++) {
              int64_t w = w0 + kw * p.DW;
              if (w < 0 || w >= p.W) continue;
              float* dxp = dx + ((n * p.H + h) * p.W + w) * C;
              for (int64_t c = 0; c < C; c++) dxp[c] += dyp[c] * inv;
            }
          }
        }
      }
  });
}

// Adam or AdamW (`kernel`, one of the Simd table's) over threads: `last` is Adam's coupled L2 weight
// or AdamW's decay factor; the step size lr / (1 − β1ᵗ) and 1 / √(1 − β2ᵗ) in float, as the kernels use them.
static void adam_pass(decltype(Simd::adam) kernel, const float* p, const float* g, const float* m, const float* v, float* po,
                      float* mo, float* vo, int64_t n, float lr, float beta1, float beta2, float eps, float last, int step) {
  const float bc1 = 1.0f - (float)std::pow((double)beta1, step);
  const float bc2 = 1.0f - (float)std::pow((double)beta2, step);
  const float lr_bc1 = lr / bc1, inv_sqrt_bc2 = 1.0f / std::sqrt(bc2);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    kernel(p + b, g + b, m + b, v + b, po + b, mo + b, vo + b, e - b, lr_bc1, beta1, beta2, inv_sqrt_bc2, eps, last);
  });
}

void adam(const float* p, const float* g, const float* m, const float* v, float* po, float* mo, float* vo, int64_t n,
          float lr, float beta1, float beta2, float eps, float wd, int step) {
  adam_pass(simd().adam, p, g, m, v, po, mo, vo, n, lr, beta1, beta2, eps, wd, step);
}

void adamw(const float* p, const float* g, const float* m, const float* v, float* po, float* mo, float* vo, int64_t n,
           float lr, float beta1, float beta2, float eps, float decay, int step) {
  adam_pass(simd().adamw, p, g, m, v, po, mo, vo, n, lr, beta1, beta2, eps, decay, step);
}

void sgd(const float* p, const float* g, const float* b, float* po, float* bo, int64_t n, float lr, float wd, float keep,
         float take, float momentum, bool nesterov) {
  const Simd& s = simd();
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    s.sgd(p + lo, g + lo, b + lo, po + lo, bo + lo, hi - lo, lr, wd, keep, take, momentum, nesterov);
  });
}

void dropout(const float* x, float* y, int64_t n, uint32_t seed, uint32_t threshold, double scale) {
  const Simd& s = simd();
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { s.dropout(x, y, b, e, seed, threshold, scale); });
}

// ---------------------------------------------------------------------------------------------
// Fused normalisation (MixtureNorm / MixtureNormGrad). Two layouts of a row-major x:
//   rows:     x is [R, D], statistics per row over D (LayerNorm over trailing axes), gamma/beta [D];
//   channels: x is [R, C], statistics per column over R (BatchNorm over leading axes), gamma/beta [C].
// Statistics in double; variance is the biased one, computed from the mean in a second pass.

// Partial sums are float over blocks of at most kBlock rows, then added up in double.
static const int64_t kBlock = 256;

void norm_rows_fwd(const float* x, const float* g, const float* b, float* y, float* mean, float* var, int64_t R, int64_t D, float eps) {
  const Simd& s = simd();
  parallel_for(R, std::max<int64_t>(1, 16384 / std::max<int64_t>(D, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) s.norm_row_fwd(x + r * D, g, b, y + r * D, D, eps, mean + r, var + r);
  });
}

void norm_rows_bwd(const float* dy, const float* x, const float* mean, const float* var, const float* g, float* dx, float* dg,
                   float* db, int64_t R, int64_t D, float eps) {
  const Simd& s = simd();
  const int64_t blocks = (R + kBlock - 1) / kBlock;
  std::vector<float> pg(blocks * D, 0.0f), pb(blocks * D, 0.0f);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; blk++) {
      float* ag = pg.data() + blk * D;
      float* ab = pb.data() + blk * D;
      for (int64_t r = blk * kBlock; r < std::min(R, (blk + 1) * kBlock); r++) {
        const float rs = (float)(1.0 / std::sqrt((double)var[r] + (double)eps));
        s.norm_row_bwd(dy + r * D, x + r * D, mean[r], rs, g, dx + r * D, ag, ab, D);
      }
    }
  });
  parallel_for(D, 1024, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; j++) {
      double tg = 0, tb = 0;
      for (int64_t blk = 0; blk < blocks; blk++) {
        tg += pg[blk * D + j];
        tb += pb[blk * D + j];
      }
      dg[j] = (float)tg;
      db[j] = (float)tb;
    }
  });
}

// Column sums over R rows of C channels: fill(r0, r1, a1, a2) adds float partials of a block of rows;
// blocks are summed in double.
template <class F>
static void column_sums(int64_t R, int64_t C, double* o1, double* o2, F&& fill) {
  const int64_t blocks = (R + kBlock - 1) / kBlock;
  std::vector<float> part(blocks * 2 * C, 0.0f);
  parallel_for(blocks, std::max<int64_t>(1, 8192 / std::max<int64_t>(kBlock * C, 1)), [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; blk++)
      fill(blk * kBlock, std::min(R, (blk + 1) * kBlock), part.data() + blk * 2 * C, part.data() + blk * 2 * C + C);
  });
  for (int64_t c = 0; c < C; c++) {
    double t1 = 0, t2 = 0;
    for (int64_t blk = 0; blk < blocks; blk++) {
      t1 += part[blk * 2 * C + c];
      t2 += part[blk * 2 * C + C + c];
    }
    if (o1) o1[c] = t1;
    if (o2) o2[c] = t2;
  }
}

void norm_channels_fwd(const float* x, const float* g, const float* b, float* y, float* mean, float* var, int64_t R, int64_t C, float eps) {
  const Simd& s = simd();
  std::vector<double> sums(C), sq(C);
  column_sums(R, C, sums.data(), nullptr, [&](int64_t r0, int64_t r1, float* a1, float* a2) { s.norm_cols_fwd_sums(x, nullptr, a1, a2, r0, r1, C); });
  std::vector<float> mf(C);
  for (int64_t c = 0; c < C; c++) mf[c] = (float)(sums[c] / (double)R);
  column_sums(R, C, nullptr, sq.data(), [&](int64_t r0, int64_t r1, float* a1, float* a2) { s.norm_cols_fwd_sums(x, mf.data(), a1, a2, r0, r1, C); });
  std::vector<float> a(C), sh(C);
  for (int64_t c = 0; c < C; c++) {
    const double m = sums[c] / (double)R, v = sq[c] / (double)R;
    mean[c] = (float)m;
    var[c] = (float)v;
    const float rs = (float)(1.0 / std::sqrt(v + (double)eps));
    a[c] = rs * g[c];
    sh[c] = b[c] - mf[c] * rs * g[c];
  }
  scale_shift(x, a.data(), sh.data(), y, R, C);
}

void norm_channels_bwd(const float* dy, const float* x, const float* mean, const float* var, const float* g, float* dx, float* dg,
                       float* db, int64_t R, int64_t C, float eps) {
  const Simd& s = simd();
  std::vector<float> rs(C);
  for (int64_t c = 0; c < C; c++) rs[c] = (float)(1.0 / std::sqrt((double)var[c] + (double)eps));
  std::vector<double> s1(C), s2(C);
  column_sums(R, C, s1.data(), s2.data(), [&](int64_t r0, int64_t r1, float* a1, float* a2) {
    s.norm_cols_bwd_sums(dy, x, mean, rs.data(), a1, a2, r0, r1, C);
  });
  std::vector<float> k0(C), k1(C), k2(C);
  for (int64_t c = 0; c < C; c++) {
    db[c] = (float)s1[c];
    dg[c] = (float)s2[c];
    // dx = rs·g·(dy − Σdy/R − x̂·Σ(dy·x̂)/R)
    k0[c] = rs[c] * g[c];
    k1[c] = (float)(s1[c] / (double)R);
    k2[c] = (float)(s2[c] / (double)R);
  }
  parallel_for(R, std::max<int64_t>(1, 32768 / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    s.norm_cols_bwd_dx(dy, x, mean, rs.data(), k0.data(), k1.data(), k2.data(), dx, r0, r1, C);
  });
}
