#include "nnvae/parametric_normalization.hpp"

#include <stdexcept>
#include <string>

namespace nnvae {
namespace parametric_functions {

CgVariablePtr batch_normalization(CgVariablePtr x, bool batch_stat, ParameterDirectory parameters,
                                  BatchNormalizationOpts opts) {
  const std::string f = "pf::batch_normalization";
  if (!x) throw std::invalid_argument(f + ": the input is null");
  const Shape_t& s = x->shape();
  const int nd = static_cast<int>(s.size());
  if (opts.axes().size() != 1)
    throw std::invalid_argument(f + ": axes must name exactly one axis (the channel axis), got " +
                                std::to_string(opts.axes().size()) + " for input shape " + shape_str(s));
  const int axis = opts.axes()[0] < 0 ? opts.axes()[0] + nd : opts.axes()[0];
  if (axis < 0 || axis >= nd)
    throw std::invalid_argument(f + ": axis " + std::to_string(opts.axes()[0]) + " is out of range for input shape " +
                                shape_str(s));
  Shape_t stat(s.size(), 1);
  stat[axis] = s[axis];
  using N = BatchNormalizationNames;
  ConstantInitializer zeros(0.f), ones(1.f);
  auto get = [&](const char* name, Initializer* init, bool need_grad) {
    try {
      return parameters.get_parameter_or_create(name, stat, init, need_grad);
    } catch (const std::invalid_argument& e) {  // an existing one of another shape
      throw std::invalid_argument(f + ": " + e.what() + " (input shape " + shape_str(s) + ", channel axis " +
                                  std::to_string(axis) + ")");
    }
  };
  auto beta = get(N::beta, &zeros, true);
  auto gamma = get(N::gamma, &ones, true);
  auto mean = get(N::mean, &zeros, false);
  auto variance = get(N::variance, &ones, false);
  if (opts.fix_parameters()) {  // the same arrays, seen without a gradient
    beta = std::make_shared<CgVariable>(beta->variable(), false);
    gamma = std::make_shared<CgVariable>(gamma->variable(), false);
  }
  return functions::batch_normalization(x, beta, gamma, mean, variance, {axis}, opts.decay_rate(), opts.eps(),
                                        batch_stat);
}

}  // namespace parametric_functions
}  // namespace nnvae
