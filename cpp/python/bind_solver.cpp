// nnvae._core, solver part: Solver (set_parameters, update, learning rate,
// weight decay, its states as numpy copies) and the Adam and SGD solvers.
// The public Python API (nnvae.solvers) lives in python/nnvae/.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "bind_common.hpp"
#include "nnvae/nnvae.hpp"
#include "nnvae/solver_state_file.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;
using namespace nnvae_py;

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
            // name -> (state name -> array, step count t)
            const std::string where = "Solver.set_states: ";
            std::map<std::string, Solver::State> in;
            for (auto item : states) {
              if (!py::isinstance<py::str>(item.first))
                throw py::type_error(where + "parameter names must be str, got " + type_name(item.first));
              auto name = item.first.cast<std::string>();
              auto pair = item.second.cast<py::tuple>();
              Solver::State st;
              for (auto kv : pair[0].cast<py::dict>()) {
                if (!py::isinstance<py::str>(kv.first))
                  throw py::type_error(where + "the state names of " + name + " must be str, got " +
                                       type_name(kv.first));
                const auto key = kv.first.cast<std::string>();
                FloatArray a = FloatArray::ensure(kv.second);
                if (!a) throw py::type_error(where + "state " + key + " of " + name + " is not an array of numbers");
                auto arr = std::make_shared<NdArray>(Shape_t(a.shape(), a.shape() + a.ndim()));
                std::memcpy(arr->write(), a.data(), static_cast<size_t>(arr->size()) * sizeof(float));
                st.arrays[key] = arr;
              }
              // t: an integer of any size (range checked by the solver).
              py::handle t = pair[1];
              if (py::isinstance<py::bool_>(t) || !PyIndex_Check(t.ptr()))
                throw py::type_error(where + "the step count t of '" + name + "' must be an integer, got " +
                                     type_name(t));
              py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(t.ptr()));
              if (!index) throw py::error_already_set();
              int overflow = 0;
              st.t = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
              if (st.t == -1 && PyErr_Occurred()) throw py::error_already_set();
              if (overflow) throw std::invalid_argument(step_count_out_of_range(name, py::str(index)));
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

  using Arrays = std::vector<std::pair<std::string, py::array_t<float, py::array::c_style | py::array::forcecast>>>;
  m.def(
      "encode_solver_states_protobuf",
      [](const std::vector<std::tuple<std::string, uint32_t, Arrays>>& states) {
        std::vector<SolverStateRecord> records;
        for (auto& [name, t, arrays] : states) {
          SolverStateRecord rec{name, t, {}};
          for (auto& [key, arr] : arrays)
            rec.arrays.push_back({key, Shape_t(arr.shape(), arr.shape() + arr.ndim()),
                                  std::vector<float>(arr.data(), arr.data() + arr.size())});
          records.push_back(std::move(rec));
        }
        std::string bytes;
        {
          py::gil_scoped_release release;
          bytes = encode_solver_states_protobuf(records);
        }
        return py::bytes(bytes);
      },
      "states"_a, "NNabla's .protobuf solver state bytes of [(name, t, [(key, float32 array), ...]), ...].");
  m.def(
      "decode_solver_states_protobuf",
      [](const py::bytes& content, const std::string& source) {
        std::string_view bytes = content;
        std::vector<SolverStateRecord> records;
        {
          py::gil_scoped_release release;
          records = decode_solver_states_protobuf(bytes.data(), bytes.size(), source);
        }
        py::list out;
        for (auto& rec : records) {
          py::list arrays;
          for (auto& a : rec.arrays) {
            py::array_t<float> arr(std::vector<py::ssize_t>(a.shape.begin(), a.shape.end()));
            if (!a.data.empty()) std::memcpy(arr.mutable_data(), a.data.data(), a.data.size() * sizeof(float));
            arrays.append(py::make_tuple(a.key, arr));
          }
          out.append(py::make_tuple(rec.name, rec.t, arrays));
        }
        return out;
      },
      "content"_a, "source"_a,
      "[(name, t, [(key, float32 array), ...]), ...] of .protobuf solver state bytes, in file order; `source` (a "
      "path) names them in a ParameterFileError.");
}
