// Two variables elementwise through broadcast nodes: pow2, maximum2, minimum2.
// x0, x1 broadcast as numpy does to one shape S; y: S.
//   y = f(x0, x1),  dx0 (+)= dy·∂f/∂x0,  dx1 (+)= dy·∂f/∂x1.
#include <cmath>

#include "same_shape_binary.hpp"

namespace nnvae {
namespace {

// x0 ^ x1: ∂/∂x0 = x1·x0^(x1 − 1), ∂/∂x1 = log(x0)·x0^x1.
struct Pow2Op {
  static const char* name() { return "pow2"; }
  static float f(float a, float b) { return std::pow(a, b); }
  static float da(float a, float b) { return b * std::pow(a, b - 1.f); }
  static float db(float a, float b) { return std::log(a) * std::pow(a, b); }
};
// Ties send the gradient to x1.
struct Maximum2Op {
  static const char* name() { return "maximum2"; }
  static float f(float a, float b) { return a > b ? a : b; }
  static float da(float a, float b) { return a > b ? 1.f : 0.f; }
  static float db(float a, float b) { return a > b ? 0.f : 1.f; }
};
struct Minimum2Op {
  static const char* name() { return "minimum2"; }
  static float f(float a, float b) { return a < b ? a : b; }
  static float da(float a, float b) { return a < b ? 1.f : 0.f; }
  static float db(float a, float b) { return a < b ? 0.f : 1.f; }
};

}  // namespace

namespace functions {

// inplace is accepted for API compatibility; the result is computed out of place.
CgVariablePtr pow2(CgVariablePtr x0, CgVariablePtr x1, bool) { return detail::broadcast_binary<Pow2Op>(x0, x1); }
CgVariablePtr maximum2(CgVariablePtr x0, CgVariablePtr x1) { return detail::broadcast_binary<Maximum2Op>(x0, x1); }
CgVariablePtr minimum2(CgVariablePtr x0, CgVariablePtr x1) { return detail::broadcast_binary<Minimum2Op>(x0, x1); }

}  // namespace functions
}  // namespace nnvae
