// A variable with a scalar: add_scalar, mul_scalar, pow_scalar, r_sub_scalar,
// r_div_scalar, maximum_scalar, minimum_scalar, clip_by_value, and
// greater_equal_scalar (no gradient), with the operators that call them.
#include <cmath>

#include "elementwise.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace {

struct AddScalarOp {
  static constexpr bool kNeedsX = false, kNeedsY = false, kDifferentiable = true;
  float v;
  std::string name() const { return "add_scalar"; }
  float f(float x) const { return x + v; }
  float df(float, float) const { return 1.f; }
};

struct MulScalarOp {
  static constexpr bool kNeedsX = false, kNeedsY = false, kDifferentiable = true;
  float v;
  std::string name() const { return "mul_scalar"; }
  float f(float x) const { return x * v; }
  float df(float, float) const { return v; }
};

struct PowScalarOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  float v;
  std::string name() const { return "pow_scalar"; }
  float f(float x) const { return v == 2.f ? x * x : std::pow(x, v); }
  float df(float x, float) const { return v == 2.f ? 2.f * x : v * std::pow(x, v - 1.f); }
};

struct RSubScalarOp {
  static constexpr bool kNeedsX = false, kNeedsY = false, kDifferentiable = true;
  float v;
  std::string name() const { return "r_sub_scalar"; }
  float f(float x) const { return v - x; }
  float df(float, float) const { return -1.f; }
};

struct RDivScalarOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  float v;
  std::string name() const { return "r_div_scalar"; }
  float f(float x) const { return v / x; }
  float df(float x, float) const { return -v / (x * x); }
};

struct GreaterEqualScalarOp {
  static constexpr bool kNeedsX = false, kNeedsY = false, kDifferentiable = false;
  float v;
  std::string name() const { return "greater_equal_scalar"; }
  float f(float x) const { return x >= v ? 1.f : 0.f; }
  float df(float, float) const { return 0.f; }
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

// inplace is accepted for API compatibility; results are computed out of place.
CgVariablePtr add_scalar(CgVariablePtr x, double val, bool) {
  return detail::unary(std::move(x), AddScalarOp{float(val)});
}
CgVariablePtr mul_scalar(CgVariablePtr x, double val, bool) {
  return detail::unary(std::move(x), MulScalarOp{float(val)});
}
CgVariablePtr pow_scalar(CgVariablePtr x, double val, bool) {
  return detail::unary(std::move(x), PowScalarOp{float(val)});
}
CgVariablePtr r_sub_scalar(CgVariablePtr x, double val) { return detail::unary(std::move(x), RSubScalarOp{float(val)}); }
CgVariablePtr r_div_scalar(CgVariablePtr x, double val) { return detail::unary(std::move(x), RDivScalarOp{float(val)}); }
CgVariablePtr greater_equal_scalar(CgVariablePtr x, double val) {
  return detail::unary(std::move(x), GreaterEqualScalarOp{float(val)});
}

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

CgVariablePtr operator+(const CgVariablePtr& a, double s) { return functions::add_scalar(a, s); }
CgVariablePtr operator-(const CgVariablePtr& a, double s) { return functions::add_scalar(a, -s); }
CgVariablePtr operator*(const CgVariablePtr& a, double s) { return functions::mul_scalar(a, s); }
CgVariablePtr operator/(const CgVariablePtr& a, double s) { return functions::mul_scalar(a, 1.0 / s); }
CgVariablePtr operator+(double s, const CgVariablePtr& a) { return functions::add_scalar(a, s); }
CgVariablePtr operator-(double s, const CgVariablePtr& a) { return functions::r_sub_scalar(a, s); }
CgVariablePtr operator*(double s, const CgVariablePtr& a) { return functions::mul_scalar(a, s); }
CgVariablePtr operator/(double s, const CgVariablePtr& a) { return functions::r_div_scalar(a, s); }
CgVariablePtr operator-(const CgVariablePtr& a) { return functions::mul_scalar(a, -1.0); }

}  // namespace nnvae
