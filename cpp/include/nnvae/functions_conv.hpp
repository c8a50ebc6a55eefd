// nnvae::functions: convolution, deconvolution and pooling, with NNabla's
// C++ argument names, order and meanings.
//
// Layout: x is (M_1, ..., M_B, C, L_1, ..., L_S): B batch axes (base_axis),
// one channel axis, S spatial axes (1 to 3; channel_last = false: the
// channel axis before the spatial ones, the only layout implemented; true
// is refused). Sizes of pad, stride, dilation (and output_padding) are S;
// an empty vector means the default for every spatial axis (pad 0, stride
// 1, dilation 1, output_padding 0).
#pragma once
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {
namespace functions {

// Convolution, with window k_i, stride s_i, zero padding p_i on both sides
// and dilation d_i along spatial axis i; the channels cut into `group`
// groups, each output channel seeing only the input channels of its group:
//   y[m, o, l'] = b[o] + Σ_{c in group(o), k} W[o, c, k] · x[m, c, l'·s − p + k·d]
// (x taken as 0 outside the input).
// x: (M..., C, L_1..L_S), W: (C', C / group, K_1..K_S), b: (C') or nullptr;
// y: (M..., C', L'_1..L'_S), L'_i = (L_i + 2p_i − d_i(K_i − 1) − 1) / s_i + 1
// (rounded down; at least 1, or an error).
CgVariablePtr convolution(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis = 1,
                          const std::vector<int>& pad = {}, const std::vector<int>& stride = {},
                          const std::vector<int>& dilation = {}, int group = 1, bool channel_last = false);

// Deconvolution (transposed convolution): the gradient of convolution with
// respect to its input, as a function of the output's gradient, plus a bias:
//   y[m, o, s·l − p + k·d] += Σ_{c in group(o)} W[c, o, k] · x[m, c, l]; y += b[o].
// x: (M..., C, L_1..L_S), W: (C, C' / group, K_1..K_S), b: (C') or nullptr;
// y: (M..., C', L'_1..L'_S), L'_i = s_i(L_i − 1) − 2p_i + d_i(K_i − 1) + 1 + output_padding_i
// (output_padding_i < s_i only sizes the output: the extra positions get the
// bias alone).
CgVariablePtr deconvolution(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis = 1,
                            const std::vector<int>& pad = {}, const std::vector<int>& stride = {},
                            const std::vector<int>& dilation = {}, int group = 1, bool channel_last = false,
                            const std::vector<int>& output_padding = {});

// Pooling over the last kernel.size() axes (1 to 3) of x, every other axis
// kept. Window j along axis i covers [j·s_i − p_i, j·s_i − p_i + k_i) ∩
// [−p_i, L_i + p_i), clipped to the input [0, L_i) for the values.
// ignore_border true: only windows that fit the padded input,
//   L'_i = (L_i + 2p_i − k_i) / s_i + 1;
// false: also the partial windows at the far border,
//   L'_i = (L_i + p_i − 1) / s_i + 1 (NNabla's sizes).
// An empty stride means stride = kernel.
//
// max_pooling: y = the largest x in the window; its gradient goes to the
// first largest element of the window in row-major order.
CgVariablePtr max_pooling(CgVariablePtr x, const std::vector<int>& kernel, const std::vector<int>& stride,
                          bool ignore_border, const std::vector<int>& pad, bool channel_last);
// average_pooling: y = Σ window / n, n the window's size within the padded
// input (including_pad) or within the input alone (not including_pad).
CgVariablePtr average_pooling(CgVariablePtr x, const std::vector<int>& kernel, const std::vector<int>& stride,
                              bool ignore_border, const std::vector<int>& pad, bool channel_last,
                              bool including_pad);

// NNabla's option structs for the short forms below, chainable:
// ConvolutionOpts().pad({1, 1}).stride({2, 2}). The defaults are NNabla's:
// group 1, pad (0, 0), stride (1, 1), dilation (1, 1), channel_last false,
// output_padding (0, 0); pooling: ignore_border FALSE (unlike the full
// form's usual true), including_pad true, pad (0, 0), channel_last false.
class ConvolutionOpts {
 public:
  ConvolutionOpts& group(int val) { group_ = val; return *this; }
  ConvolutionOpts& pad(const std::vector<int>& val) { pad_ = val; return *this; }
  ConvolutionOpts& stride(const std::vector<int>& val) { stride_ = val; return *this; }
  ConvolutionOpts& dilation(const std::vector<int>& val) { dilation_ = val; return *this; }
  ConvolutionOpts& channel_last(bool val) { channel_last_ = val; return *this; }
  int group() const { return group_; }
  const std::vector<int>& pad() const { return pad_; }
  const std::vector<int>& stride() const { return stride_; }
  const std::vector<int>& dilation() const { return dilation_; }
  bool channel_last() const { return channel_last_; }

 private:
  int group_ = 1;
  std::vector<int> pad_{0, 0}, stride_{1, 1}, dilation_{1, 1};
  bool channel_last_ = false;
};

class DeconvolutionOpts {
 public:
  DeconvolutionOpts& group(int val) { group_ = val; return *this; }
  DeconvolutionOpts& pad(const std::vector<int>& val) { pad_ = val; return *this; }
  DeconvolutionOpts& stride(const std::vector<int>& val) { stride_ = val; return *this; }
  DeconvolutionOpts& dilation(const std::vector<int>& val) { dilation_ = val; return *this; }
  DeconvolutionOpts& channel_last(bool val) { channel_last_ = val; return *this; }
  DeconvolutionOpts& output_padding(const std::vector<int>& val) { output_padding_ = val; return *this; }
  int group() const { return group_; }
  const std::vector<int>& pad() const { return pad_; }
  const std::vector<int>& stride() const { return stride_; }
  const std::vector<int>& dilation() const { return dilation_; }
  bool channel_last() const { return channel_last_; }
  const std::vector<int>& output_padding() const { return output_padding_; }

 private:
  int group_ = 1;
  std::vector<int> pad_{0, 0}, stride_{1, 1}, dilation_{1, 1}, output_padding_{0, 0};
  bool channel_last_ = false;
};

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
