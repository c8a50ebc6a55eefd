// nnvae::functions: every function of the graph, named and ordered as in
// NNabla's Python-like C++ API. Each returns the output variable; shapes are
// checked and computed here, values when forward runs (or at once with
// auto-forward on).
#pragma once
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {
namespace functions {

// rows = prod(x.shape[:base_axis]), cols = prod(x.shape[base_axis:]);
// y = X·W + b, W: (cols, ...), b: W.shape[1:] or nullptr;
// y shape x.shape[:base_axis] + W.shape[1:].
CgVariablePtr affine(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis = 1);

// Elementwise activations.
CgVariablePtr elu(CgVariablePtr x, double alpha = 1.0);  // x >= 0 ? x : alpha(e^x - 1)
CgVariablePtr relu(CgVariablePtr x, bool inplace = false);
CgVariablePtr sigmoid(CgVariablePtr x);
CgVariablePtr tanh(CgVariablePtr x);
CgVariablePtr softplus(CgVariablePtr x, double beta = 1.0);  // log(1 + e^(beta x)) / beta
CgVariablePtr exp(CgVariablePtr x);
CgVariablePtr log(CgVariablePtr x);
CgVariablePtr identity(CgVariablePtr x);

// Two variables, broadcast as numpy does.
CgVariablePtr add2(CgVariablePtr x0, CgVariablePtr x1, bool inplace = false);
CgVariablePtr sub2(CgVariablePtr x0, CgVariablePtr x1, bool inplace = false);
CgVariablePtr mul2(CgVariablePtr x0, CgVariablePtr x1, bool inplace = false);
CgVariablePtr div2(CgVariablePtr x0, CgVariablePtr x1, bool inplace = false);

// A variable and a scalar.
CgVariablePtr add_scalar(CgVariablePtr x, double val = 1.0, bool inplace = false);
CgVariablePtr mul_scalar(CgVariablePtr x, double val = 1.0, bool inplace = false);
CgVariablePtr pow_scalar(CgVariablePtr x, double val = 1.0, bool inplace = false);
CgVariablePtr r_sub_scalar(CgVariablePtr x, double val = 1.0);  // val - x
CgVariablePtr r_div_scalar(CgVariablePtr x, double val = 1.0);  // val / x

// Reductions over `axes` (negative axes count from the end; empty = all).
CgVariablePtr sum(CgVariablePtr x, const std::vector<int>& axes = {}, bool keep_dims = false);
CgVariablePtr mean(CgVariablePtr x, const std::vector<int>& axes = {}, bool keep_dims = false);

// max(x,0) - x·t + log(1 + e^-|x|); gradient to x only.
CgVariablePtr sigmoid_cross_entropy(CgVariablePtr x, CgVariablePtr target);
// 1 where x >= val else 0; no gradient.
CgVariablePtr greater_equal_scalar(CgVariablePtr x, double val = 1.0);
// One -1 entry is inferred; inplace shares the input's buffer.
CgVariablePtr reshape(CgVariablePtr x, const std::vector<int>& shape, bool inplace = true);

// Sources without inputs and without gradients. seed -1 draws from the global
// generator; any other seed gives the node its own generator, seeded once.
CgVariablePtr randn(float mu = 0.0f, float sigma = 1.0f, const std::vector<int>& shape = {}, int seed = -1);
CgVariablePtr rand(float low = 0.0f, float high = 1.0f, const std::vector<int>& shape = {}, int seed = -1);
CgVariablePtr constant(float val = 0.0f, const std::vector<int>& shape = {});

}  // namespace functions

// Operators, as in the tutorial: variable with variable, variable with scalar
// on either side, and unary minus.
CgVariablePtr operator+(const CgVariablePtr& a, const CgVariablePtr& b);
CgVariablePtr operator-(const CgVariablePtr& a, const CgVariablePtr& b);
CgVariablePtr operator*(const CgVariablePtr& a, const CgVariablePtr& b);
CgVariablePtr operator/(const CgVariablePtr& a, const CgVariablePtr& b);
CgVariablePtr operator+(const CgVariablePtr& a, double s);
CgVariablePtr operator-(const CgVariablePtr& a, double s);
CgVariablePtr operator*(const CgVariablePtr& a, double s);
CgVariablePtr operator/(const CgVariablePtr& a, double s);
CgVariablePtr operator+(double s, const CgVariablePtr& a);
CgVariablePtr operator-(double s, const CgVariablePtr& a);
CgVariablePtr operator*(double s, const CgVariablePtr& a);
CgVariablePtr operator/(double s, const CgVariablePtr& a);
CgVariablePtr operator-(const CgVariablePtr& a);

}  // namespace nnvae

// The second set of functions (softmax, concatenate, max, batch_matmul, ...).
#include "nnvae/functions_more.hpp"

// Convolution, deconvolution and pooling.
#include "nnvae/functions_conv.hpp"

// Batch normalisation, the top-n error and image augmentation.
#include "nnvae/functions_norm.hpp"
