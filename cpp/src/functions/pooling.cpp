// max_pooling and average_pooling over the last 1 to 3 axes of x, every
// leading axis a separate map: x (maps, L...), y (maps, L'...).
//
// Window j along axis a covers [j·s − p, min(j·s − p + k, L + p)), its
// values read from that range clipped to [0, L) (NNabla's windows: with
// ignore_border false the last windows may be cut short by the far
// border). Max pooling keeps, per output, the position of the first
// largest value in row-major order, which backward sends the gradient to;
// average pooling divides by the window's size within the padded input
// (including_pad) or within the input.
//
// Threads: the maps are shared out when there are more than
// kParallelThreshold input values. Whole 2x2 windows and whole-map windows
// take loops of their own (pooling_whole_windows.cpp).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common.hpp"
#include "conv_geometry.hpp"
#include "pool_geometry.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/kernels/matmul.hpp"  // Epilogue

namespace nnvae {

namespace {

using detail::for_each_map;
using detail::PoolGeometry;
using detail::whole_2x2;
using detail::whole_map;

// Window j along axis a: [lo, hi) within the input, `full` its length
// within the padded input.
struct Range {
  int64_t lo, hi, full;
};
inline Range window(const PoolGeometry& g, int a, int64_t j) {
  const int64_t start = j * g.stride[a] - g.pad[a];
  const int64_t end = std::min(start + g.kernel[a], g.in[a] + g.pad[a]);
  return {std::max<int64_t>(start, 0), std::min(end, g.in[a]), end - start};
}

// Checks the arguments against x and returns the geometry and y's shape.
// `empty_window_ok`: whether a window lying wholly in the padding is allowed
// (average pooling including the pad: its value is 0).
PoolGeometry pool_setup(const std::string& f, const Shape_t& x, const std::vector<int>& kernel,
                        const std::vector<int>& stride_in, bool ignore_border, const std::vector<int>& pad,
                        bool channel_last, bool empty_window_ok, Shape_t& y) {
  if (channel_last)
    detail::shape_error(f + ": channel_last=true is not implemented (x shape " + shape_str(x) + ")");
  const std::vector<int64_t> k(kernel.begin(), kernel.end());
  const std::vector<int64_t> s = stride_in.empty() ? k : std::vector<int64_t>(stride_in.begin(), stride_in.end());
  const std::vector<int64_t> p = pad.empty() ? std::vector<int64_t>(k.size(), 0)
                                             : std::vector<int64_t>(pad.begin(), pad.end());
  const size_t S = k.size();
  if (S < 1 || S > 3)
    detail::shape_error(f + ": kernel " + detail::ints_str(k) + " must have 1 to 3 entries (the pooled axes)");
  if (x.size() < S)
    detail::shape_error(f + ": kernel " + detail::ints_str(k) + " pools " + std::to_string(S) +
                        " axes but x has shape " + shape_str(x));
  if (s.size() != S)
    detail::shape_error(f + ": stride " + detail::ints_str(s) + " has " + std::to_string(s.size()) +
                        " entries but kernel " + detail::ints_str(k) + " has " + std::to_string(S));
  if (p.size() != S)
    detail::shape_error(f + ": pad " + detail::ints_str(p) + " has " + std::to_string(p.size()) +
                        " entries but kernel " + detail::ints_str(k) + " has " + std::to_string(S));
  PoolGeometry g;
  g.maps = 1;
  for (size_t i = 0; i + S < x.size(); ++i) g.maps *= x[i];
  y.assign(x.begin(), x.end());
  for (size_t i = 0; i < 3; ++i) {
    g.in[i] = g.out[i] = g.kernel[i] = g.stride[i] = 1;
    g.pad[i] = 0;
  }
  for (size_t i = 0; i < S; ++i) {
    const size_t a = 3 - S + i;
    const int64_t L = x[x.size() - S + i];
    if (k[i] < 1) detail::shape_error(f + ": kernel " + detail::ints_str(k) + " has " + std::to_string(k[i]) +
                                      " on axis " + std::to_string(i) + "; it must be >= 1");
    if (s[i] < 1) detail::shape_error(f + ": stride " + detail::ints_str(s) + " has " + std::to_string(s[i]) +
                                      " on axis " + std::to_string(i) + "; it must be >= 1");
    if (p[i] < 0) detail::shape_error(f + ": pad " + detail::ints_str(p) + " has " + std::to_string(p[i]) +
                                      " on axis " + std::to_string(i) + "; it must be >= 0");
    if (L < 1) detail::shape_error(f + ": x of shape " + shape_str(x) + " has an empty pooled axis");
    if (!empty_window_ok && p[i] >= k[i])
      detail::shape_error(f + ": pad " + detail::ints_str(p) + " must be smaller than kernel " +
                          detail::ints_str(k) + " (axis " + std::to_string(i) +
                          "): a window would lie wholly in the padding");
    if (ignore_border && L + 2 * p[i] < k[i])
      detail::shape_error(f + ": no window fits: kernel " + detail::ints_str(k) + " is longer than the padded "
                          "input on axis " + std::to_string(i) + " (x shape " + shape_str(x) + ", pad " +
                          detail::ints_str(p) + ", ignore_border true)");
    g.in[a] = L;
    g.kernel[a] = k[i], g.stride[a] = s[i], g.pad[a] = p[i];
    g.out[a] = ignore_border ? (L + 2 * p[i] - k[i]) / s[i] + 1 : (L + p[i] - 1) / s[i] + 1;
    y[x.size() - S + i] = g.out[a];
  }
  if (g.in_size() > std::numeric_limits<int32_t>::max())
    detail::shape_error(f + ": x of shape " + shape_str(x) + " has more than 2^31 values per pooled map");
  return g;
}

// The windows of each axis' outputs, the same for every map, and along the
// last axis the run [a, b) of windows lying wholly inside the input: those
// are computed a row at a time, tap by tap across the row (vectorised), the
// others one by one.
struct Windows {
  std::vector<Range> r[3];
  int64_t a, b;
  explicit Windows(const PoolGeometry& g) {
    for (int ax = 0; ax < 3; ++ax)
      for (int64_t j = 0; j < g.out[ax]; ++j) r[ax].push_back(window(g, ax, j));
    const int64_t s = g.stride[2], p = g.pad[2], k = g.kernel[2], n = g.in[2];
    a = std::min((p + s - 1) / s, g.out[2]);
    b = n + p - k >= 0 ? std::min((n + p - k) / s + 1, g.out[2]) : 0;
    b = std::max(a, b);
  }
  // one(j2) for every window outside the run [a, b).
  template <class Fn>
  void for_each_edge(const PoolGeometry& g, Fn&& one) const {
    for (int64_t j2 = 0; j2 < a; ++j2) one(j2);
    for (int64_t j2 = b; j2 < g.out[2]; ++j2) one(j2);
  }
};

// Calls fn(o, r0, r1) for every row of outputs of one map: o the row's first
// output, r0 and r1 its windows along the first two axes.
template <class Fn>
inline void for_each_row(const PoolGeometry& g, const Windows& w, Fn&& fn) {
  for (int64_t j0 = 0; j0 < g.out[0]; ++j0)
    for (int64_t j1 = 0; j1 < g.out[1]; ++j1) fn((j0 * g.out[1] + j1) * g.out[2], w.r[0][j0], w.r[1][j1]);
}

// Calls tap(base) for every tap of a row's windows in row-major order:
// window j2's value at that tap is at base + j2·stride.
template <class Fn>
inline void for_each_tap(const PoolGeometry& g, const Range& r0, const Range& r1, Fn&& tap) {
  for (int64_t i0 = r0.lo; i0 < r0.hi; ++i0)
    for (int64_t i1 = r1.lo; i1 < r1.hi; ++i1)
      for (int64_t t2 = 0; t2 < g.kernel[2]; ++t2) tap((i0 * g.in[1] + i1) * g.in[2] - g.pad[2] + t2);
}

inline int64_t divisor(const Range& r0, const Range& r1, const Range& r2, bool including_pad) {
  return including_pad ? r0.full * r1.full * r2.full : (r0.hi - r0.lo) * (r1.hi - r1.lo) * (r2.hi - r2.lo);
}

// y (maps, out) = the first largest value of each window of x (maps, in),
// idx its position within the map.
void max_pool_forward(const float* x, float* y, int32_t* idx, const PoolGeometry& g) {
  if (whole_2x2(g)) {
    max_pool_2x2_forward(x, y, idx, g);
    return;
  }
  const int64_t I = g.in_size(), O = g.out_size(), s2 = g.stride[2];
  const Windows w(g);
  for_each_map(g, [&](int64_t m) {
    const float* xm = x + m * I;
    float* ym = y + m * O;
    int32_t* im = idx + m * O;
    for_each_row(g, w, [&](int64_t o, const Range& r0, const Range& r1) {
      auto one = [&](int64_t j2) {
        const Range& r2 = w.r[2][j2];
        int64_t best = (r0.lo * g.in[1] + r1.lo) * g.in[2] + r2.lo;
        float v = xm[best];
        for (int64_t i0 = r0.lo; i0 < r0.hi; ++i0)
          for (int64_t i1 = r1.lo; i1 < r1.hi; ++i1) {
            const int64_t row = (i0 * g.in[1] + i1) * g.in[2];
            for (int64_t i2 = r2.lo; i2 < r2.hi; ++i2)
              if (v < xm[row + i2]) v = xm[row + i2], best = row + i2;
          }
        ym[o + j2] = v;
        im[o + j2] = static_cast<int32_t>(best);
      };
      w.for_each_edge(g, one);
      float* v = ym + o;
      int32_t* id = im + o;
      bool first = true;
      for_each_tap(g, r0, r1, [&](int64_t base) {
        if (first) {
          for (int64_t j2 = w.a; j2 < w.b; ++j2) v[j2] = xm[base + j2 * s2], id[j2] = int32_t(base + j2 * s2);
          first = false;
          return;
        }
#pragma omp simd
        for (int64_t j2 = w.a; j2 < w.b; ++j2) {
          const float val = xm[base + j2 * s2];
          const bool larger = v[j2] < val;
          v[j2] = larger ? val : v[j2];
          id[j2] = larger ? int32_t(base + j2 * s2) : id[j2];
        }
      });
    });
  });
}

// dx (maps, in) (+)= dy sent to the positions idx; then ep, if given, on
// each map's block of dx (rows m of dx seen as (maps, in)) while in cache.
void max_pool_backward(const float* dy, const int32_t* idx, float* dx, const PoolGeometry& g, bool accumulate,
                       const kernels::Epilogue* ep) {
  const int64_t I = g.in_size(), O = g.out_size();
  for_each_map(g, [&](int64_t m) {
    float* dxm = dx + m * I;
    if (!accumulate) std::fill(dxm, dxm + I, 0.f);
    for (int64_t o = 0; o < O; ++o) dxm[idx[m * O + o]] += dy[m * O + o];
    if (ep) (*ep)(dx, I, m, m + 1, 0, I);
  });
}

// y (maps, out) = each window's sum of x (maps, in) / its size.
void avg_pool_forward(const float* x, float* y, const PoolGeometry& g, bool including_pad) {
  if (whole_map(g)) {
    avg_pool_whole_map_forward(x, y, g);
    return;
  }
  if (whole_2x2(g)) {
    avg_pool_2x2_forward(x, y, g);
    return;
  }
  const int64_t I = g.in_size(), O = g.out_size(), s2 = g.stride[2];
  const Windows w(g);
  for_each_map(g, [&](int64_t m) {
    const float* xm = x + m * I;
    float* ym = y + m * O;
    for_each_row(g, w, [&](int64_t o, const Range& r0, const Range& r1) {
      auto one = [&](int64_t j2) {
        const Range& r2 = w.r[2][j2];
        float sum = 0.f;
        for (int64_t i0 = r0.lo; i0 < r0.hi; ++i0)
          for (int64_t i1 = r1.lo; i1 < r1.hi; ++i1) {
            const float* row = xm + (i0 * g.in[1] + i1) * g.in[2];
            for (int64_t i2 = r2.lo; i2 < r2.hi; ++i2) sum += row[i2];
          }
        ym[o + j2] = sum / float(divisor(r0, r1, r2, including_pad));
      };
      w.for_each_edge(g, one);
      if (w.a == w.b) return;
      float* v = ym + o;
      std::fill(v + w.a, v + w.b, 0.f);
      for_each_tap(g, r0, r1, [&](int64_t base) {
#pragma omp simd
        for (int64_t j2 = w.a; j2 < w.b; ++j2) v[j2] += xm[base + j2 * s2];
      });
      const float div = float(divisor(r0, r1, w.r[2][w.a], including_pad));
#pragma omp simd
      for (int64_t j2 = w.a; j2 < w.b; ++j2) v[j2] = v[j2] / div;
    });
  });
}

// dx (maps, in) (+)= each output's gradient / its window's size, over the window.
void avg_pool_backward(const float* dy, float* dx, const PoolGeometry& g, bool including_pad, bool accumulate) {
  if (whole_map(g)) {
    avg_pool_whole_map_backward(dy, dx, g, accumulate);
    return;
  }
  if (whole_2x2(g)) {
    avg_pool_2x2_backward(dy, dx, g, accumulate);
    return;
  }
  const int64_t I = g.in_size(), O = g.out_size(), s2 = g.stride[2];
  const Windows w(g);
  for_each_map(g, [&](int64_t m) {
    float* dxm = dx + m * I;
    const float* dym = dy + m * O;
    if (!accumulate) std::fill(dxm, dxm + I, 0.f);
    for_each_row(g, w, [&](int64_t o, const Range& r0, const Range& r1) {
      auto one = [&](int64_t j2) {
        const Range& r2 = w.r[2][j2];
        const float share = dym[o + j2] / float(divisor(r0, r1, r2, including_pad));
        for (int64_t i0 = r0.lo; i0 < r0.hi; ++i0)
          for (int64_t i1 = r1.lo; i1 < r1.hi; ++i1) {
            float* row = dxm + (i0 * g.in[1] + i1) * g.in[2];
            for (int64_t i2 = r2.lo; i2 < r2.hi; ++i2) row[i2] += share;
          }
      };
      w.for_each_edge(g, one);
      if (w.a == w.b) return;
      const float div = float(divisor(r0, r1, w.r[2][w.a], including_pad));
      // Within one tap the windows' positions differ (stride >= 1): no
      // two lanes add to the same value.
      for_each_tap(g, r0, r1, [&](int64_t base) {
#pragma omp simd
        for (int64_t j2 = w.a; j2 < w.b; ++j2) dxm[base + j2 * s2] += dym[o + j2] / div;
      });
    });
  });
}

// What both poolings hold: their arguments, and the geometry setup() finds
// from them and x's shape (max pooling passes including_pad false: a window
// lying wholly in the padding has no maximum).
class Pooling : public Function {
 public:
  Pooling(std::vector<int> kernel, std::vector<int> stride, bool ignore_border, std::vector<int> pad,
          bool channel_last, bool including_pad)
      : kernel_(std::move(kernel)),
        stride_(std::move(stride)),
        pad_(std::move(pad)),
        ignore_border_(ignore_border),
        channel_last_(channel_last),
        including_pad_(including_pad) {}
  Shape_t setup(const std::vector<Shape_t>& in) override {
    Shape_t y;
    g_ = pool_setup(name(), in[0], kernel_, stride_, ignore_border_, pad_, channel_last_, including_pad_, y);
    return y;
  }

