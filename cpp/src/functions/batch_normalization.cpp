// batch_normalization over one axis. x is seen as (outer, C, inner): C the
// size of the normalised axis, outer·inner = M values per channel c.
//
// Forward, per channel, with a = gamma/sqrt(σ² + eps) and b = beta − μ·a:
//   y = (x − μ)·gamma/sqrt(σ² + eps) + beta = x·a + b,
// μ, σ² the batch mean and biased variance (batch_stat; the running mean and
// variance move towards μ and the unbiased σ²·M/(M − 1)) or the running ones.
//
// Backward with batch statistics, x̂ = (x − μ)·r, r = 1/sqrt(σ² + eps):
//   dbeta = Σ dy,  dgamma = Σ dy·x̂,
//   dx = gamma·r·(dy − dbeta/M − x̂·dgamma/M)          (through μ and σ² too)
//      = dy·k1 + x·k2 + k3, k1 = gamma·r, k2 = −gamma·r²·dgamma/M,
//        k3 = −gamma·r·dbeta/M − μ·k2.
// With running statistics μ, σ² are constants: dx = dy·a, the same dbeta and
// dgamma with x̂ = (x − mean)·r.
//
// An elementwise function reading y alone (ResNet's elu) may run as the
// forward's epilogue (graph.hpp, fusion): it finishes each block of y right
// after it is written, while it is in cache, instead of in a pass of its own.
// The per-channel passes are batch_norm_kernels.cpp's.
#include <cmath>
#include <algorithm>

#include "batch_norm_kernels.hpp"
#include "common.hpp"
#include "layout.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/kernels/matmul.hpp"  // Epilogue

namespace nnvae {
namespace {

const char* kName = "batch_normalization";

class BatchNormalization : public Function {
 public:
  BatchNormalization(int axis, float decay_rate, float eps, bool batch_stat, bool no_scale, bool no_bias)
      : axis_(axis), decay_(decay_rate), eps_(eps), batch_stat_(batch_stat) {
    // Inputs: x, [beta], [gamma], mean, variance.
    int k = 1;
    b_ = no_bias ? -1 : k++;
    g_ = no_scale ? -1 : k++;
    m_ = k++;
    v_ = k++;
  }
  std::string name() const override { return kName; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t& xs = in[0];
    const int a = detail::normalize_axis(kName, axis_, static_cast<int>(xs.size()), xs);
    Shape_t want(xs.size(), 1);
    want[a] = xs[a];
    const std::pair<int, const char*> params[] = {{b_, "beta"}, {g_, "gamma"}, {m_, "mean"}, {v_, "variance"}};
    for (auto& [i, what] : params)
      if (i >= 0 && in[i] != want)
        detail::shape_error(std::string(kName) + ": " + what + " has shape " + shape_str(in[i]) + " but x of shape " +
                            shape_str(xs) + " normalised over axis " + std::to_string(a) + " needs " +
                            shape_str(want));
    C_ = xs[a];
    outer_ = inner_ = 1;
    for (int d = 0; d < a; ++d) outer_ *= xs[d];
    for (size_t d = a + 1; d < xs.size(); ++d) inner_ *= xs[d];
    if (batch_stat_ && outer_ * inner_ < 2)
      detail::shape_error(std::string(kName) +
                          ": batch statistics need at least 2 values per channel, but x of shape " + shape_str(xs) +
                          " has " + std::to_string(outer_ * inner_) + " along the axes other than " +
                          std::to_string(a) + " (one sample: use batch_stat = false, the running statistics)");
    return xs;
  }

  void forward(const std::vector<Variable*>& in, Variable* out) override { run_forward(in, out, nullptr); }
  // An elementwise function after it (elu in ResNet's units) finishes each
  // block of y while it is in cache, saving a pass over y.
  bool accepts_forward_epilogue() const override { return true; }
  void forward_with(const std::vector<Variable*>& in, Variable* out, const kernels::Epilogue& ep) override {
    run_forward(in, out, &ep);
  }

  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override;

