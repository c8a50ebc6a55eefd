// nnvae::parametric_functions: functions that create (or reuse) their
// parameters in a ParameterDirectory.
#pragma once
#include <memory>
#include <vector>

#include "nnvae/functions.hpp"
#include "nnvae/parameter.hpp"

namespace nnvae {
namespace parametric_functions {

// The parameters' options every parametric function with a weight and a
// bias shares, chainable through Derived: with a bias, and the weight's and
// bias's initializers (null: the function's default, W Glorot uniform, b
// zeros).
template <class Derived>
class ParameterOpts {
 public:
  Derived& with_bias(bool with_bias) {
    with_bias_ = with_bias;
    return static_cast<Derived&>(*this);
  }
  Derived& w_init(Initializer* init) {
    w_init_ = init;
    return static_cast<Derived&>(*this);
  }
  Derived& b_init(Initializer* init) {
    b_init_ = init;
    return static_cast<Derived&>(*this);
  }
  bool with_bias() const { return with_bias_; }
  Initializer* w_init() const { return w_init_; }
  Initializer* b_init() const { return b_init_; }

 private:
  bool with_bias_ = true;
  Initializer* w_init_ = nullptr;
  Initializer* b_init_ = nullptr;
};

// Options of pf::affine, chainable: AffineOpts().with_bias(false).
class AffineOpts : public ParameterOpts<AffineOpts> {};

// y = affine(x, W, b, base_axis) with W "affine/W": (n_in, n_out) and
// b "affine/b": (n_out) under the directory's scope.
CgVariablePtr affine(CgVariablePtr x, int base_axis, int n_out, ParameterDirectory parameters,
                     AffineOpts opts = AffineOpts());

// Options of pf::convolution, chainable, with NNabla's defaults: the
// function's own options (group 1, pad (0, 0), stride (1, 1), dilation
// (1, 1), channel_last false) and the parameters' (with a bias, W from
// U(±√(6 / (K·C + C'))) with K the kernel's taps, b zeros, when no
// initializer is given).
class ConvolutionOpts : public functions::ConvolutionOptsBase<ConvolutionOpts>,
                        public ParameterOpts<ConvolutionOpts> {};

// Options of pf::deconvolution: ConvolutionOpts' and output_padding ((0, 0)).
class DeconvolutionOpts : public functions::DeconvolutionOptsBase<DeconvolutionOpts>,
                          public ParameterOpts<DeconvolutionOpts> {};

// y = convolution(x, W, b, base_axis, ...) with W "conv/W": (n_map_out,
// C / group, kernel...) and b "conv/b": (n_map_out) under the directory's
// scope, C = x.shape[base_axis].
CgVariablePtr convolution(CgVariablePtr x, int base_axis, int n_map_out, const std::vector<int>& kernel,
                          ParameterDirectory parameters, ConvolutionOpts opts = ConvolutionOpts());

// y = deconvolution(x, W, b, base_axis, ...) with W "deconv/W": (C,
// n_map_out / group, kernel...) and b "deconv/b": (n_map_out); W's
// default range as convolution's, from C inputs and n_map_out outputs.
CgVariablePtr deconvolution(CgVariablePtr x, int base_axis, int n_map_out, const std::vector<int>& kernel,
                            ParameterDirectory parameters, DeconvolutionOpts opts = DeconvolutionOpts());

}  // namespace parametric_functions
}  // namespace nnvae

// pf::batch_normalization.
#include "nnvae/parametric_normalization.hpp"
