// nnvae::parametric_functions: functions that create (or reuse) their
// parameters in a ParameterDirectory.
#pragma once
#include <memory>
#include <vector>

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

// Options of pf::convolution, chainable, with NNabla's defaults: the
// function's own options (group 1, pad (0, 0), stride (1, 1), dilation
// (1, 1), channel_last false) and the parameters' (with a bias, W from
// U(±√(6 / (K·C + C'))) with K the kernel's taps, b zeros, when no
// initializer is given).
class ConvolutionOpts {
 public:
  ConvolutionOpts& group(int val) {
    base_.group(val);
    return *this;
  }
  ConvolutionOpts& pad(const std::vector<int>& val) {
    base_.pad(val);
    return *this;
  }
  ConvolutionOpts& stride(const std::vector<int>& val) {
    base_.stride(val);
    return *this;
  }
  ConvolutionOpts& dilation(const std::vector<int>& val) {
    base_.dilation(val);
    return *this;
  }
  ConvolutionOpts& channel_last(bool val) {
    base_.channel_last(val);
    return *this;
  }
  ConvolutionOpts& with_bias(bool with_bias) {
    with_bias_ = with_bias;
    return *this;
  }
  ConvolutionOpts& w_init(Initializer* init) {
    w_init_ = init;
    return *this;
  }
  ConvolutionOpts& b_init(Initializer* init) {
    b_init_ = init;
    return *this;
  }
  int group() const { return base_.group(); }
  const std::vector<int>& pad() const { return base_.pad(); }
  const std::vector<int>& stride() const { return base_.stride(); }
  const std::vector<int>& dilation() const { return base_.dilation(); }
  bool channel_last() const { return base_.channel_last(); }
  bool with_bias() const { return with_bias_; }
  Initializer* w_init() const { return w_init_; }
  Initializer* b_init() const { return b_init_; }

 private:
  functions::ConvolutionOpts base_;
  bool with_bias_ = true;
  Initializer* w_init_ = nullptr;
  Initializer* b_init_ = nullptr;
};

// Options of pf::deconvolution: ConvolutionOpts' and output_padding ((0, 0)).
class DeconvolutionOpts {
 public:
  DeconvolutionOpts& group(int val) {
    base_.group(val);
    return *this;
  }
  DeconvolutionOpts& pad(const std::vector<int>& val) {
    base_.pad(val);
    return *this;
  }
  DeconvolutionOpts& stride(const std::vector<int>& val) {
    base_.stride(val);
    return *this;
  }
  DeconvolutionOpts& dilation(const std::vector<int>& val) {
    base_.dilation(val);
    return *this;
  }
  DeconvolutionOpts& channel_last(bool val) {
    base_.channel_last(val);
    return *this;
  }
  DeconvolutionOpts& output_padding(const std::vector<int>& val) {
    base_.output_padding(val);
    return *this;
  }
  DeconvolutionOpts& with_bias(bool with_bias) {
    with_bias_ = with_bias;
    return *this;
  }
  DeconvolutionOpts& w_init(Initializer* init) {
    w_init_ = init;
    return *this;
  }
  DeconvolutionOpts& b_init(Initializer* init) {
    b_init_ = init;
    return *this;
  }
  int group() const { return base_.group(); }
  const std::vector<int>& pad() const { return base_.pad(); }
  const std::vector<int>& stride() const { return base_.stride(); }
  const std::vector<int>& dilation() const { return base_.dilation(); }
  bool channel_last() const { return base_.channel_last(); }
  const std::vector<int>& output_padding() const { return base_.output_padding(); }
  bool with_bias() const { return with_bias_; }
  Initializer* w_init() const { return w_init_; }
  Initializer* b_init() const { return b_init_; }

 private:
  functions::DeconvolutionOpts base_;
  bool with_bias_ = true;
  Initializer* w_init_ = nullptr;
  Initializer* b_init_ = nullptr;
};

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
