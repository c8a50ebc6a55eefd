// Elementwise functions of one input, second set: leaky_relu, abs, sqrt,
// maximum_scalar, minimum_scalar, clip_by_value. y = f(x), dx (+)= dy·f'(x, y)
// through the Unary node of elementwise.hpp.
#include <cmath>

#include "elementwise.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace {

struct LeakyReluOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  float alpha;
  std::string name() const { return "leaky_relu"; }
  float f(float x) const { return x > 0.f ? x : alpha * x; }
  float df(float x, float) const { return x > 0.f ? 1.f : alpha; }
};

// d|x|/dx taken as +1 at 0.
struct AbsOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  std::string name() const { return "abs"; }
  float f(float x) const { return std::fabs(x); }
  float df(float x, float) const { return x < 0.f ? -1.f : 1.f; }
};

// d√x/dx = 1 / (2√x) = 1 / (2y).
struct SqrtOp {
  static constexpr bool kNeedsX = false, kNeedsY = true, kDifferentiable = true;
  std::string name() const { return "sqrt"; }
  float f(float x) const { return std::sqrt(x); }
  float df(float, float y) const { return 0.5f / y; }
};

struct MaximumScalarOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  float v;
  std::string name() const { return "maximum_scalar"; }
  float f(float x) const { return x > v ? x : v; }
  float df(float x, float) const { return x > v ? 1.f : 0.f; }
};

struct MinimumScalarOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  float v;
  std::string name() const { return "minimum_scalar"; }
  float f(float x) const { return x < v ? x : v; }
  float df(float x, float) const { return x < v ? 1.f : 0.f; }
};

// minimum_scalar(maximum_scalar(x, lo), hi) in one pass: the gradient passes
// where x > lo and max(x, lo) < hi, i.e. lo < x < hi.
struct ClipOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  float lo, hi;
  std::string name() const { return "clip_by_value"; }
  float f(float x) const {
    const float m = x > lo ? x : lo;
    return m < hi ? m : hi;
  }
  float df(float x, float) const { return (x > lo && x < hi) ? 1.f : 0.f; }
};

}  // namespace

namespace functions {

// inplace is accepted for API compatibility; the result is computed out of place.
CgVariablePtr leaky_relu(CgVariablePtr x, double alpha, bool) {
  return detail::unary(std::move(x), LeakyReluOp{float(alpha)});
}
CgVariablePtr abs(CgVariablePtr x) { return detail::unary(std::move(x), AbsOp{}); }
CgVariablePtr sqrt(CgVariablePtr x) { return detail::unary(std::move(x), SqrtOp{}); }
CgVariablePtr maximum_scalar(CgVariablePtr x, double val) {
  return detail::unary(std::move(x), MaximumScalarOp{float(val)});
}
CgVariablePtr minimum_scalar(CgVariablePtr x, double val) {
  return detail::unary(std::move(x), MinimumScalarOp{float(val)});
}
CgVariablePtr clip_by_value(CgVariablePtr x, double min, double max) {
  return detail::unary(std::move(x), ClipOp{float(min), float(max)});
}
CgVariablePtr clip_by_value(CgVariablePtr x, CgVariablePtr min, CgVariablePtr max) {
  if (!x || !min || !max) detail::shape_error("clip_by_value: x, min and max must not be null");
  if (min->shape() != x->shape() || max->shape() != x->shape())
    detail::shape_error("clip_by_value: min (shape " + shape_str(min->shape()) + ") and max (shape " +
                        shape_str(max->shape()) + ") must have x's shape " + shape_str(x->shape()));
  return minimum2(maximum2(std::move(x), std::move(min)), std::move(max));
}

}  // namespace functions
}  // namespace nnvae
