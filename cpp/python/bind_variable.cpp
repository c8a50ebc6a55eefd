// nnvae._core, variable part: Variable (a CgVariable) with its numpy views
// .d / .g, Function (a variable's parent) and the arithmetic operators. The
// public Python API lives in python/nnvae/; this file is the thin layer under it.
//
// Memory rules, so that Python can never reach freed memory:
//  * Variable.d / .g are numpy views made by array_view (bind_common.hpp):
//    each keeps the memory it shows alive.
//  * Variable.from_numpy_array copies the array's values (as NNabla does):
//    the engine never points into memory numpy may resize or free.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "bind_common.hpp"
#include "nnvae/nnvae.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;
using namespace nnvae_py;
namespace f = nnvae::functions;

namespace {

// from_numpy_array: the values copied into the variable's own buffer, as
// NNabla does (the array may be resized, freed or written afterwards without
// reaching the variable). Any array-like of numbers, converted to float32.
CgVariablePtr variable_from_numpy(py::handle data, py::handle grad, bool need_grad) {
  const std::string what = "Variable.from_numpy_array";
  if (data.is_none() || py::isinstance<py::str>(data) || py::isinstance<py::bytes>(data) ||
      py::isinstance<CgVariable>(data))
    throw py::type_error(what + ": data must be a numpy array or array-like of numbers, got " + type_name(data));
  FloatArray a = FloatArray::ensure(data);
  if (!a) throw py::type_error(what + ": cannot convert a " + type_name(data) + " to float32 numbers");
  auto v = std::make_shared<CgVariable>(Shape_t(a.shape(), a.shape() + a.ndim()), need_grad);
  assign(v->variable()->data(), a, what);
  if (!grad.is_none()) assign(v->variable()->grad(), grad, what + ": grad");
  return v;
}

// The shape of x.reshape(shape, unlink=True): F.reshape's, which infers one
// -1 entry and checks the size, found by placing a reshape of a leaf of x's
// shape (no buffer, nothing computed) on this thread with auto-forward off.
// An entry beyond F.reshape's int is taken as given (the sizes must match).
Shape_t unlinked_reshape(const CgVariable& x, py::handle shape) {
  const std::string where = "Variable.reshape";
  std::vector<int64_t> dims = dims_from_py(shape, where);
  std::vector<int> target;
  for (int64_t d : dims)
    if (d >= INT_MIN && d <= INT_MAX) target.push_back(static_cast<int>(d));
  if (target.size() != dims.size()) {
    if (std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; }))
      throw std::invalid_argument(where + ": shape " + shape_str(dims) + " has an entry beyond 2**31 - 1 besides "
                                  "a negative one; give every entry");
    return dims;
  }
  ThreadAutoForwardScope off(false);
  try {
    return f::reshape(std::make_shared<CgVariable>(x.shape()), target, true)->shape();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
}

// `obj` as a plain number (int, float, bool, numpy scalar; not an array,
// not complex), for the operators.
bool number_value(py::handle obj, double& out) {
  if (py::isinstance<py::array>(obj) || py::isinstance<py::str>(obj) || !PyNumber_Check(obj.ptr())) return false;
  out = PyFloat_AsDouble(obj.ptr());
  if (out == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  return true;
}

// NNabla's type name of a function from the engine's name (which is the
// Python function's, and stays in the engine's messages and the profile):
// the function table's (functions.def); a node of no row keeps its name.
std::string nnabla_type_name(const std::string& name) {
  const FunctionRow* row = find_function(name);
  return row ? row->nnabla_type : name;
}

// The variables whose values are indices (the index outputs of F.max /
// F.min): NNabla holds those as uint64, so Python reads their .d as uint64.
// Keyed by the engine's Variable, which unlinked copies share; each entry
// holds a weak pointer, so that a later variable at a freed one's address is
// not taken for it. Touched only with the GIL held.
std::unordered_map<const Variable*, std::weak_ptr<Variable>>& index_variables() {
  static auto* table = new std::unordered_map<const Variable*, std::weak_ptr<Variable>>();
  return *table;
}

bool holds_indices(const CgVariable& v) {
  auto it = index_variables().find(v.variable().get());
  return it != index_variables().end() && it->second.lock() == v.variable();
}

void set_holds_indices(const CgVariable& v, bool on) {
  auto& table = index_variables();
  for (auto it = table.begin(); it != table.end();) it = it->second.expired() ? table.erase(it) : std::next(it);
  if (on)
    table[v.variable().get()] = v.variable();
  else
    table.erase(v.variable().get());
}

}  // namespace

