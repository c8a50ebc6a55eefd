// nnvae._core: the tutorial's VAE (vae_training.hpp) for the Python driver
// nnvae.training. Arrays cross as numpy copies; training and evaluation run
// without the GIL, which callbacks take back for the time they run.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "nnvae/vae_training.hpp"

namespace py = pybind11;
using namespace nnvae;
using namespace nnvae::vae;

namespace {

const Context kCtx{{"cpu:float"}, "CpuCachedArray", "0"};

std::string shape_text(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// uint8 images (N, 28, 28) or (N, 784), copied.
ImageSet to_images(const py::array& a, const char* what) {
  if (!py::isinstance<py::array_t<uint8_t>>(a) || a.dtype().kind() != 'u' || a.itemsize() != 1)
    throw py::type_error(std::string(what) + ": expected uint8 images, got dtype " +
                         py::str(a.dtype()).cast<std::string>());
  bool ok = (a.ndim() == 3 && a.shape(1) == kRows && a.shape(2) == kCols) || (a.ndim() == 2 && a.shape(1) == kPixels);
  if (!ok) throw py::value_error(std::string(what) + ": expected images (N, 28, 28) or (N, 784), got " + shape_text(a));
  auto c = py::array_t<uint8_t, py::array::c_style>::ensure(a);
  std::vector<uint8_t> px(c.data(), c.data() + c.size());
  return ImageSet(std::move(px), a.shape(0));
}

py::array_t<float> to_numpy(const NdArray& arr) {
  std::vector<py::ssize_t> shape(arr.shape().begin(), arr.shape().end());
  py::array_t<float> out(shape);
  const float* src = arr.read("a parameter or solver state");
  std::memcpy(out.mutable_data(), src, sizeof(float) * arr.size());
  return out;
}

// Copies a float32-convertible array of exactly `shape` into `dst`.
void copy_into(const py::handle& value, const Shape_t& shape, NdArray& dst, const std::string& name) {
  auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(value);
  if (!a) throw py::type_error(name + ": not convertible to a float32 array");
  Shape_t got(a.shape(), a.shape() + a.ndim());
  if (got != shape)
    throw py::value_error(name + ": shape " + shape_str(got) + " where " + shape_str(shape) + " is expected");
  std::memcpy(dst.write(), a.data(), sizeof(float) * a.size());
}

// A ParameterDirectory holding the model's parameters from a {name: array} mapping.
ParameterDirectory parameters_from(const py::dict& values, int latent, int hidden) {
  ParameterDirectory params;
  std::string problems;
  auto expected = vae_parameter_shapes(latent, hidden);
  for (auto& [name, shape] : expected) {
    if (!values.contains(name)) {
      problems += "; " + name + " missing (expected " + shape_str(shape) + ")";
      continue;
    }
    auto v = params.get_parameter_or_create(name, shape, nullptr);
    try {
      copy_into(values[py::str(name)], shape, *v->variable()->data(), name);
    } catch (const py::value_error& e) {
      problems += std::string("; ") + e.what();
    }
  }
  for (auto item : values) {
    std::string name = py::str(item.first);
    bool known = false;
    for (auto& e : expected) known = known || e.first == name;
    if (!known) problems += "; unexpected parameter " + name;
  }
  if (!problems.empty())
    throw py::value_error("the parameters do not fit the VAE (latent " + std::to_string(latent) + ", hidden " +
                          std::to_string(hidden) + "): " + problems.substr(2));
  return params;
}

py::list parameter_list(const ParameterDirectory& params) {
  py::list out;
  for (auto& [name, var] : params.get_parameters()) out.append(py::make_tuple(name, to_numpy(*var->data())));
  return out;
}

// A progress callback that runs `fn(done, total)` under the GIL and asks to
// stop when Ctrl-C arrived (the KeyboardInterrupt is raised afterwards).
ProgressFn progress_with_signals(const py::object& fn) {
  return [fn](int64_t done, int64_t total) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!fn.is_none()) fn(done, total);
    return false;
  };
}

py::dict train(VaeTrainer& t, int64_t until, const py::object& on_monitor, const py::object& should_stop) {
  // Before every step the GIL is taken back briefly to run pending signal
  // handlers (PyErr_CheckSignals) and ask `should_stop()`. A Ctrl-C that
  // raises KeyboardInterrupt, there or inside on_monitor, stops the loop
  // cleanly at the next step and comes back as reason "interrupted"; any
  // other exception stops it too and is re-raised here.
  bool interrupted = false, stop = false;
  std::optional<py::error_already_set> error;
  auto absorb = [&](py::error_already_set& e) {
    if (e.matches(PyExc_KeyboardInterrupt))
      interrupted = true;
    else
      error = e;
    stop = true;
  };
  auto stop_fn = [&]() {
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!stop && !should_stop.is_none() && should_stop().cast<bool>()) stop = true;
    } catch (py::error_already_set& e) {
      absorb(e);
    }
    return stop;
  };
  VaeTrainer::MonitorFn monitor;
  if (!on_monitor.is_none())
    monitor = [&](const MonitorRecord& r) {
      py::gil_scoped_acquire gil;
      try {
        on_monitor(r.iteration, r.train_loss, r.val_loss);
      } catch (py::error_already_set& e) {
        absorb(e);
      }
    };
  TrainResult r;
  {
    py::gil_scoped_release release;
    r = t.train(until, monitor, stop_fn);
  }
  if (error) throw *error;
  const char* reason = r.reason == StopReason::finished ? "finished"
                       : r.reason == StopReason::nonfinite ? "nonfinite"
                       : interrupted ? "interrupted" : "stopped";
  py::dict out;
  out["reason"] = reason;
  out["iteration"] = r.iteration;
  out["bad_loss"] = r.bad_loss;
  return out;
}

