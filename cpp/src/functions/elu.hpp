// elu: f(x) = x for x >= 0, alpha·(e^x − 1) below; f'(x) = 1 for x >= 0,
// alpha·e^x below. The one definition behind functions::elu, whether it runs
// on its own or as the epilogue of the product that computes its input
// (elementwise.hpp's Unary). The derivative is taken from the input x, not
// from the output (alpha·e^x = y + alpha would lose the small values far
// below zero to rounding). e^x is only needed for x < 0: vmath's
// exp_nonpositive, about half of exp's work (the forward loop measured 7.5 ->
// 4.3 ms on 8.4M floats, one AVX2 core).
#pragma once
#include <string>

#include "nnvae/kernels/vmath.hpp"

namespace nnvae {

struct EluOp {
  static constexpr bool kNeedsX = true, kNeedsY = false, kDifferentiable = true;
  // Runs as a product's epilogue where the graph allows (graph.cpp).
  static constexpr bool kFusable = true;
  float alpha;
  std::string name() const { return "elu"; }
  float f(float x) const { return x >= 0.f ? x : alpha * (vmath::exp_nonpositive(x) - 1.f); }
  float df(float x, float) const { return x >= 0.f ? 1.f : alpha * vmath::exp_nonpositive(x); }
};

}  // namespace nnvae