 protected:
  std::vector<int> kernel_, stride_, pad_;
  bool ignore_border_, channel_last_, including_pad_;
  PoolGeometry g_;
};

class MaxPooling : public Pooling {
 public:
  MaxPooling(std::vector<int> kernel, std::vector<int> stride, bool ignore_border, std::vector<int> pad,
             bool channel_last)
      : Pooling(std::move(kernel), std::move(stride), ignore_border, std::move(pad), channel_last, false) {}
  std::string name() const override { return "max_pooling"; }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    idx_.resize(static_cast<size_t>(g_.maps * g_.out_size()));
    max_pool_forward(detail::in_data(in[0]), detail::out_data(out), idx_.data(), g_);
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    run_backward(in, out, prop, acc, nullptr);
  }
  // The elementwise function that computed x (ResNet's elu) may finish each
  // map of dx while it is in cache (graph.hpp, fusion).
  bool accepts_grad_epilogue(int input) const override { return input == 0; }
  void backward_with(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                     const std::vector<bool>& acc, int /*input 0*/, const kernels::Epilogue& ep) override {
    run_backward(in, out, prop, acc, &ep);
  }
  // Backward reads the recorded positions only.
  bool backward_needs_input_data(int) const override { return false; }

 private:
  void run_backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                    const std::vector<bool>& acc, const kernels::Epilogue* ep) {
    if (!prop[0]) return;
    if (idx_.size() != static_cast<size_t>(g_.maps * g_.out_size()))
      throw std::logic_error("max_pooling: backward before forward (no window maxima recorded)");
    max_pool_backward(detail::in_grad(out), idx_.data(), detail::in_grad_for(in[0], acc[0]), g_, acc[0], ep);
  }
  std::vector<int32_t> idx_;  // per output, the position of its window's maximum within the map
};

