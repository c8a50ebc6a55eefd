// nnvae::functions: every function of the graph, named and ordered as in
// NNabla's Python-like C++ API. Each returns its output variable, whose shape
// is checked and computed at once; values come when forward runs (or at once
// with auto-forward on). Argument errors throw std::invalid_argument naming
// the function, the argument and the shapes.
//
// What each function computes, its arguments and their defaults are in the
// function table, functions.def; the declarations of its rows are made here
// from it. The functions the table cannot declare (overloads, several
// outputs, several inputs in one vector) are declared by hand below it.
#pragma once
#include <utility>
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {
namespace functions {

#include "nnvae/detail/open_table.hpp"
#define VAR(n) CgVariablePtr n
#define OPT_VAR(n) CgVariablePtr n
#define REAL(n, ...) double n = __VA_ARGS__
#define FLOAT(n, ...) float n = __VA_ARGS__
#define INT(n, ...) int n = __VA_ARGS__
#define FLAG(n, ...) bool n = __VA_ARGS__
#define INTS(n, ...) const std::vector<int>& n = __VA_ARGS__
#define SHAPE(n, ...) const std::vector<int>& n = __VA_ARGS__
#define AXIS(n, ...) int n = __VA_ARGS__
#define SPATIAL(n) const std::vector<int>& n = {}
#define SPATIAL_OPTS(n) const std::vector<int>& n
#define FLAG_OPTS(n, ...) bool n
#define INTS_REQ(n) const std::vector<int>& n
#define SHAPE_REQ(n) const std::vector<int>& n
#define NNVAE_FUNCTION(name, type, form, doc, args) NNVAE_DECLARE_##form(name, args)
#define NNVAE_DECLARE_GEN(name, args) CgVariablePtr name args;
#define NNVAE_DECLARE_CPP(name, args) CgVariablePtr name args;
#define NNVAE_DECLARE_HAND(name, args)
#include "nnvae/functions.def"
#undef NNVAE_DECLARE_GEN
#undef NNVAE_DECLARE_CPP
#undef NNVAE_DECLARE_HAND
#include "nnvae/detail/close_table.hpp"

// --- by hand: the rows of form HAND ---------------------------------------------
// Bounds given as numbers, or as variables of x's shape.
CgVariablePtr clip_by_value(CgVariablePtr x, double min, double max);
CgVariablePtr clip_by_value(CgVariablePtr x, CgVariablePtr min, CgVariablePtr max);
// x: a list of variables.
CgVariablePtr concatenate(const std::vector<CgVariablePtr>& x, int axis = -1);
CgVariablePtr stack(const std::vector<CgVariablePtr>& x, int axis = 0);
// x.shape[axis] outputs.
std::vector<CgVariablePtr> split(CgVariablePtr x, int axis = 0);
// only_index: the index output alone (a float; no gradient).
CgVariablePtr max(CgVariablePtr x, const std::vector<int>& axes = {}, bool keep_dims = false, bool only_index = false);
CgVariablePtr min(CgVariablePtr x, const std::vector<int>& axes = {}, bool keep_dims = false, bool only_index = false);
// (values, indices): max and max(..., only_index=true) at once.
std::pair<CgVariablePtr, CgVariablePtr> max_with_index(CgVariablePtr x, const std::vector<int>& axes = {},
                                                       bool keep_dims = false);
std::pair<CgVariablePtr, CgVariablePtr> min_with_index(CgVariablePtr x, const std::vector<int>& axes = {},
                                                       bool keep_dims = false);

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

// The short forms of convolution, deconvolution and pooling (option structs).
#include "nnvae/convolution_opts.hpp"
