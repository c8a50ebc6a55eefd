// pf::convolution and pf::deconvolution: their parameters, created (or
// reused) in the directory, then the function. The arguments that decide
// the parameters' shapes are checked first, so that a bad call leaves no
// parameter of a wrong shape behind.
#include <stdexcept>
#include <string>

#include "nnvae/parametric_functions.hpp"

namespace nnvae {
namespace parametric_functions {

namespace {

// Checks what the parameters' shapes are made of and returns x's channel
// count; `fname` names the caller, `kernel_size` gets the kernel's taps.
int64_t check_conv_args(const std::string& fname, const CgVariablePtr& x, int base_axis, int n_map_out,
                        const std::vector<int>& kernel, int group, bool channel_last, int64_t& kernel_size) {
  if (!x) throw std::invalid_argument(fname + ": the input is null");
  if (channel_last)
    throw std::invalid_argument(fname + ": channel_last=true is not implemented (x shape " + shape_str(x->shape()) +
                                ")");
  const Shape_t& s = x->shape();
  const int nd = static_cast<int>(s.size());
  if (base_axis < 0 || base_axis + 1 >= nd)
    throw std::invalid_argument(fname + ": base_axis " + std::to_string(base_axis) +
                                " leaves no spatial axis in x of shape " + shape_str(s));
  if (n_map_out <= 0)
    throw std::invalid_argument(fname + ": n_map_out must be > 0, got " + std::to_string(n_map_out));
  if (static_cast<int>(kernel.size()) != nd - base_axis - 1)
    throw std::invalid_argument(fname + ": kernel " + shape_str(Shape_t(kernel.begin(), kernel.end())) + " has " +
                                std::to_string(kernel.size()) + " entries but x of shape " + shape_str(s) + " has " +
                                std::to_string(nd - base_axis - 1) + " spatial axes after base_axis " +
                                std::to_string(base_axis));
  kernel_size = 1;
  for (int k : kernel) {
    if (k < 1)
      throw std::invalid_argument(fname + ": kernel " + shape_str(Shape_t(kernel.begin(), kernel.end())) +
                                  " has an entry < 1");
    kernel_size *= k;
  }
  const int64_t c = s[base_axis];
  if (group < 1 || c % group != 0 || n_map_out % group != 0)
    throw std::invalid_argument(fname + ": group " + std::to_string(group) + " must be >= 1 and divide both the " +
                                std::to_string(c) + " input channels (x shape " + shape_str(s) + ") and n_map_out " +
                                std::to_string(n_map_out));
  return c;
}

// W and b of pf::convolution or pf::deconvolution, created (or reused) under
// `scope_name` after the arguments are checked. W's first two axes are
// (n_map_out, C / group) for a convolution and (C, n_map_out / group) for a
// deconvolution (`transposed`), then the kernel's; b is (n_map_out). W's
// default range comes from C inputs and n_map_out outputs either way.
struct ConvParameters {
  CgVariablePtr W, b;
};

template <class Opts>
ConvParameters conv_parameters(const std::string& fname, const char* scope_name, bool transposed,
                               const CgVariablePtr& x, int base_axis, int n_map_out, const std::vector<int>& kernel,
                               ParameterDirectory& parameters, const Opts& opts) {
  int64_t taps = 0;
  const int64_t c =
      check_conv_args(fname, x, base_axis, n_map_out, kernel, opts.group(), opts.channel_last(), taps);
  Shape_t w_shape = transposed ? Shape_t{c, n_map_out / opts.group()} : Shape_t{n_map_out, c / opts.group()};
  w_shape.insert(w_shape.end(), kernel.begin(), kernel.end());
  const float lim = calc_uniform_lim_glorot(static_cast<int>(c), n_map_out, static_cast<int>(taps));
  UniformInitializer glorot(-lim, lim);
  ParameterDirectory scope = parameters[scope_name];
  ConvParameters p;
  p.W = scope.get_parameter_or_create("W", w_shape, opts.w_init() ? opts.w_init() : &glorot);
  if (opts.with_bias()) {
    ConstantInitializer zero(0.f);
    p.b = scope.get_parameter_or_create("b", {n_map_out}, opts.b_init() ? opts.b_init() : &zero);
  }
  return p;
}

}  // namespace

CgVariablePtr convolution(CgVariablePtr x, int base_axis, int n_map_out, const std::vector<int>& kernel,
                          ParameterDirectory parameters, ConvolutionOpts opts) {
  ConvParameters p =
      conv_parameters("pf::convolution", "conv", false, x, base_axis, n_map_out, kernel, parameters, opts);
  return functions::convolution(x, p.W, p.b, base_axis, opts.pad(), opts.stride(), opts.dilation(), opts.group(),
                                opts.channel_last());
}

CgVariablePtr deconvolution(CgVariablePtr x, int base_axis, int n_map_out, const std::vector<int>& kernel,
                            ParameterDirectory parameters, DeconvolutionOpts opts) {
  ConvParameters p =
      conv_parameters("pf::deconvolution", "deconv", true, x, base_axis, n_map_out, kernel, parameters, opts);
  return functions::deconvolution(x, p.W, p.b, base_axis, opts.pad(), opts.stride(), opts.dilation(), opts.group(),
                                  opts.channel_last(), opts.output_padding());
}

}  // namespace parametric_functions
}  // namespace nnvae
