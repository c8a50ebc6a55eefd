// nnvae::functions, the second set: the functions models around a VAE reach
// for next (a conditional VAE, a β-VAE, a classifier on the latent space).
// Names, argument order and meanings follow NNabla's functions; an axis
// argument may be negative (counted from the end). Like the first set, each
// returns its output variable with the shape computed at once.
#pragma once
#include <utility>
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {
namespace functions {

// --- elementwise, one input --------------------------------------------------
CgVariablePtr leaky_relu(CgVariablePtr x, double alpha = 0.1, bool inplace = false);  // x > 0 ? x : alpha·x
CgVariablePtr abs(CgVariablePtr x);                                                    // |x|; gradient sign(x), +1 at 0
CgVariablePtr sqrt(CgVariablePtr x);                                                   // √x
CgVariablePtr maximum_scalar(CgVariablePtr x, double val = 1.0);  // x > val ? x : val; gradient where x > val
CgVariablePtr minimum_scalar(CgVariablePtr x, double val = 1.0);  // x < val ? x : val; gradient where x < val
// min(max(x, min), max): the gradient passes where min < x < max.
CgVariablePtr clip_by_value(CgVariablePtr x, double min, double max);
// minimum2(maximum2(x, min), max) with bounds of x's shape.
CgVariablePtr clip_by_value(CgVariablePtr x, CgVariablePtr min, CgVariablePtr max);

// --- elementwise, two inputs broadcast as numpy does ----------------------------
CgVariablePtr pow2(CgVariablePtr x0, CgVariablePtr x1, bool inplace = false);  // x0 ^ x1
CgVariablePtr maximum2(CgVariablePtr x0, CgVariablePtr x1);  // ties: the gradient goes to x1
CgVariablePtr minimum2(CgVariablePtr x0, CgVariablePtr x1);  // ties: the gradient goes to x1

// --- shapes ---------------------------------------------------------------------
// Joins arrays along an existing axis (default: the last); the other axes must agree.
CgVariablePtr concatenate(const std::vector<CgVariablePtr>& x, int axis = -1);
// Joins arrays of one shape along a new axis (0 .. ndim).
CgVariablePtr stack(const std::vector<CgVariablePtr>& x, int axis = 0);
// x.shape[axis] arrays, each x at one index of `axis` with that axis removed.
std::vector<CgVariablePtr> split(CgVariablePtr x, int axis = 0);
// Python's x[start:stop:step] per axis; negative start/stop count from the
// end. Empty vectors mean every axis whole; shorter vectors apply to the
// last axes. A stop of -(size + 1) with a negative step runs through index 0.
CgVariablePtr slice(CgVariablePtr x, const std::vector<int>& start = {}, const std::vector<int>& stop = {},
                    const std::vector<int>& step = {});
// y.shape[d] = x.shape[axes[d]].
CgVariablePtr transpose(CgVariablePtr x, const std::vector<int>& axes);
// x repeated along its axes of size 1 (aligned to the end of `shape`) to `shape`.
CgVariablePtr broadcast(CgVariablePtr x, const std::vector<int>& shape);

// --- normalisation and losses ------------------------------------------------------
CgVariablePtr softmax(CgVariablePtr x, int axis = -1);
CgVariablePtr log_softmax(CgVariablePtr x, int axis = -1);
// −log softmax(x)[label] along `axis`; target holds integer labels with
// x's shape except 1 at `axis` (a negative label gives loss 0); the output
// has target's shape. No gradient to target.
CgVariablePtr softmax_cross_entropy(CgVariablePtr x, CgVariablePtr target, int axis = -1);
// −(t·log x + (1 − t)·log(1 − x)) for probabilities x; gradients to x and t.
CgVariablePtr binary_cross_entropy(CgVariablePtr x, CgVariablePtr target);

// --- random and indices ----------------------------------------------------------------
// x / (1 − p) where a uniform draw u >= p, else 0, 0 <= p < 1; a new mask at
// each forward. seed -1 draws from the global generator; any other seed
// gives the node its own generator.
CgVariablePtr dropout(CgVariablePtr x, double p = 0.5, int seed = -1);
// x: (..., len(shape)) integer indices (negative ones count from the end of
// their class axis, those outside give all zeros); y: x.shape[:-1] + shape.
// No gradient.
CgVariablePtr one_hot(CgVariablePtr x, const std::vector<int>& shape);

// --- max / min over axes ------------------------------------------------------------------
// Over `axes` (empty = all). The gradient goes to the first extreme element.
// only_index gives the position of that element instead (as a float, counted
// in row-major order over the reduced axes; no gradient).
CgVariablePtr max(CgVariablePtr x, const std::vector<int>& axes = {}, bool keep_dims = false, bool only_index = false);
CgVariablePtr min(CgVariablePtr x, const std::vector<int>& axes = {}, bool keep_dims = false, bool only_index = false);
// (values, indices), as max and max(..., only_index=true) together.
std::pair<CgVariablePtr, CgVariablePtr> max_with_index(CgVariablePtr x, const std::vector<int>& axes = {},
                                                       bool keep_dims = false);
std::pair<CgVariablePtr, CgVariablePtr> min_with_index(CgVariablePtr x, const std::vector<int>& axes = {},
                                                       bool keep_dims = false);

// --- products ------------------------------------------------------------------------------
// a: (..., P, Q), b: (..., Q, R) (each last pair transposed first when asked);
// y: (..., P, R). Both have the same ndim >= 3; batch axes of size 1 broadcast.
CgVariablePtr batch_matmul(CgVariablePtr a, CgVariablePtr b, bool transpose_a = false, bool transpose_b = false);

}  // namespace functions
}  // namespace nnvae