py::dict trainer_state(const VaeTrainer& t) {
  TrainerState s = t.state();
  py::dict d;
  d["iteration"] = s.iteration;
  d["epoch"] = s.epoch;
  d["position"] = s.position;
  py::array_t<int32_t> order(static_cast<py::ssize_t>(s.order.size()));
  std::copy(s.order.begin(), s.order.end(), order.mutable_data());
  d["order"] = order;
  d["shuffle_generator"] = s.shuffle_generator;
  d["noise_generator"] = s.noise_generator;
  d["loss_sum"] = s.loss_sum;
  d["loss_count"] = s.loss_count;
  d["val_cursor"] = s.val_cursor;
  return d;
}

void set_trainer_state(VaeTrainer& t, const py::dict& d) {
  TrainerState s;
  auto get = [&](const char* key) {
    if (!d.contains(key)) throw py::value_error(std::string("trainer state: '") + key + "' is missing");
    return d[key];
  };
  s.iteration = get("iteration").cast<int64_t>();
  s.epoch = get("epoch").cast<int64_t>();
  s.position = get("position").cast<int64_t>();
  auto order = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(get("order"));
  if (!order || order.ndim() != 1) throw py::value_error("trainer state: 'order' must be a 1-D integer array");
  s.order.assign(order.data(), order.data() + order.size());
  s.shuffle_generator = get("shuffle_generator").cast<std::string>();
  s.noise_generator = get("noise_generator").cast<std::string>();
  s.loss_sum = get("loss_sum").cast<double>();
  s.loss_count = get("loss_count").cast<int64_t>();
  s.val_cursor = get("val_cursor").cast<int64_t>();
  t.set_state(s);
}

py::dict solver_state(const VaeTrainer& t) {
  py::dict d;
  for (auto& [name, st] : t.solver()->get_states()) {
    py::dict e;
    for (auto& [key, arr] : st.arrays) e[py::str(key)] = to_numpy(*arr);
    e["t"] = st.t;
    d[py::str(name)] = e;
  }
  return d;
}

void set_solver_state(VaeTrainer& t, const py::dict& d) {
  std::map<std::string, Solver::State> states;
  for (auto& [name, cur] : t.solver()->get_states()) {
    if (!d.contains(name)) throw py::value_error("solver state: parameter " + name + " is missing");
    py::dict e = d[py::str(name)];
    Solver::State s;
    for (auto& [key, arr] : cur.arrays) {
      if (!e.contains(key)) throw py::value_error("solver state: " + name + "/" + key + " is missing");
      auto a = std::make_shared<NdArray>(arr->shape());
      copy_into(e[py::str(key)], arr->shape(), *a, "solver state " + name + "/" + key);
      s.arrays[key] = a;
    }
    s.t = e["t"].cast<int64_t>();
    states[name] = s;
  }
  t.solver()->set_states(states);
}

void set_trainer_parameters(VaeTrainer& t, const py::dict& values) {
  // Check everything first so that a bad mapping changes nothing.
  auto checked = parameters_from(values, t.config().latent, t.config().hidden);
  for (auto& [name, var] : t.parameters().get_parameters()) {
    auto src = checked.get_parameter(name);
    const float* p = src->variable()->data()->read("a parameter");
    std::copy(p, p + var->size(), var->data()->write_accumulate(true));
  }
}