void bind_variable(py::module_& m) {
  py::class_<CgFunction, CgFunctionPtr>(m, "Function",
                                        "The function a variable was computed by (Variable.parent).")
      .def_property_readonly(
          "name", [](const CgFunction& fn) { return nnabla_type_name(fn.function->name()); },
          "NNabla's type name of the function, e.g. \"Affine\", \"ELU\", \"SigmoidCrossEntropy\".")
      .def_property_readonly("inputs", [](const CgFunction& fn) { return fn.inputs; })
      .def("__repr__", [](const CgFunction& fn) { return nnabla_type_name(fn.function->name()); });

  py::class_<CgVariable, CgVariablePtr> cls(m, "Variable", R"doc(
A node of the computation graph: a float32 array (.d) and its gradient (.g).

Variable(shape=(), need_grad=False) creates a leaf (an input or a parameter);
functions in nnvae.functions create the others. .d and .g are numpy views on
the engine's memory: writes through them reach the engine, and a view stays
valid after the variable is gone.)doc");

  cls.def(py::init([](py::handle shape, bool need_grad) {
            return std::make_shared<CgVariable>(shape_from_py(shape, "Variable"), need_grad);
          }),
          "shape"_a = py::tuple(), "need_grad"_a = false)
      .def_static("from_numpy_array", &variable_from_numpy, "data"_a, "grad"_a = py::none(), "need_grad"_a = false,
                  "A Variable holding a copy of `data` (and of `grad`), as float32.")
      .def_property_readonly("shape", [](const CgVariable& v) { return shape_to_py(v.shape()); })
      .def_property_readonly("ndim", [](const CgVariable& v) { return v.variable()->ndim(); })
      .def_property_readonly("size", [](const CgVariable& v) { return v.variable()->size(); })
      .def_property(
          "d",
          [](const CgVariable& v) -> py::array {
            py::array view = array_view(v.variable()->data(), "Variable.d");
            if (!holds_indices(v)) return view;
            // Indices: a read-only uint64 copy (the engine keeps them as
            // floats, exact below 2**24); assigning to .d still writes.
            py::array indices = view.attr("astype")("uint64");
            indices.attr("setflags")("write"_a = false);
            return indices;
          },
          [](CgVariable& v, py::handle value) { assign(v.variable()->data(), value, "Variable.d"); },
          "The data as a numpy float32 view (indices from F.max / F.min: a read-only uint64 copy); "
          "assigning copies values in (a scalar fills).")
      .def_property(
          "_holds_indices", [](const CgVariable& v) { return holds_indices(v); }, &set_holds_indices,
          "Whether .d reads as uint64 indices (set by F.max / F.min for their index outputs).")
      .def_property(
          "g", [](const CgVariable& v) { return array_view(v.variable()->grad(), "Variable.g"); },
          [](CgVariable& v, py::handle value) { assign(v.variable()->grad(), value, "Variable.g"); },
          "The gradient as a numpy float32 view; assigning copies values in (a scalar fills).")
      .def_property("need_grad", &CgVariable::need_grad, &CgVariable::set_need_grad,
                    "Whether backward computes this variable's gradient (leaves, and outputs of randn/rand/"
                    "constant marked explicitly); other outputs need one when any input does.")
      .def_property("persistent", &CgVariable::persistent, &CgVariable::set_persistent,
                    "A persistent variable keeps its buffers when clear_buffer frees others.")
      .def_property_readonly("parent", &CgVariable::parent, "The Function that computes this variable, or None.")
      .def(
          "_unlinked",
          [](const CgVariable& v, bool need_grad) { return std::make_shared<CgVariable>(v.variable(), need_grad); },
          "need_grad"_a, "A leaf sharing this variable's data and grad arrays (no parent).")
      .def(
          "_view",
          [](const CgVariable& v, py::handle shape, bool need_grad) {
            // A leaf of another shape (same size) over the same data and grad
            // buffers; both are made to exist first so that later writes
            // through either variable reach the other.
            auto out = std::make_shared<CgVariable>(unlinked_reshape(v, shape), need_grad);
            for (bool grad : {false, true}) {
              const NdArrayPtr& src = grad ? v.variable()->grad() : v.variable()->data();
              array_view(src, grad ? "Variable.reshape: grad" : "Variable.reshape: data");  // allocates, checks
              (grad ? out->variable()->grad() : out->variable()->data())->share_from(*src);
            }
            return out;
          },
          "shape"_a, "need_grad"_a)
      .def(
          "_set_array",
          [](CgVariable& v, bool grad, const CgVariable& src, bool src_grad) {
            // v.data / v.grad = another variable's array (shared, not copied).
            NdArrayPtr arr = src_grad ? src.variable()->grad() : src.variable()->data();
            if (grad) v.variable()->set_grad(arr);
            else v.variable()->set_data(arr);
          },
          "grad"_a, "src"_a, "src_grad"_a)
      .def(
          "forward",
          [](CgVariable& v, bool clear_buffer, bool clear_no_need_grad) {
            py::gil_scoped_release nogil;
            v.forward(clear_buffer, clear_no_need_grad);
          },
          "clear_buffer"_a = false, "clear_no_need_grad"_a = false)
      .def(
          "backward",
          [](CgVariable& v, py::handle grad, bool clear_buffer) {
            NdArrayPtr seed;  // null: start from the grad buffer as it is
            if (!grad.is_none()) {
              seed = std::make_shared<NdArray>(v.shape());
              assign(seed, grad, "Variable.backward: grad");
            }
            py::gil_scoped_release nogil;
            v.backward(seed, clear_buffer);
          },
          "grad"_a = 1, "clear_buffer"_a = false,
          "Back-propagates from this variable, seeded with `grad` (a number or an array of its shape; "
          "None uses the current .g).")
      .def("__repr__", [](const CgVariable& v) {
        return "<Variable(" + shape_str(v.shape()) + ", need_grad=" + (v.need_grad() ? "True" : "False") + ")>";
      });

  // numpy must not treat a Variable as an array-like in mixed arithmetic:
  // `array + x` then raises TypeError instead of building an object array.
  cls.attr("__array_ufunc__") = py::none();

  // Operators: variable with variable (broadcasting), or with a number on
  // either side. Any other operand gives NotImplemented, so Python raises
  // its usual TypeError ("unsupported operand type(s)").
  using V = const CgVariablePtr&;
  using VV = CgVariablePtr (*)(V, V);
  using VS = CgVariablePtr (*)(V, double);
  auto binary = [&cls](const char* name, VV with_var, VS with_num) {
    cls.def(
        name,
        [with_var, with_num](V a, py::handle b) -> py::object {
          double s;
          if (py::isinstance<CgVariable>(b)) return py::cast(with_var(a, b.cast<CgVariablePtr>()));
          if (number_value(b, s)) return py::cast(with_num(a, s));
          return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        },
        py::is_operator());
  };
  binary("__add__", [](V a, V b) { return a + b; }, [](V a, double s) { return a + s; });
  binary("__radd__", [](V a, V b) { return b + a; }, [](V a, double s) { return s + a; });
  binary("__sub__", [](V a, V b) { return a - b; }, [](V a, double s) { return a - s; });
  binary("__rsub__", [](V a, V b) { return b - a; }, [](V a, double s) { return s - a; });
  binary("__mul__", [](V a, V b) { return a * b; }, [](V a, double s) { return a * s; });
  binary("__rmul__", [](V a, V b) { return b * a; }, [](V a, double s) { return s * a; });
  binary("__truediv__", [](V a, V b) { return a / b; }, [](V a, double s) { return a / s; });
  binary("__rtruediv__", [](V a, V b) { return b / a; }, [](V a, double s) { return s / a; });
  binary(
      "__pow__",
      [](V, V) -> CgVariablePtr {
        throw py::type_error("Variable ** Variable is not supported (nnvae has no pow2); for x > 0 use F.exp(y * F.log(x))");
      },
      [](V a, double s) { return f::pow_scalar(a, s); });
  binary(
      "__rpow__",
      [](V, V) -> CgVariablePtr { throw py::type_error("Variable ** Variable is not supported (nnvae has no pow2)"); },
      [](V, double) -> CgVariablePtr {
        throw py::type_error("number ** Variable is not supported; for base > 0 use F.exp(x * math.log(base))");
      });
  cls.def("__neg__", [](V a) { return -a; });
  cls.def("__pos__", [](V a) { return a; });
}
