// binary_cross_entropy: the Bernoulli negative log-likelihood of target t
// under probabilities x, elementwise (x, t of one shape):
//   y = −(t·log x + (1 − t)·log(1 − x)),
//   ∂y/∂x = (x − t) / (x(1 − x)),   ∂y/∂t = log(1 − x) − log x.
// Logarithms and the denominator are taken of max(·, FLT_MIN), so x at 0 or 1
// gives large finite values rather than inf or NaN.
#include <cmath>
#include <limits>

#include "common.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

namespace {
constexpr float kTiny = std::numeric_limits<float>::min();
inline float safe_log(float v) { return std::log(v > kTiny ? v : kTiny); }
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
