// Elementwise functions of one input: elu, relu, leaky_relu, sigmoid, tanh,
// tanh_shrink, softplus, exp, log, identity, abs, sqrt. y = f(x), dx (+)= dy·f'(x, y)
// through the Unary node of elementwise.hpp. exp goes through vmath
// (vectorisable) rather than libm, so the loops run 16 floats at a time.
#include <cmath>

#include "elementwise.hpp"
#include "elu.hpp"  // EluOp
#include "nnvae/functions.hpp"
#include "nnvae/kernels/vmath.hpp"

namespace nnvae {
namespace {

struct ReluOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  // Runs as a product's epilogue where the graph allows (graph.cpp).
  static constexpr bool kFusable = true;
  std::string name() const { return "relu"; }
  float f(float x) const { return x > 0.f ? x : 0.f; }
  float df(float x, float) const { return x > 0.f ? 1.f : 0.f; }
};

struct SigmoidOp {
  static constexpr bool kNeedsX = false, kNeedsY = true, kDifferentiable = true;
  std::string name() const { return "sigmoid"; }
  float f(float x) const { return vmath::sigmoid(x); }
  float df(float, float y) const { return y * (1.f - y); }
};

struct TanhOp {
  static constexpr bool kNeedsX = false, kNeedsY = true, kDifferentiable = true;
  std::string name() const { return "tanh"; }
  float f(float x) const { return std::tanh(x); }
  float df(float, float y) const { return 1.f - y * y; }
};

// x − tanh(x); d/dx = 1 − (1 − tanh²(x)) = tanh²(x).
struct TanhShrinkOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  std::string name() const { return "tanh_shrink"; }
  float f(float x) const { return x - std::tanh(x); }
  float df(float x, float) const {
    const float t = std::tanh(x);
    return t * t;
  }
};

// log(1 + e^(βx)) / β = (max(βx, 0) + log1p(e^-|βx|)) / β; derivative sigmoid(βx).
struct SoftplusOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  float beta;
  std::string name() const { return "softplus"; }
  float f(float x) const {
    float bx = beta * x;
    return (std::max(bx, 0.f) + vmath::log1p_nonneg(vmath::exp(-std::fabs(bx)))) / beta;
  }
  float df(float x, float) const { return vmath::sigmoid(beta * x); }
};

struct ExpOp {
  static constexpr bool kNeedsX = false, kNeedsY = true, kDifferentiable = true;
  std::string name() const { return "exp"; }
  float f(float x) const { return vmath::exp(x); }
  float df(float, float y) const { return y; }
};

struct LogOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  std::string name() const { return "log"; }
  float f(float x) const { return std::log(x); }
  float df(float x, float) const { return 1.f / x; }
};

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

struct IdentityOp {
  static constexpr bool kNeedsX = false, kNeedsY = false, kDifferentiable = true;
  std::string name() const { return "identity"; }
  float f(float x) const { return x; }
  float df(float, float) const { return 1.f; }
};

}  // namespace

namespace functions {

CgVariablePtr elu(CgVariablePtr x, double alpha) { return detail::unary(std::move(x), EluOp{float(alpha)}); }
// inplace is accepted for API compatibility; the result is computed out of place.
CgVariablePtr relu(CgVariablePtr x, bool) { return detail::unary(std::move(x), ReluOp{}); }
CgVariablePtr tanh_shrink(CgVariablePtr x) { return detail::unary(std::move(x), TanhShrinkOp{}); }
CgVariablePtr sigmoid(CgVariablePtr x) { return detail::unary(std::move(x), SigmoidOp{}); }
CgVariablePtr tanh(CgVariablePtr x) { return detail::unary(std::move(x), TanhOp{}); }
CgVariablePtr softplus(CgVariablePtr x, double beta) {
  if (!(beta > 0)) detail::shape_error("softplus: beta must be > 0, got " + std::to_string(beta));
  return detail::unary(std::move(x), SoftplusOp{float(beta)});
}
CgVariablePtr exp(CgVariablePtr x) { return detail::unary(std::move(x), ExpOp{}); }
CgVariablePtr log(CgVariablePtr x) { return detail::unary(std::move(x), LogOp{}); }
CgVariablePtr identity(CgVariablePtr x) { return detail::unary(std::move(x), IdentityOp{}); }

// inplace is accepted for API compatibility; the result is computed out of place.
CgVariablePtr leaky_relu(CgVariablePtr x, double alpha, bool) {
  return detail::unary(std::move(x), LeakyReluOp{float(alpha)});
}
CgVariablePtr abs(CgVariablePtr x) { return detail::unary(std::move(x), AbsOp{}); }
CgVariablePtr sqrt(CgVariablePtr x) { return detail::unary(std::move(x), SqrtOp{}); }

}  // namespace functions
}  // namespace nnvae
