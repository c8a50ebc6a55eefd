// kl_multinomial: the Kullback-Leibler divergence of two categorical
// distributions, one per sample.
// p, q: (M..., K...) of one shape, M... the base_axis sample axes and the K
// probabilities of each distribution flattened after them; y: (M..., 1).
//   y[m] = Σ_k p[m,k]·(log(p[m,k] + 1e-8) − log(q[m,k] + 1e-8))
//   ∂y/∂p = log(p + 1e-8) − log(q + 1e-8) + 1,   ∂y/∂q = −p / q.
// The 1e-8 keeps a zero p or q finite in y and in ∂y/∂p (a zero p adds
// nothing); ∂y/∂q is taken without it, as NNabla does: −inf where q = 0 < p,
// NaN where p = q = 0. base_axis 0 makes the whole input one distribution,
// y: (1,).
#include <cmath>
#include <cstdint>

#include "common.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

namespace {
constexpr float kEps = 1.0e-8f;
}

// p, q: (n, k); y: (n).
void kl_multinomial_forward(const float* p, const float* q, float* y, int64_t n, int64_t k) {
#pragma omp parallel for if (n * k > detail::kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    const float* pi = p + i * k;
    const float* qi = q + i * k;
    double s = 0;
    for (int64_t j = 0; j < k; ++j) s += pi[j] * (std::log(pi[j] + kEps) - std::log(qi[j] + kEps));
    y[i] = static_cast<float>(s);
  }
}

// which 0: dp (+)= dy·∂y/∂p; which 1: dq (+)= dy·∂y/∂q. p, q, d: (n, k); dy: (n).
void kl_multinomial_backward(int which, const float* p, const float* q, const float* dy, float* d, int64_t n,
                             int64_t k, bool accumulate) {
#pragma omp parallel for if (n * k > detail::kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t o = i * k;
    for (int64_t j = o; j < o + k; ++j) {
      const float g = which == 0 ? dy[i] * (std::log(p[j] + kEps) - std::log(q[j] + kEps) + 1.f) : -dy[i] * p[j] / q[j];
      d[j] = accumulate ? d[j] + g : g;
    }
  }
}

}  // namespace kernels

namespace {

class KLMultinomial : public Function {
 public:
  explicit KLMultinomial(int base_axis) : base_axis_(base_axis) {}
  std::string name() const override { return "kl_multinomial"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    if (in[0] != in[1])
      detail::shape_error("kl_multinomial: p has shape " + shape_str(in[0]) + " but q has shape " +
                          shape_str(in[1]) + "; they must be equal");
    const int ndim = static_cast<int>(in[0].size());
    if (base_axis_ < -ndim || base_axis_ >= ndim)
      detail::shape_error("kl_multinomial: base_axis " + std::to_string(base_axis_) + " is out of range for p of shape " +
                          shape_str(in[0]) + " (it must be in [" + std::to_string(-ndim) + ", " +
                          std::to_string(ndim) + "))");
    const int axis = base_axis_ < 0 ? base_axis_ + ndim : base_axis_;
    Shape_t out(in[0].begin(), in[0].begin() + axis);
    out.push_back(1);
    n_ = shape_size(out);
    k_ = n_ == 0 ? 0 : shape_size(in[0]) / n_;
    return out;
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    kernels::kl_multinomial_forward(detail::in_data(in[0]), detail::in_data(in[1]), detail::out_data(out), n_, k_);
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    const float* p = detail::in_data(in[0]);
    const float* q = detail::in_data(in[1]);
    const float* dy = detail::in_grad(out);
    for (int which = 0; which < 2; ++which)
      if (prop[which])
        kernels::kl_multinomial_backward(which, p, q, dy, detail::in_grad_for(in[which], acc[which]), n_, k_,
                                         acc[which]);
  }

 private:
  int base_axis_;
  int64_t n_ = 0, k_ = 0;  // distributions, and probabilities in each
};

}  // namespace

CgVariablePtr functions::kl_multinomial(CgVariablePtr p, CgVariablePtr q, int base_axis) {
  return connect(std::make_unique<KLMultinomial>(base_axis), {std::move(p), std::move(q)});
}

}  // namespace nnvae
