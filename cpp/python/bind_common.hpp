// nnvae._core: the conversions every binding file shares — shapes from and to
// Python, numpy views on engine arrays, values copied into them.
//
// Memory rule, so that Python can never reach freed memory: a numpy view made
// by array_view has as its base a capsule holding a copy of the array's
// Storage (a shared_ptr), so the memory lives as long as the view, whatever
// happens to the array afterwards (clear_buffer, a new buffer, the variable
// destroyed).
//
// Errors: std::invalid_argument (shape/argument errors) arrives in Python as
// ValueError through pybind11's default translation; wrong argument types
// raise TypeError (py::type_error).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "nnvae/nnvae.hpp"

namespace nnvae_py {

namespace py = pybind11;

inline const nnvae::Context kCpu{};

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// The Python type name of `obj`, for error messages.
std::string type_name(py::handle obj);

// The entries of a shape given as an int (one dimension) or a sequence of
// ints (Python ints or anything with __index__, not bool or float), negative
// ones included (a reshape's -1); an entry beyond int64 is refused naming the
// shape. `where` names the caller in errors.
std::vector<int64_t> dims_from_py(py::handle obj, const std::string& where);
// The same for a shape proper: every entry must be >= 0.
nnvae::Shape_t shape_from_py(py::handle obj, const std::string& where);

py::tuple shape_to_py(const nnvae::Shape_t& shape);

// The numpy view of `arr` (row-major float32), keeping its Storage alive.
// `what` names the array in the error raised when clear_buffer freed it.
py::array array_view(const nnvae::NdArrayPtr& arr, const std::string& what);

// Copies `value` (a number, or an array-like of exactly the array's shape)
// into `arr` (a scalar fills it). The array's buffer is (re)created if
// needed, so this also works after clear_buffer.
void assign(const nnvae::NdArrayPtr& arr, py::handle value, const std::string& what);

// A numpy copy of `arr` (a parameter or a solver state), same shape.
py::array_t<float> to_numpy(const nnvae::NdArray& arr);

}  // namespace nnvae_py