py::array_t<float> reshape_rows(const std::vector<float>& v, int64_t rows, std::vector<py::ssize_t> tail) {
  tail.insert(tail.begin(), static_cast<py::ssize_t>(rows));
  py::array_t<float> out(tail);
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace

void bind_training(py::module_& m) {
  py::class_<VaeConfig>(m, "VaeConfig", "Settings of vae_training (the tutorial's recipe by default)")
      .def(py::init<>())
      .def_readwrite("iterations", &VaeConfig::iterations)
      .def_readwrite("batch_size", &VaeConfig::batch_size)
      .def_readwrite("learning_rate", &VaeConfig::learning_rate)
      .def_readwrite("beta1", &VaeConfig::beta1)
      .def_readwrite("beta2", &VaeConfig::beta2)
      .def_readwrite("eps", &VaeConfig::eps)
      .def_readwrite("seed", &VaeConfig::seed)
      .def_readwrite("latent", &VaeConfig::latent)
      .def_readwrite("hidden", &VaeConfig::hidden)
      .def_readwrite("monitor_interval", &VaeConfig::monitor_interval)
      .def_readwrite("validation_batches", &VaeConfig::validation_batches)
      .def_readwrite("threads", &VaeConfig::threads)
      .def_readwrite("init", &VaeConfig::init)
      .def_property(
          "graph", [](const VaeConfig& c) { return graph_mode_name(c.graph); },
          [](VaeConfig& c, const std::string& s) { c.graph = parse_graph_mode(s); })
      .def("validate", &VaeConfig::validate, py::arg("n_train") = -1, py::arg("n_test") = -1);

  py::class_<VaeTrainer>(m, "VaeTrainer", "The tutorial's training loop on uint8 images")
      .def(py::init([](const VaeConfig& c, const py::array& train, const py::array& test) {
             return new VaeTrainer(c, to_images(train, "training images"), to_images(test, "validation images"));
           }),
           py::arg("config"), py::arg("train_images"), py::arg("test_images"))
      .def("train", &train, py::arg("until"), py::arg("on_monitor") = py::none(), py::arg("should_stop") = py::none(),
           "Runs until `until` steps are done, without the GIL; on_monitor(iteration, tloss, vloss) each "
           "interval; should_stop() before each step. Returns {'reason': 'finished'|'interrupted' (Ctrl-C)|"
           "'stopped' (should_stop)|'nonfinite', 'iteration', 'bad_loss'}.")
      .def_property_readonly("iteration", &VaeTrainer::iteration)
      .def_property_readonly("batches_per_epoch", &VaeTrainer::batches_per_epoch)
      .def("get_parameters", [](const VaeTrainer& t) { return parameter_list(t.parameters()); },
           "[(full name, float32 array copy)] in creation order")
      .def("set_parameters", &set_trainer_parameters, py::arg("values"))
      .def("get_solver_state", &solver_state, "{name: {'m': array, 'v': array, 't': int}}")
      .def("set_solver_state", &set_solver_state, py::arg("state"))
      .def("get_state", &trainer_state)
      .def("set_state", &set_trainer_state, py::arg("state"));

  m.def("vae_parameter_shapes", &vae_parameter_shapes, py::arg("latent") = 50, py::arg("hidden") = 500);
  m.def(
      "vae_format_monitor_line",
      [](int64_t it, double tl, double vl) { return format_monitor_line({it, tl, vl}); }, py::arg("iteration"),
      py::arg("train_loss"), py::arg("val_loss"));

  m.def(
      "vae_negative_elbo",
      [](const py::dict& values, const py::array& images, int latent, int hidden, int batch_size, uint32_t seed,
         const py::object& progress) {
        auto params = parameters_from(values, latent, hidden);
        auto set = to_images(images, "images");
        auto fn = progress_with_signals(progress);
        py::gil_scoped_release release;
        return negative_elbo(params, latent, hidden, set, batch_size, seed, fn);
      },
      py::arg("parameters"), py::arg("images"), py::arg("latent") = 50, py::arg("hidden") = 500,
      py::arg("batch_size") = 100, py::arg("seed") = 706, py::arg("progress") = py::none());
  m.def(
      "vae_importance_weighted_nll",
      [](const py::dict& values, const py::array& images, int k, int latent, int hidden, uint32_t seed,
         const py::object& progress) {
        auto params = parameters_from(values, latent, hidden);
        auto set = to_images(images, "images");
        auto fn = progress_with_signals(progress);
        py::gil_scoped_release release;
        return importance_weighted_nll(params, latent, hidden, set, k, seed, fn);
      },
      py::arg("parameters"), py::arg("images"), py::arg("k"), py::arg("latent") = 50, py::arg("hidden") = 500,
      py::arg("seed") = 706, py::arg("progress") = py::none());
  m.def(
      "vae_encode",
      [](const py::dict& values, const py::array& images, int latent, int hidden) {
        auto params = parameters_from(values, latent, hidden);
        auto set = to_images(images, "images");
        std::vector<float> mu, logvar;
        {
          py::gil_scoped_release release;
          encode(params, latent, hidden, set, mu, logvar);
        }
        return py::make_tuple(reshape_rows(mu, set.count, {latent}), reshape_rows(logvar, set.count, {latent}));
      },
      py::arg("parameters"), py::arg("images"), py::arg("latent") = 50, py::arg("hidden") = 500,
      "(mu, logvar), each (N, latent)");
  m.def(
      "vae_decode",
      [](const py::dict& values, const py::array& z, int latent, int hidden) {
        auto params = parameters_from(values, latent, hidden);
        auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(z);
        if (!a || a.ndim() != 2 || a.shape(1) != latent)
          throw py::value_error("z: expected (N, " + std::to_string(latent) + "), got " +
                                (a ? shape_text(a) : std::string("a non-array")));
        std::vector<float> zv(a.data(), a.data() + a.size());
        std::vector<float> out;
        {
          py::gil_scoped_release release;
          out = decode(params, latent, hidden, zv);
        }
        return reshape_rows(out, a.shape(0), {kRows, kCols});
      },
      py::arg("parameters"), py::arg("z"), py::arg("latent") = 50, py::arg("hidden") = 500,
      "pixel probabilities (N, 28, 28) decoded from z (N, latent)");
}
