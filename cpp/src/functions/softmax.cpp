// softmax, log_softmax and softmax_cross_entropy along one axis.
// x seen as (outer, n, inner) with n the size of `axis`; each of the
// outer·inner lines of n values is normalised on its own:
//   softmax      y_i = e^(x_i − m) / Σ_j e^(x_j − m),   m = max_j x_j
//                dx_i (+)= y_i·(dy_i − Σ_j dy_j·y_j)
//   log_softmax  y_i = x_i − m − log Σ_j e^(x_j − m)
//                dx_i (+)= dy_i − e^(y_i)·Σ_j dy_j
//   softmax_cross_entropy, label t of the line:  y = −log_softmax(x)_t,
//                dx_i (+)= dy·(softmax(x)_i − [i = t]); a negative t gives
//                y = 0 and no gradient.
#include <algorithm>
#include <cmath>
#include <limits>

#include "layout.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

// y (outer, n, inner) = log_softmax (log = true) or softmax of x, per line.
void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log) {
#pragma omp parallel for if (outer * n * inner > detail::kParallelThreshold)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const float* xl = x + o * n * inner + j;
      float* yl = y + o * n * inner + j;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < n; ++i) m = std::max(m, xl[i * inner]);
      double s = 0.0;
      for (int64_t i = 0; i < n; ++i) s += std::exp(double(xl[i * inner]) - m);
      const double log_s = std::log(s);
      for (int64_t i = 0; i < n; ++i) {
        const double z = double(xl[i * inner]) - m;
        yl[i * inner] = static_cast<float>(log ? z - log_s : std::exp(z) / s);
      }
    }
}

// dx (+)= the gradient through softmax (log = false) or log_softmax, from y and dy.
void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner, bool log,
                      bool accumulate) {
#pragma omp parallel for if (outer * n * inner > detail::kParallelThreshold)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const int64_t base = o * n * inner + j;
      double s = 0.0;
      for (int64_t i = 0; i < n; ++i) s += log ? double(dy[base + i * inner]) : double(dy[base + i * inner]) * y[base + i * inner];
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = base + i * inner;
        const float g = log ? static_cast<float>(dy[k] - std::exp(double(y[k])) * s)
                            : static_cast<float>(y[k] * (dy[k] - s));
        dx[k] = accumulate ? dx[k] + g : g;
      }
    }
}

}  // namespace kernels

namespace {

// (outer, n, inner) of `shape` around `axis`, with the axis checked.
struct Lines {
  int axis = 0;
  int64_t outer = 1, n = 1, inner = 1;
};
Lines lines_of(const std::string& fname, const Shape_t& shape, int axis) {
  const int nd = static_cast<int>(shape.size());
  Lines l;
  l.axis = detail::normalize_axis(fname, axis, nd, shape);
  for (int d = 0; d < l.axis; ++d) l.outer *= shape[d];
  l.n = shape[l.axis];
  for (int d = l.axis + 1; d < nd; ++d) l.inner *= shape[d];
  return l;
}

class Softmax : public Function {
 public:
  Softmax(int axis, bool log) : axis_(axis), log_(log) {}
  std::string name() const override { return log_ ? "log_softmax" : "softmax"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    l_ = lines_of(name(), in[0], axis_);
    return in[0];
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    kernels::softmax_forward(detail::in_data(in[0]), detail::out_data(out), l_.outer, l_.n, l_.inner, log_);
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    kernels::softmax_backward(out->data()->read("the output"), detail::in_grad(out), detail::in_grad_for(in[0], acc[0]),
                              l_.outer, l_.n, l_.inner, log_, acc[0]);
  }
  bool backward_needs_input_data(int) const override { return false; }
  bool backward_needs_output_data() const override { return true; }

 private:
  int axis_;
  bool log_;
  Lines l_;
};

class SoftmaxCrossEntropy : public Function {
 public:
  explicit SoftmaxCrossEntropy(int axis) : axis_(axis) {}
  std::string name() const override { return "softmax_cross_entropy"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    l_ = lines_of(name(), in[0], axis_);
    Shape_t want = in[0];
    want[l_.axis] = 1;
    if (in[1] != want)
      detail::shape_error("softmax_cross_entropy: target has shape " + shape_str(in[1]) + " but x has shape " +
                          shape_str(in[0]) + "; target must be x's shape with 1 at axis " + std::to_string(l_.axis) +
                          ", i.e. " + shape_str(want));
    return want;
  }
  // Labels as line indices (-1: none), checked: integers below n.
  void read_labels(const float* t) {
    labels_.resize(l_.outer * l_.inner);
    for (size_t k = 0; k < labels_.size(); ++k) {
      const float v = t[k];
      if (v != std::floor(v) || v >= float(l_.n))
        detail::shape_error("softmax_cross_entropy: target value " + std::to_string(v) + " at position " +
                            std::to_string(k) + " is not a class index (an integer below " + std::to_string(l_.n) +
                            ", the size of axis " + std::to_string(l_.axis) + "; negative: ignored)");
      labels_[k] = v < 0 ? -1 : static_cast<int64_t>(v);
    }
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    read_labels(detail::in_data(in[1]));
    log_p_.resize(in[0]->size());
    kernels::softmax_forward(detail::in_data(in[0]), log_p_.data(), l_.outer, l_.n, l_.inner, true);
    float* y = detail::out_data(out);
    for (int64_t o = 0; o < l_.outer; ++o)
      for (int64_t j = 0; j < l_.inner; ++j) {
        const int64_t k = o * l_.inner + j, t = labels_[k];
        y[k] = t < 0 ? 0.f : -log_p_[(o * l_.n + t) * l_.inner + j];
      }
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    const float* dy = detail::in_grad(out);
    float* dx = detail::in_grad_for(in[0], acc[0]);
    for (int64_t o = 0; o < l_.outer; ++o)
      for (int64_t j = 0; j < l_.inner; ++j) {
        const int64_t k = o * l_.inner + j, t = labels_[k];
        for (int64_t i = 0; i < l_.n; ++i) {
          const int64_t q = (o * l_.n + i) * l_.inner + j;
          const float g = t < 0 ? 0.f : dy[k] * (std::exp(log_p_[q]) - (i == t ? 1.f : 0.f));
          dx[q] = acc[0] ? dx[q] + g : g;
        }
      }
  }
  bool differentiable(int i) const override { return i == 0; }
  bool backward_needs_input_data(int) const override { return false; }  // reads its own log_p_ and labels_

 private:
  int axis_;
  Lines l_;
  std::vector<float> log_p_;     // log_softmax(x), from the last forward
  std::vector<int64_t> labels_;  // from the last forward
};

}  // namespace

namespace functions {

CgVariablePtr softmax(CgVariablePtr x, int axis) { return connect(std::make_unique<Softmax>(axis, false), {std::move(x)}); }
CgVariablePtr log_softmax(CgVariablePtr x, int axis) {
  return connect(std::make_unique<Softmax>(axis, true), {std::move(x)});
}
CgVariablePtr softmax_cross_entropy(CgVariablePtr x, CgVariablePtr target, int axis) {
  return connect(std::make_unique<SoftmaxCrossEntropy>(axis), {std::move(x), std::move(target)});
}

}  // namespace functions
}  // namespace nnvae
