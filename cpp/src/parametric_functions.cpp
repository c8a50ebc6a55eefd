#include "nnvae/parametric_functions.hpp"

#include <stdexcept>

namespace nnvae {
namespace parametric_functions {

CgVariablePtr affine(CgVariablePtr x, int base_axis, int n_out, ParameterDirectory parameters, AffineOpts opts) {
  if (!x) throw std::invalid_argument("pf::affine: the input is null");
  const Shape_t& s = x->shape();
  int nd = static_cast<int>(s.size());
  if (base_axis < 0 || base_axis >= nd)
    throw std::invalid_argument("pf::affine: base_axis " + std::to_string(base_axis) +
                                " is out of range for input shape " + shape_str(s));
  if (n_out <= 0) throw std::invalid_argument("pf::affine: n_out must be > 0, got " + std::to_string(n_out));
  int64_t n_in = 1;
  for (int i = base_axis; i < nd; ++i) n_in *= s[i];
  ParameterDirectory scope = parameters["affine"];
  UniformInitializer glorot(-calc_uniform_lim_glorot(static_cast<int>(n_in), n_out),
                            calc_uniform_lim_glorot(static_cast<int>(n_in), n_out));
  auto W = scope.get_parameter_or_create("W", {n_in, n_out}, opts.w_init() ? opts.w_init() : &glorot);
  CgVariablePtr b;
  if (opts.with_bias()) {
    ConstantInitializer zero(0.f);
    b = scope.get_parameter_or_create("b", {n_out}, opts.b_init() ? opts.b_init() : &zero);
  }
  return functions::affine(x, W, b, base_axis);
}

}  // namespace parametric_functions
}  // namespace nnvae
