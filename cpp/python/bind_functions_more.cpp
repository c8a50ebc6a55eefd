// nnvae._core, the second set of engine functions (functions_more.hpp),
// added to the raw `functions` submodule that bind_engine.cpp creates. C++
// argument order; python/nnvae/functions.py gives them NNabla's names,
// defaults and argument checks.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "nnvae/nnvae.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;
namespace f = nnvae::functions;

void bind_functions_more(py::module_& m) {
  py::module_ fm = m.attr("functions");
  using P = CgVariablePtr;
  using Ints = const std::vector<int>&;
  fm.def("leaky_relu", &f::leaky_relu, "x"_a, "alpha"_a, "inplace"_a);
  fm.def("abs", &f::abs, "x"_a);
  fm.def("sqrt", &f::sqrt, "x"_a);
  fm.def("maximum_scalar", &f::maximum_scalar, "x"_a, "val"_a);
  fm.def("minimum_scalar", &f::minimum_scalar, "x"_a, "val"_a);
  // (bounds given as variables: python/nnvae/functions.py composes maximum2/minimum2)
  fm.def("clip_by_value", py::overload_cast<P, double, double>(&f::clip_by_value), "x"_a, "min"_a, "max"_a);
  fm.def("pow2", &f::pow2, "x0"_a, "x1"_a, "inplace"_a);
  fm.def("maximum2", &f::maximum2, "x0"_a, "x1"_a);
  fm.def("minimum2", &f::minimum2, "x0"_a, "x1"_a);
  fm.def("concatenate", &f::concatenate, "x"_a, "axis"_a);
  fm.def("stack", &f::stack, "x"_a, "axis"_a);
  fm.def("split", &f::split, "x"_a, "axis"_a);
  fm.def("slice", &f::slice, "x"_a, "start"_a, "stop"_a, "step"_a);
  fm.def("transpose", &f::transpose, "x"_a, "axes"_a);
  fm.def("broadcast", &f::broadcast, "x"_a, "shape"_a);
  fm.def("softmax", &f::softmax, "x"_a, "axis"_a);
  fm.def("log_softmax", &f::log_softmax, "x"_a, "axis"_a);
  fm.def("softmax_cross_entropy", &f::softmax_cross_entropy, "x"_a, "target"_a, "axis"_a);
  fm.def("binary_cross_entropy", &f::binary_cross_entropy, "x"_a, "target"_a);
  fm.def("dropout", &f::dropout, "x"_a, "p"_a, "seed"_a);
  fm.def("one_hot", &f::one_hot, "x"_a, "shape"_a);
  fm.def("max", &f::max, "x"_a, "axes"_a, "keep_dims"_a, "only_index"_a);
  fm.def("min", &f::min, "x"_a, "axes"_a, "keep_dims"_a, "only_index"_a);
  fm.def("max_with_index", [](P x, Ints axes, bool keep_dims) { return f::max_with_index(x, axes, keep_dims); },
         "x"_a, "axes"_a, "keep_dims"_a);
  fm.def("min_with_index", [](P x, Ints axes, bool keep_dims) { return f::min_with_index(x, axes, keep_dims); },
         "x"_a, "axes"_a, "keep_dims"_a);
  fm.def("batch_matmul", &f::batch_matmul, "a"_a, "b"_a, "transpose_a"_a, "transpose_b"_a);
}
