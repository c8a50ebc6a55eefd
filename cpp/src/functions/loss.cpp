// sigmoid_cross_entropy: the Bernoulli negative log-likelihood of target t
// under logits x, elementwise:
//   y = max(x, 0) − x·t + log(1 + e^−|x|),  ∂y/∂x = sigmoid(x) − t.
// x, t: the same shape. No gradient flows to the target.
#include <cmath>

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
