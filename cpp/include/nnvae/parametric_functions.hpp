// nnvae::parametric_functions: functions that create (or reuse) their
// parameters in a ParameterDirectory.
#pragma once
#include <memory>

#include "nnvae/functions.hpp"
#include "nnvae/parameter.hpp"

namespace nnvae {
namespace parametric_functions {

// Options of pf::affine, chainable: AffineOpts().with_bias(false).
class AffineOpts {
 public:
  AffineOpts& with_bias(bool with_bias) {
    with_bias_ = with_bias;
    return *this;
  }
  AffineOpts& w_init(Initializer* init) {
    w_init_ = init;
    return *this;
  }
  AffineOpts& b_init(Initializer* init) {
    b_init_ = init;
    return *this;
  }
  bool with_bias() const { return with_bias_; }
  Initializer* w_init() const { return w_init_; }
  Initializer* b_init() const { return b_init_; }

 private:
  bool with_bias_ = true;
  Initializer* w_init_ = nullptr;  // null: Glorot uniform
  Initializer* b_init_ = nullptr;  // null: zeros
};

// y = affine(x, W, b, base_axis) with W "affine/W": (n_in, n_out) and
// b "affine/b": (n_out) under the directory's scope.
CgVariablePtr affine(CgVariablePtr x, int base_axis, int n_out, ParameterDirectory parameters,
                     AffineOpts opts = AffineOpts());

}  // namespace parametric_functions
}  // namespace nnvae

// pf::batch_normalization.
#include "nnvae/parametric_normalization.hpp"