  // No gradient to the running statistics.
  bool differentiable(int i) const override { return i != m_ && i != v_; }
  // Backward reads x, gamma and (without batch statistics) the running ones.
  bool backward_needs_input_data(int i) const override { return i != b_; }

 private:
  // y = x·a + b with the batch's or the running statistics; then ep, if
  // given, on each block of y.
  void run_forward(const std::vector<Variable*>& in, Variable* out, const kernels::Epilogue* ep) {
    const float* x = detail::in_data(in[0]);
    std::vector<float> a(C_), b(C_);
    if (batch_stat_) {
      mean_.resize(C_);
      inv_std_.resize(C_);
      std::vector<float> var(C_);
      kernels::batch_norm_statistics(x, outer_, C_, inner_, mean_.data(), var.data());
      // Running statistics: read, moved, written back (the inputs change).
      float* rm = in[m_]->data()->write_accumulate(true);
      float* rv = in[v_]->data()->write_accumulate(true);
      const double count = double(outer_) * double(inner_), d = decay_;
      for (int64_t c = 0; c < C_; ++c) {
        rm[c] = static_cast<float>(d * rm[c] + (1 - d) * mean_[c]);
        rv[c] = static_cast<float>(d * rv[c] + (1 - d) * var[c] * count / (count - 1));
        inv_std_[c] = static_cast<float>(1.0 / std::sqrt(double(var[c]) + eps_));
      }
      affine_of(in, mean_.data(), inv_std_.data(), a.data(), b.data());
    } else {
      std::vector<float> mean, inv_std;
      running(in, mean, inv_std);
      affine_of(in, mean.data(), inv_std.data(), a.data(), b.data());
    }
    if (ep)
      kernels::channel_affine_then(x, detail::out_data(out), outer_, C_, inner_, a.data(), b.data(), *ep);
    else
      kernels::channel_affine(x, detail::out_data(out), outer_, C_, inner_, a.data(), b.data(), false);
  }
  // The running mean and 1/sqrt(variance + eps), per channel.
  void running(const std::vector<Variable*>& in, std::vector<float>& mean, std::vector<float>& inv_std) const {
    const float* rm = detail::in_data(in[m_]);
    const float* rv = detail::in_data(in[v_]);
    mean.assign(rm, rm + C_);
    inv_std.resize(C_);
    for (int64_t c = 0; c < C_; ++c) inv_std[c] = static_cast<float>(1.0 / std::sqrt(double(rv[c]) + eps_));
  }
  // a = gamma·inv_std, b = beta − mean·a.
  void affine_of(const std::vector<Variable*>& in, const float* mean, const float* inv_std, float* a, float* b) const {
    const float* gamma = g_ >= 0 ? detail::in_data(in[g_]) : nullptr;
    const float* beta = b_ >= 0 ? detail::in_data(in[b_]) : nullptr;
    for (int64_t c = 0; c < C_; ++c) {
      a[c] = (gamma ? gamma[c] : 1.f) * inv_std[c];
      b[c] = (beta ? beta[c] : 0.f) - mean[c] * a[c];
    }
  }

