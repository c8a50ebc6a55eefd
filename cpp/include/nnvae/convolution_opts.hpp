// The short forms of convolution, deconvolution and pooling, with NNabla's
// option structs; the full forms are rows of the function table
// (functions.def). Layout: x is (M_1, ..., M_B, C, L_1, ..., L_S): B batch
// axes (base_axis), one channel axis, S spatial axes (1 to 3; channel_last
// true is refused). pad, stride, dilation and output_padding have S entries;
// an empty vector means the default for every spatial axis (pad 0, stride 1,
// dilation 1, output_padding 0; pooling's stride: the kernel).
#pragma once
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {
namespace functions {

// NNabla's option structs for the short forms below, chainable:
// ConvolutionOpts().pad({1, 1}).stride({2, 2}). The defaults are NNabla's:
// group 1, pad (0, 0), stride (1, 1), dilation (1, 1), channel_last false,
// output_padding (0, 0); pooling: ignore_border FALSE (unlike the full
// form's usual true), including_pad true, pad (0, 0), channel_last false.
//
// The options convolution and deconvolution share, chainable through
// Derived (each setter returns the Derived object, so that
// ConvolutionOpts().pad({1, 1}).stride({2, 2}) keeps its type).
template <class Derived>
class ConvolutionOptsBase {
 public:
  Derived& group(int val) { group_ = val; return self(); }
  Derived& pad(const std::vector<int>& val) { pad_ = val; return self(); }
  Derived& stride(const std::vector<int>& val) { stride_ = val; return self(); }
  Derived& dilation(const std::vector<int>& val) { dilation_ = val; return self(); }
  Derived& channel_last(bool val) { channel_last_ = val; return self(); }
  int group() const { return group_; }
  const std::vector<int>& pad() const { return pad_; }
  const std::vector<int>& stride() const { return stride_; }
  const std::vector<int>& dilation() const { return dilation_; }
  bool channel_last() const { return channel_last_; }

 protected:
  Derived& self() { return static_cast<Derived&>(*this); }

 private:
  int group_ = 1;
  std::vector<int> pad_{0, 0}, stride_{1, 1}, dilation_{1, 1};
  bool channel_last_ = false;
};

// Deconvolution's options: convolution's and output_padding.
template <class Derived>
class DeconvolutionOptsBase : public ConvolutionOptsBase<Derived> {
 public:
  Derived& output_padding(const std::vector<int>& val) { output_padding_ = val; return this->self(); }
  const std::vector<int>& output_padding() const { return output_padding_; }

 private:
  std::vector<int> output_padding_{0, 0};
};

class ConvolutionOpts : public ConvolutionOptsBase<ConvolutionOpts> {};
class DeconvolutionOpts : public DeconvolutionOptsBase<DeconvolutionOpts> {};

class PoolingOpts {
 public:
  PoolingOpts& ignore_border(bool val) { ignore_border_ = val; return *this; }
  PoolingOpts& including_pad(bool val) { including_pad_ = val; return *this; }
  PoolingOpts& pad(const std::vector<int>& val) { pad_ = val; return *this; }
  PoolingOpts& channel_last(bool val) { channel_last_ = val; return *this; }
  bool ignore_border() const { return ignore_border_; }
  bool including_pad() const { return including_pad_; }
  const std::vector<int>& pad() const { return pad_; }
  bool channel_last() const { return channel_last_; }

 private:
  bool ignore_border_ = false, including_pad_ = true;
  std::vector<int> pad_{0, 0};
  bool channel_last_ = false;
};

// The short forms: the group is passed apart from the options (the
// options' own group() is not read, as in NNabla).
CgVariablePtr convolution(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis, int group,
                          const ConvolutionOpts& opts);
CgVariablePtr deconvolution(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis, int group,
                            const DeconvolutionOpts& opts);
CgVariablePtr max_pooling(CgVariablePtr x, const std::vector<int>& kernel, const std::vector<int>& stride,
                          const PoolingOpts& opts = PoolingOpts());
CgVariablePtr average_pooling(CgVariablePtr x, const std::vector<int>& kernel, const std::vector<int>& stride,
                              const PoolingOpts& opts = PoolingOpts());

}  // namespace functions
}  // namespace nnvae