class AveragePooling : public Pooling {
 public:
  using Pooling::Pooling;
  std::string name() const override { return "average_pooling"; }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    avg_pool_forward(detail::in_data(in[0]), detail::out_data(out), g_, including_pad_);
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    avg_pool_backward(detail::in_grad(out), detail::in_grad_for(in[0], acc[0]), g_, including_pad_, acc[0]);
  }
  bool backward_needs_input_data(int) const override { return false; }
};

}  // namespace

CgVariablePtr functions::max_pooling(CgVariablePtr x, const std::vector<int>& kernel, const std::vector<int>& stride,
                                     bool ignore_border, const std::vector<int>& pad, bool channel_last) {
  return connect(std::make_unique<MaxPooling>(kernel, stride, ignore_border, pad, channel_last), {std::move(x)});
}

CgVariablePtr functions::average_pooling(CgVariablePtr x, const std::vector<int>& kernel,
                                         const std::vector<int>& stride, bool ignore_border,
                                         const std::vector<int>& pad, bool channel_last, bool including_pad) {
  return connect(std::make_unique<AveragePooling>(kernel, stride, ignore_border, pad, channel_last, including_pad),
                 {std::move(x)});
}

CgVariablePtr functions::max_pooling(CgVariablePtr x, const std::vector<int>& kernel, const std::vector<int>& stride,
                                     const PoolingOpts& opts) {
  return max_pooling(std::move(x), kernel, stride, opts.ignore_border(), opts.pad(), opts.channel_last());
}

CgVariablePtr functions::average_pooling(CgVariablePtr x, const std::vector<int>& kernel,
                                         const std::vector<int>& stride, const PoolingOpts& opts) {
  return average_pooling(std::move(x), kernel, stride, opts.ignore_border(), opts.pad(), opts.channel_last(),
                         opts.including_pad());
}

}  // namespace nnvae
