// nnvae._core, engine part: Variable (a CgVariable), the functions, the
// global parameter directory, initializers, solvers and the global switches
// (seed, auto-forward, threads). The public Python API (argument names and
// defaults as in NNabla, argument checking) lives in python/nnvae/; this file
// is the thin layer under it.
//
// Memory rules, so that Python can never reach freed memory:
//  * Variable.d / .g are numpy views on an NdArray's Storage. The view's base
//    is a capsule holding a copy of that Storage (a shared_ptr), so the memory
//    lives as long as the view, whatever happens to the variable afterwards
//    (clear_buffer, a new buffer, the variable destroyed).
//  * Variable.from_numpy_array adopts a writable float32 C-contiguous buffer
//    as it is: the Storage holds a reference to the numpy array and releases
//    it, under the GIL, when the last array or view using it lets go.
//
// Errors: std::invalid_argument (the engine's shape/argument errors) arrives
// in Python as ValueError through pybind11's default translation; wrong
// argument types raise TypeError (py::type_error, or pybind11's own overload
// failure).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnvae/nnvae.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;
namespace f = nnvae::functions;

namespace {

const Context kCpu{};

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

// An integer for a shape entry: Python int or anything with __index__
// (numpy integers), but not bool or float.
int64_t shape_entry(py::handle obj, const std::string& where) {
  if (py::isinstance<py::bool_>(obj) || !PyIndex_Check(obj.ptr()))
    throw py::type_error(where + ": shape entries must be integers, got " + type_name(obj));
  py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!index) throw py::error_already_set();
  long long v = PyLong_AsLongLong(index.ptr());
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  return v;
}

// A shape given as an int (one dimension) or a sequence of ints; every entry
// must be >= 0.
Shape_t shape_from_py(py::handle obj, const std::string& where) {
  Shape_t shape;
  if (PyIndex_Check(obj.ptr()) && !py::isinstance<py::bool_>(obj)) {
    shape.push_back(shape_entry(obj, where));
  } else if (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj) && !py::isinstance<py::bytes>(obj)) {
    for (py::handle item : obj) shape.push_back(shape_entry(item, where));
  } else {
    throw py::type_error(where + ": shape must be an int or a sequence of ints, got " + type_name(obj));
  }
  for (int64_t d : shape)
    if (d < 0) throw std::invalid_argument(where + ": shape " + shape_str(shape) + " has a negative entry");
  return shape;
}

py::tuple shape_to_py(const Shape_t& shape) {
  py::tuple t(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) t[i] = py::int_(shape[i]);
  return t;
}

// The numpy view of `arr` (row-major float32), keeping its Storage alive.
// `what` names the array in the error raised when clear_buffer freed it.
py::array array_view(const NdArrayPtr& arr, const std::string& what) {
  if (arr->cleared())
    throw std::invalid_argument(what + ": the buffer (shape " + shape_str(arr->shape()) +
                                ") was freed by clear_buffer; run forward again, or set persistent=True "
                                "on the variable before forward/backward");
  float* data = arr->cast<float>(kCpu, /*write_only=*/false);  // zeros if never written
  auto keep = std::make_unique<Storage>(arr->storage());
  py::capsule base(keep.get(), [](void* p) { delete static_cast<Storage*>(p); });
  keep.release();
  const Shape_t& shape = arr->shape();
  std::vector<py::ssize_t> dims(shape.begin(), shape.end()), strides(shape.size());
  py::ssize_t step = sizeof(float);
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    step *= static_cast<py::ssize_t>(shape[i]);
  }
  return py::array(py::dtype::of<float>(), dims, strides, data, base);
}

