// squared_error: y = (x0 − x1)², elementwise.
// x0, x1: the same number of axes, each axis of equal size in both or of
// size 1 in one of them (then repeated, as NNabla's binary functions
// broadcast); y: the larger size on every axis.
//   ∂y/∂x0 = 2(x0 − x1),  ∂y/∂x1 = −2(x0 − x1),
// summed over the axes an input was repeated along.
#include "nnvae/functions.hpp"
#include "same_shape_binary.hpp"

namespace nnvae {
namespace {

struct SquaredErrorOp {
  static const char* name() { return "squared_error"; }
  static float f(float a, float b) { return (a - b) * (a - b); }
  static float da(float a, float b) { return 2.f * (a - b); }
  static float db(float a, float b) { return 2.f * (b - a); }
};

}  // namespace

CgVariablePtr functions::squared_error(CgVariablePtr x0, CgVariablePtr x1) {
  // NNabla broadcasts only between inputs with the same number of axes.
  if (x0 && x1 && x0->shape().size() != x1->shape().size())
    detail::shape_error("squared_error: x0 has shape " + shape_str(x0->shape()) + " and x1 has shape " +
                        shape_str(x1->shape()) + "; they must have the same number of axes (" +
                        std::to_string(x0->shape().size()) + " vs " + std::to_string(x1->shape().size()) +
                        "), each of equal size or of size 1 in one of them");
  return detail::broadcast_binary<SquaredErrorOp>(std::move(x0), std::move(x1));
}

}  // namespace nnvae
