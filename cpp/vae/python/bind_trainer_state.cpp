// nnvae._core: TrainerState (what an exact resume needs besides parameters
// and solver states) and SolverState (one parameter's solver state) as Python
// classes, for the checkpoints of nnvae.app.training. Arrays cross as numpy copies.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bind_common.hpp"
#include "nnvae/vae.hpp"

namespace py = pybind11;
using namespace nnvae;
using namespace nnvae::vae;
using nnvae_py::to_numpy;

namespace {

// ---------------------------------------------------------------------------
// TrainerState as a Python class. Every field is listed once, here: the
// class's attributes and its to_dict()/from_dict() (a checkpoint's form)
// both come from this table.

struct StateField {
  const char* name;
  std::function<py::object(const TrainerState&)> get;
  std::function<void(TrainerState&, const py::handle&)> set;
};

template <class T>
StateField scalar_field(const char* name, T TrainerState::*member) {
  return {name, [member](const TrainerState& s) { return py::cast(s.*member); },
          [member](TrainerState& s, const py::handle& v) { s.*member = v.cast<T>(); }};
}

py::object order_array(const TrainerState& s) {
  py::array_t<int32_t> order(static_cast<py::ssize_t>(s.order.size()));
  std::copy(s.order.begin(), s.order.end(), order.mutable_data());
  return std::move(order);
}

void set_order(TrainerState& s, const py::handle& value) {
  auto order = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(value);
  if (!order || order.ndim() != 1) throw py::value_error("trainer state: 'order' must be a 1-D integer array");
  s.order.assign(order.data(), order.data() + order.size());
}

const std::vector<StateField>& state_fields() {
  static const std::vector<StateField> fields{
      scalar_field("iteration", &TrainerState::iteration),
      scalar_field("epoch", &TrainerState::epoch),
      scalar_field("position", &TrainerState::position),
      {"order", order_array, set_order},
      scalar_field("shuffle_generator", &TrainerState::shuffle_generator),
      scalar_field("noise_generator", &TrainerState::noise_generator),
      scalar_field("loss_sum", &TrainerState::loss_sum),
      scalar_field("loss_count", &TrainerState::loss_count),
      scalar_field("val_cursor", &TrainerState::val_cursor),
  };
  return fields;
}

void set_state_field(const StateField& f, TrainerState& s, const py::handle& value) {
  try {
    f.set(s, value);
  } catch (const py::cast_error&) {
    throw py::type_error(std::string("trainer state: '") + f.name + "' cannot be " +
                         py::str(py::type::of(value)).cast<std::string>());
  }
}

py::dict state_to_dict(const TrainerState& s) {
  py::dict d;
  for (auto& f : state_fields()) d[f.name] = f.get(s);
  return d;
}

TrainerState state_from_dict(const py::dict& d) {
  TrainerState s;
  for (auto& f : state_fields()) {
    if (!d.contains(f.name)) throw py::value_error(std::string("trainer state: '") + f.name + "' is missing");
    set_state_field(f, s, d[f.name]);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Solver states: {parameter name: Solver::State}, copied in and out.

py::dict state_arrays(const Solver::State& st) {
  py::dict d;
  for (auto& [key, arr] : st.arrays) d[py::str(key)] = to_numpy(*arr);
  return d;
}

void set_state_arrays(Solver::State& st, const py::dict& arrays) {
  std::map<std::string, NdArrayPtr> out;
  for (auto item : arrays) {
    std::string key = py::str(item.first);
    auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(item.second);
    if (!a) throw py::type_error("solver state " + key + ": not convertible to a float32 array");
    auto arr = std::make_shared<NdArray>(Shape_t(a.shape(), a.shape() + a.ndim()));
    std::memcpy(arr->write(), a.data(), sizeof(float) * a.size());
    out[key] = arr;
  }
  st.arrays = std::move(out);
}

}  // namespace

void bind_trainer_state(py::module_& m) {
  py::class_<TrainerState>(m, "TrainerState",
                           "What an exact resume needs besides parameters and solver states")
      .def(py::init<>())
      .def_static("from_dict", &state_from_dict, py::arg("values"), "from {field: value}, every field given")
      .def("to_dict", &state_to_dict, "{field: value}; 'order' is an int32 array")
      .def_property_readonly_static("fields", [](const py::object&) {
        py::list names;
        for (auto& f : state_fields()) names.append(f.name);
        return names;
      });
  {
    auto cls = py::reinterpret_borrow<py::object>(m.attr("TrainerState"));
    for (auto& f : state_fields()) {
      auto property = py::module_::import("builtins").attr("property");
      cls.attr(f.name) = property(
          py::cpp_function([get = f.get](const TrainerState& s) { return get(s); }),
          py::cpp_function([&f](TrainerState& s, const py::object& v) { set_state_field(f, s, v); }));
    }
  }

  py::class_<Solver::State>(m, "SolverState", "One parameter's solver state: named arrays and a step count")
      .def(py::init<>())
      .def_readwrite("t", &Solver::State::t)
      .def_property("arrays", &state_arrays, &set_state_arrays, "{name: float32 array} (copies)");

}