  int axis_;
  float decay_, eps_;
  bool batch_stat_;
  int b_, g_, m_, v_;  // input positions (-1: left out)
  int64_t outer_ = 1, C_ = 1, inner_ = 1;
  std::vector<float> mean_, inv_std_;  // batch statistics of the last forward
};

void BatchNormalization::backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                                  const std::vector<bool>& acc) {
  const bool to_x = prop[0], to_beta = b_ >= 0 && prop[b_], to_gamma = g_ >= 0 && prop[g_];
  if (!to_x && !to_beta && !to_gamma) return;
  std::vector<float> mean, inv_std;
  if (batch_stat_) {
    if (static_cast<int64_t>(mean_.size()) != C_)
      detail::shape_error(std::string(kName) + ": backward before any forward (no batch statistics yet)");
    mean = mean_;
    inv_std = inv_std_;
  } else {
    running(in, mean, inv_std);
  }
  const float* x = detail::in_data(in[0]);
  const float* dy = detail::in_grad(out);
  std::vector<double> sum_dy(C_), sum_dy_xc(C_);
  if (batch_stat_ || to_beta || to_gamma)
    kernels::batch_norm_grad_sums(x, dy, outer_, C_, inner_, mean.data(), sum_dy.data(), sum_dy_xc.data());
  std::vector<float> gamma(C_, 1.f);
  if (g_ >= 0) {
    const float* g = detail::in_data(in[g_]);
    gamma.assign(g, g + C_);
  }
  if (to_x) {
    std::vector<float> k1(C_), k2(C_, 0.f), k3(C_, 0.f);
    const double count = double(outer_) * double(inner_);
    for (int64_t c = 0; c < C_; ++c) {
      const double r = inv_std[c], gr = double(gamma[c]) * r;
      k1[c] = static_cast<float>(gr);
      if (batch_stat_) {
        const double dgamma = sum_dy_xc[c] * r;  // Σ dy·x̂
        const double b2 = -gr * r * dgamma / count;
        k2[c] = static_cast<float>(b2);
        k3[c] = static_cast<float>(-gr * sum_dy[c] / count - mean[c] * b2);
      }
    }
    kernels::batch_norm_dx(x, dy, detail::in_grad_for(in[0], acc[0]), outer_, C_, inner_, k1.data(), k2.data(),
                           k3.data(), acc[0]);
  }
  if (to_beta) {
    float* db = detail::in_grad_for(in[b_], acc[b_]);
    for (int64_t c = 0; c < C_; ++c) db[c] = static_cast<float>((acc[b_] ? db[c] : 0.0) + sum_dy[c]);
  }
  if (to_gamma) {
    float* dg = detail::in_grad_for(in[g_], acc[g_]);
    for (int64_t c = 0; c < C_; ++c)
      dg[c] = static_cast<float>((acc[g_] ? dg[c] : 0.0) + sum_dy_xc[c] * inv_std[c]);
  }
}

}  // namespace

CgVariablePtr functions::batch_normalization(CgVariablePtr x, CgVariablePtr beta, CgVariablePtr gamma,
                                             CgVariablePtr mean, CgVariablePtr variance, const std::vector<int>& axes,
                                             float decay_rate, float eps, bool batch_stat, bool no_scale,
                                             bool no_bias) {
  const std::string f = kName;
  if (!x) detail::shape_error(f + ": x is null");
  if (axes.size() != 1) {
    std::string list;
    for (int a : axes) list += (list.empty() ? "" : ", ") + std::to_string(a);
    detail::shape_error(f + ": axes must name exactly one axis (the channel axis), got {" + list + "} for x of shape " +
                        shape_str(x->shape()));
  }
  if (!no_bias && !beta) detail::shape_error(f + ": beta is null (pass no_bias = true to leave the bias out)");
  if (!no_scale && !gamma) detail::shape_error(f + ": gamma is null (pass no_scale = true to leave the scale out)");
  if (!mean || !variance)
    detail::shape_error(f + ": the running " + (mean ? "variance" : "mean") +
                        " is null; batch normalisation needs both running statistics");
  if (!(eps >= 0.f)) detail::shape_error(f + ": eps must be >= 0, got " + std::to_string(eps));
  std::vector<CgVariablePtr> inputs{std::move(x)};
  if (!no_bias) inputs.push_back(std::move(beta));
  if (!no_scale) inputs.push_back(std::move(gamma));
  inputs.push_back(std::move(mean));
  inputs.push_back(std::move(variance));
  return connect(std::make_unique<BatchNormalization>(axes[0], decay_rate, eps, batch_stat, no_scale, no_bias),
                 std::move(inputs));
}

}  // namespace nnvae
