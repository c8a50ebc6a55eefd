// nnvae._core, functions part: the raw engine functions in the submodule
// _core.functions, in C++ argument order. python/nnvae/functions.py gives
// them NNabla's names, defaults and argument checks.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "nnvae/nnvae.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;
namespace f = nnvae::functions;

void bind_engine(py::module_& m) {
  auto fm = m.def_submodule("functions", "Raw engine functions (use nnvae.functions).");
  using P = CgVariablePtr;
  fm.def("affine", [](P x, P w, std::optional<P> b, int base_axis) { return f::affine(x, w, b.value_or(nullptr), base_axis); },
         "x"_a, "weight"_a, "bias"_a, "base_axis"_a);
  fm.def("elu", &f::elu, "x"_a, "alpha"_a);
  fm.def("relu", &f::relu, "x"_a, "inplace"_a);
  fm.def("sigmoid", &f::sigmoid, "x"_a);
  fm.def("tanh", &f::tanh, "x"_a);
  fm.def("softplus", &f::softplus, "x"_a, "beta"_a);
  fm.def("exp", &f::exp, "x"_a);
  fm.def("log", &f::log, "x"_a);
  fm.def("identity", &f::identity, "x"_a);
  fm.def("add2", &f::add2, "x0"_a, "x1"_a, "inplace"_a);
  fm.def("sub2", &f::sub2, "x0"_a, "x1"_a, "inplace"_a);
  fm.def("mul2", &f::mul2, "x0"_a, "x1"_a, "inplace"_a);
  fm.def("div2", &f::div2, "x0"_a, "x1"_a, "inplace"_a);
  fm.def("add_scalar", &f::add_scalar, "x"_a, "val"_a, "inplace"_a);
  fm.def("mul_scalar", &f::mul_scalar, "x"_a, "val"_a, "inplace"_a);
  fm.def("pow_scalar", &f::pow_scalar, "x"_a, "val"_a, "inplace"_a);
  fm.def("r_sub_scalar", &f::r_sub_scalar, "x"_a, "val"_a);
  fm.def("r_div_scalar", &f::r_div_scalar, "x"_a, "val"_a);
  fm.def("sum", &f::sum, "x"_a, "axes"_a, "keep_dims"_a);
  fm.def("mean", &f::mean, "x"_a, "axes"_a, "keep_dims"_a);
  fm.def("sigmoid_cross_entropy", &f::sigmoid_cross_entropy, "x"_a, "target"_a);
  fm.def("greater_equal_scalar", &f::greater_equal_scalar, "x0"_a, "val"_a);
  fm.def("reshape", &f::reshape, "x"_a, "shape"_a, "inplace"_a);
  fm.def("randn", &f::randn, "mu"_a, "sigma"_a, "shape"_a, "seed"_a);
  fm.def("rand", &f::rand, "low"_a, "high"_a, "shape"_a, "seed"_a);
  fm.def("constant", &f::constant, "val"_a, "shape"_a);
}