// `value` (a number, or an array-like of exactly the array's shape) converted
// to float32; throws TypeError for what is not numbers, ValueError for a
// shape that does not fit.
FloatArray values_for(py::handle value, const Shape_t& shape, const std::string& what) {
  if (value.is_none() || py::isinstance<py::str>(value) || py::isinstance<py::bytes>(value) ||
      py::isinstance<CgVariable>(value))
    throw py::type_error(what + ": expected a number or an array of numbers, got " + type_name(value) +
                         (py::isinstance<CgVariable>(value) ? " (copy its values with .d)" : ""));
  FloatArray a = FloatArray::ensure(value);
  if (!a) throw py::type_error(what + ": cannot convert a " + type_name(value) + " to float32 numbers");
  if (a.ndim() == 0) return a;
  Shape_t given(a.shape(), a.shape() + a.ndim());
  if (given != shape)
    throw std::invalid_argument(what + ": an array of shape " + shape_str(given) +
                                " does not fit the variable's shape " + shape_str(shape));
  return a;
}

// Copies `value` into `arr` (a scalar fills it). The array's buffer is
// (re)created if needed, so this also works after clear_buffer.
void assign(const NdArrayPtr& arr, py::handle value, const std::string& what) {
  FloatArray a = values_for(value, arr->shape(), what);
  if (a.ndim() == 0) {
    arr->fill(*a.data());
    return;
  }
  float* dst = arr->cast<float>(kCpu, /*write_only=*/true);
  std::memcpy(dst, a.data(), static_cast<size_t>(arr->size()) * sizeof(float));
}

// A Storage over a numpy array's own buffer; it owns one reference to the
// array and drops it when the last user lets go.
Storage storage_of_numpy(py::array a) {
  float* data = static_cast<float*>(a.mutable_data());
  PyObject* owner = a.release().ptr();
  return Storage(data, [owner](float*) {
    if (!Py_IsInitialized()) return;  // interpreter already gone: nothing left to release
    py::gil_scoped_acquire gil;
    Py_DECREF(owner);
  });
}

// from_numpy_array: a float32, C-contiguous, aligned, writable, non-empty
// array is adopted without a copy; anything else is converted to a new
// float32 C-contiguous buffer first.
CgVariablePtr variable_from_numpy(py::handle data, py::handle grad, bool need_grad) {
  const std::string what = "Variable.from_numpy_array";
  if (data.is_none() || py::isinstance<py::str>(data) || py::isinstance<py::bytes>(data) ||
      py::isinstance<CgVariable>(data))
    throw py::type_error(what + ": data must be a numpy array or array-like of numbers, got " + type_name(data));
  FloatArray a = FloatArray::ensure(data);
  if (!a) throw py::type_error(what + ": cannot convert a " + type_name(data) + " to float32 numbers");
  Shape_t shape(a.shape(), a.shape() + a.ndim());
  auto v = std::make_shared<CgVariable>(shape, need_grad);
  bool aligned = reinterpret_cast<std::uintptr_t>(a.data()) % alignof(float) == 0;
  if (a.writeable() && aligned && a.size() > 0) {
    v->variable()->data()->adopt(storage_of_numpy(a));
  } else {
    assign(v->variable()->data(), a, what);
  }
  if (!grad.is_none()) assign(v->variable()->grad(), grad, what + ": grad");
  return v;
}

// Fills a parameter from values given in Python (PF.affine's w_init/b_init
// given as an array); the shapes must agree.
class ArrayInitializer : public Initializer {
 public:
  ArrayInitializer(FloatArray values, std::string what) : what_(std::move(what)) {
    shape_.assign(values.shape(), values.shape() + values.ndim());
    values_.assign(values.data(), values.data() + values.size());
  }
  void initialize(NdArrayPtr array) override {
    if (array->shape() != shape_)
      throw std::invalid_argument(what_ + ": an initial value of shape " + shape_str(shape_) +
                                  " does not fit the parameter's shape " + shape_str(array->shape()));
    std::copy(values_.begin(), values_.end(), array->write());
  }

 private:
  std::string what_;
  Shape_t shape_;
  std::vector<float> values_;
};

