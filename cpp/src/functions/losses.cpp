// The elementwise Bernoulli losses of a target t, x and t of one shape.
//
// sigmoid_cross_entropy, under logits x (no gradient to t):
//   y = max(x, 0) − x·t + log(1 + e^−|x|),  ∂y/∂x = sigmoid(x) − t.
// binary_cross_entropy, under probabilities x:
//   y = −(t·log x + (1 − t)·log(1 − x)),
//   ∂y/∂x = (x − t) / (x(1 − x)),   ∂y/∂t = log(1 − x) − log x.
//   Logarithms and the denominator are taken of max(·, FLT_MIN), so x at 0
//   or 1 gives large finite values rather than inf; a NaN stays NaN.
#include <cmath>
#include <limits>

#include "common.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/kernels/vmath.hpp"

namespace nnvae {
namespace kernels {

// These loops are bound by arithmetic (exp, a division), not memory, so
// they ask for 16-float vectors (simdlen): GCC's default for this machine is 8.
void sigmoid_cross_entropy_forward(const float* x, const float* t, float* y, int64_t n) {
#pragma omp parallel for simd simdlen(16) if (parallel : n > detail::kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    // (not std::max: a reference to a temporary 0 keeps GCC from vectorising)
    const float xi = x[i];
    y[i] = (xi > 0.f ? xi : 0.f) - xi * t[i] + vmath::log1p_unit(vmath::exp(-std::fabs(xi)));
  }
}

void sigmoid_cross_entropy_backward(const float* x, const float* t, const float* dy, float* dx, int64_t n,
                                    bool accumulate) {
  // Two loops rather than `accumulate ? dx + g : g` inside one: GCC does not
  // vectorise a conditional read of dx.
  if (accumulate) {
#pragma omp parallel for simd simdlen(16) if (parallel : n > detail::kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * (vmath::sigmoid(x[i]) - t[i]);
  } else {
#pragma omp parallel for simd simdlen(16) if (parallel : n > detail::kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (vmath::sigmoid(x[i]) - t[i]);
  }
}

}  // namespace kernels

namespace {
class SigmoidCrossEntropy : public Function {
 public:
  std::string name() const override { return "sigmoid_cross_entropy"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    if (in[0] != in[1])
      detail::shape_error("sigmoid_cross_entropy: x has shape " + shape_str(in[0]) + " but target has shape " +
                          shape_str(in[1]) + "; they must be equal");
    return in[0];
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    kernels::sigmoid_cross_entropy_forward(detail::in_data(in[0]), detail::in_data(in[1]), detail::out_data(out),
                                           out->size());
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    kernels::sigmoid_cross_entropy_backward(detail::in_data(in[0]), detail::in_data(in[1]), detail::in_grad(out),
                                            detail::in_grad_for(in[0], acc[0]), out->size(), acc[0]);
  }
  bool differentiable(int i) const override { return i == 0; }
};
}  // namespace

CgVariablePtr functions::sigmoid_cross_entropy(CgVariablePtr x, CgVariablePtr target) {
  return connect(std::make_unique<SigmoidCrossEntropy>(), {std::move(x), std::move(target)});
}

}  // namespace nnvae

namespace nnvae {
namespace kernels {

namespace {
constexpr float kTiny = std::numeric_limits<float>::min();
inline float safe_log(float v) { return std::log(v > kTiny || std::isnan(v) ? v : kTiny); }
}  // namespace

void binary_cross_entropy_forward(const float* x, const float* t, float* y, int64_t n) {
#pragma omp parallel for if (n > detail::kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] = -(t[i] * safe_log(x[i]) + (1.f - t[i]) * safe_log(1.f - x[i]));
}

// which 0: dx (+)= dy·∂y/∂x; which 1: dt (+)= dy·∂y/∂t.
void binary_cross_entropy_backward(int which, const float* x, const float* t, const float* dy, float* d, int64_t n,
                                   bool accumulate) {
#pragma omp parallel for if (n > detail::kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    float g;
    if (which == 0) {
      const float v = x[i] - x[i] * x[i];
      g = dy[i] * (x[i] - t[i]) / (v > kTiny ? v : kTiny);
    } else {
      g = dy[i] * (safe_log(1.f - x[i]) - safe_log(x[i]));
    }
    d[i] = accumulate ? d[i] + g : g;
  }
}

}  // namespace kernels

namespace {
class BinaryCrossEntropy : public Function {
 public:
  std::string name() const override { return "binary_cross_entropy"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    if (in[0] != in[1])
      detail::shape_error("binary_cross_entropy: x has shape " + shape_str(in[0]) + " but target has shape " +
                          shape_str(in[1]) + "; they must be equal");
    return in[0];
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    kernels::binary_cross_entropy_forward(detail::in_data(in[0]), detail::in_data(in[1]), detail::out_data(out),
                                          out->size());
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    const float* x = detail::in_data(in[0]);
    const float* t = detail::in_data(in[1]);
    const float* dy = detail::in_grad(out);
    for (int which = 0; which < 2; ++which)
      if (prop[which])
        kernels::binary_cross_entropy_backward(which, x, t, dy, detail::in_grad_for(in[which], acc[which]),
                                               out->size(), acc[which]);
  }
};
}  // namespace

CgVariablePtr functions::binary_cross_entropy(CgVariablePtr x, CgVariablePtr target) {
  return connect(std::make_unique<BinaryCrossEntropy>(), {std::move(x), std::move(target)});
}

}  // namespace nnvae
