// pf::batch_normalization: batch normalisation with its parameters created
// (or reused) in a ParameterDirectory.
#pragma once
#include <vector>

#include "nnvae/functions.hpp"
#include "nnvae/parameter.hpp"

namespace nnvae {
namespace parametric_functions {

// Options of pf::batch_normalization, chainable:
// BatchNormalizationOpts().decay_rate(0.99f).eps(1e-3f).
class BatchNormalizationOpts {
 public:
  BatchNormalizationOpts& axes(const std::vector<int>& axes) {
    axes_ = axes;
    return *this;
  }
  BatchNormalizationOpts& decay_rate(float decay_rate) {
    decay_rate_ = decay_rate;
    return *this;
  }
  BatchNormalizationOpts& eps(float eps) {
    eps_ = eps;
    return *this;
  }
  // beta and gamma get no gradient (the stored parameters keep their
  // need_grad; the graph uses them as constants).
  BatchNormalizationOpts& fix_parameters(bool fix) {
    fix_parameters_ = fix;
    return *this;
  }
  const std::vector<int>& axes() const { return axes_; }
  float decay_rate() const { return decay_rate_; }
  float eps() const { return eps_; }
  bool fix_parameters() const { return fix_parameters_; }

 private:
  // NNabla's defaults: those of batch_normalization's row in functions.def
  // (test_batch_normalization checks that they agree).
  std::vector<int> axes_{1};
  float decay_rate_ = 0.9f;
  float eps_ = 1e-5f;
  bool fix_parameters_ = false;
};

// The parameter names under the directory's scope (NNabla's C++ ones; its
// Python API names the running variance "bn/var").
struct BatchNormalizationNames {
  static constexpr const char* beta = "bn/beta";          // zeros, learned
  static constexpr const char* gamma = "bn/gamma";        // ones, learned
  static constexpr const char* mean = "bn/mean";          // zeros, need_grad false
  static constexpr const char* variance = "bn/variance";  // ones, need_grad false
};

// functions::batch_normalization(x, beta, gamma, mean, variance, axes,
// decay_rate, eps, batch_stat) with the four parameters of shape x's shape
// with 1 on every axis but the channel axis (e.g. (1, C, 1, 1)), created
// when missing in that order. The running mean and variance are parameters
// too (saved and loaded with the others); a solver given them leaves them
// alone, as they never get a gradient.
CgVariablePtr batch_normalization(CgVariablePtr x, bool batch_stat, ParameterDirectory parameters,
                                  BatchNormalizationOpts opts = BatchNormalizationOpts());

}  // namespace parametric_functions
}  // namespace nnvae