// The one parameter directory behind nnvae.parameter_scope / get_parameters.
// Never destroyed: parameters may be referenced from Python until the end.
ParameterDirectory& global_parameters() {
  static auto* root = new ParameterDirectory();
  return *root;
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

void bind_variable(py::module_& m) {
  py::class_<CgFunction, CgFunctionPtr>(m, "Function",
                                        "The function a variable was computed by (Variable.parent).")
      .def_property_readonly("name", [](const CgFunction& fn) { return fn.function->name(); })
      .def_property_readonly("inputs", [](const CgFunction& fn) { return fn.inputs; })
      .def("__repr__", [](const CgFunction& fn) { return "<Function " + fn.function->name() + ">"; });

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
                  "A Variable holding `data`; float32 C-contiguous writable arrays are shared, not copied.")
      .def_property_readonly("shape", [](const CgVariable& v) { return shape_to_py(v.shape()); })
      .def_property_readonly("ndim", [](const CgVariable& v) { return v.variable()->ndim(); })
      .def_property_readonly("size", [](const CgVariable& v) { return v.variable()->size(); })
      .def_property(
          "d", [](const CgVariable& v) { return array_view(v.variable()->data(), "Variable.d"); },
          [](CgVariable& v, py::handle value) { assign(v.variable()->data(), value, "Variable.d"); },
          "The data as a numpy float32 view; assigning copies values in (a scalar fills).")
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
            auto out = std::make_shared<CgVariable>(shape_from_py(shape, "Variable.reshape"), need_grad);
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

void bind_functions(py::module_& m) {
  // The raw functions, C++ argument order; python/nnvae/functions.py gives
  // them NNabla's names, defaults and argument checks.
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

void bind_parameters(py::module_& m) {
  py::class_<Initializer, std::shared_ptr<Initializer>>(m, "Initializer",
                                                        "Fills a new parameter; init(shape) gives a numpy array.")
      .def("__call__", [](Initializer& init, py::handle shape) {
        auto arr = std::make_shared<NdArray>(shape_from_py(shape, "Initializer"));
        init.initialize(arr);
        py::array view = array_view(arr, "Initializer");
        return view.attr("copy")();
      }, "shape"_a);
  py::class_<UniformInitializer, Initializer, std::shared_ptr<UniformInitializer>>(m, "UniformInitializer")
      .def(py::init([](std::pair<float, float> lim) { return std::make_shared<UniformInitializer>(lim.first, lim.second); }),
           "lim"_a = std::make_pair(-1.0f, 1.0f));
  py::class_<ConstantInitializer, Initializer, std::shared_ptr<ConstantInitializer>>(m, "ConstantInitializer")
      .def(py::init<float>(), "value"_a = 0.0f);
  py::class_<NormalInitializer, Initializer, std::shared_ptr<NormalInitializer>>(m, "NormalInitializer")
      .def(py::init([](float sigma, float mu) { return std::make_shared<NormalInitializer>(mu, sigma); }),
           "sigma"_a = 1.0f, "mu"_a = 0.0f);
  py::class_<ArrayInitializer, Initializer, std::shared_ptr<ArrayInitializer>>(m, "_ArrayInitializer")
      .def(py::init<FloatArray, std::string>(), "values"_a, "what"_a);
  m.def("calc_uniform_lim_glorot", &calc_uniform_lim_glorot, "inmaps"_a, "outmaps"_a, "kernel"_a = 1);

  // The global directory, addressed by full names ("fc1/affine/W").
  m.def("_parameters", [] { return global_parameters().get_cg_parameters(); });
  m.def("_get_parameter", [](const std::string& name) { return global_parameters().get_parameter(name); }, "name"_a);
  m.def(
      "_get_parameter_or_create",
      [](const std::string& name, py::handle shape, Initializer* init, bool need_grad) {
        return global_parameters().get_parameter_or_create(name, shape_from_py(shape, "get_parameter_or_create"),
                                                           init, need_grad);
      },
      "name"_a, "shape"_a, "initializer"_a, "need_grad"_a);
  m.def("_clear_parameters", [] { global_parameters().clear(); });
}

void bind_solvers(py::module_& m) {
  py::class_<Solver, SolverPtr>(m, "Solver", "Updates a set of parameters from their gradients.")
      .def_property_readonly("name", &Solver::name)
      .def(
          "set_parameters",
          [](Solver& s, py::handle params, bool reset, bool retain_state) {
            if (!py::isinstance<py::dict>(params))
              throw py::type_error("Solver.set_parameters: expected a dict of name -> Variable "
                                   "(e.g. nnvae.get_parameters()), got " + type_name(params));
            std::vector<std::pair<std::string, VariablePtr>> list;
            for (auto item : py::reinterpret_borrow<py::dict>(params)) {
              if (!py::isinstance<py::str>(item.first) || !py::isinstance<CgVariable>(item.second))
                throw py::type_error("Solver.set_parameters: entries must be str -> Variable, got " +
                                     type_name(item.first) + " -> " + type_name(item.second));
              list.emplace_back(item.first.cast<std::string>(), item.second.cast<CgVariablePtr>()->variable());
            }
            // The solver's lock is taken without the GIL, so that a thread
            // waiting for an update() to finish does not block Python.
            py::gil_scoped_release nogil;
            s.set_parameters(list, reset, retain_state);
          },
          "param_dict"_a, "reset"_a = true, "retain_state"_a = false)
      .def(
          "_get_states",
          [](const Solver& s) {
            // name -> (state name -> numpy copy, step count t)
            py::dict out;
            std::map<std::string, Solver::State> states;
            {
              py::gil_scoped_release nogil;
              states = s.get_states();
            }
            for (auto& [name, st] : states) {
              py::dict arrays;
              for (auto& [key, arr] : st.arrays) arrays[py::str(key)] = array_view(arr, "Solver.get_states").attr("copy")();
              out[py::str(name)] = py::make_tuple(arrays, st.t);
            }
            return out;
          })
      .def(
          "_set_states",
          [](Solver& s, py::dict states) {
            std::map<std::string, Solver::State> in;
            for (auto item : states) {
              auto name = item.first.cast<std::string>();
              auto pair = item.second.cast<py::tuple>();
              Solver::State st;
              for (auto kv : pair[0].cast<py::dict>()) {
                FloatArray a = FloatArray::ensure(kv.second);
                if (!a) throw py::type_error("Solver.set_states: state " + kv.first.cast<std::string>() + " of " + name +
                                             " is not an array of numbers");
                auto arr = std::make_shared<NdArray>(Shape_t(a.shape(), a.shape() + a.ndim()));
                std::memcpy(arr->write(), a.data(), static_cast<size_t>(arr->size()) * sizeof(float));
                st.arrays[kv.first.cast<std::string>()] = arr;
              }
              st.t = pair[1].cast<int64_t>();
              in[name] = st;
            }
            py::gil_scoped_release nogil;
            s.set_states(in);
          },
          "states"_a)
      .def("parameter_names", &Solver::parameter_names, py::call_guard<py::gil_scoped_release>())
      .def("zero_grad", &Solver::zero_grad, py::call_guard<py::gil_scoped_release>())
      .def("update", &Solver::update, py::call_guard<py::gil_scoped_release>())
      .def("weight_decay", &Solver::weight_decay, "decay_rate"_a, py::call_guard<py::gil_scoped_release>())
      .def("learning_rate", &Solver::learning_rate)
      .def("set_learning_rate", &Solver::set_learning_rate, "learning_rate"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("__repr__", [](const Solver& s) { return "<Solver " + s.name() + ">"; });
  py::class_<AdamSolver, Solver, std::shared_ptr<AdamSolver>>(m, "AdamSolver")
      .def(py::init<float, float, float, float>(), "alpha"_a, "beta1"_a, "beta2"_a, "eps"_a);
  py::class_<SgdSolver, Solver, std::shared_ptr<SgdSolver>>(m, "SgdSolver").def(py::init<float>(), "lr"_a);
}

}  // namespace

void bind_engine(py::module_& m) {
  bind_variable(m);
  bind_functions(m);
  bind_parameters(m);
  bind_solvers(m);
  m.def("set_seed", [](uint32_t seed) { set_seed(seed); }, "seed"_a);
  m.def("set_auto_forward", &set_auto_forward, "auto"_a);
  m.def("get_auto_forward", &get_auto_forward);
  m.def("set_num_threads", &set_num_threads, "n"_a);
  m.def("get_num_threads", &get_num_threads);
  m.attr("MAX_THREADS") = max_threads();  // the one bound on thread counts (set_num_threads, --threads)
}
