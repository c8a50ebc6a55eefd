// nnvae._core: the tutorial's VAE (nnvae/vae.hpp) for the Python driver
// nnvae.app.training. Arrays cross as numpy copies; training and evaluation run
// without the GIL, which callbacks take back for the time they run.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <string>
#include <vector>

#include "bind_common.hpp"
#include "nnvae/vae.hpp"

namespace py = pybind11;
using namespace nnvae;
using namespace nnvae::vae;
using nnvae_py::to_numpy;

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

// One trainer is driven by one thread at a time. While train() runs (without
// the GIL) in one thread, the trainer's methods called from another thread
// raise RuntimeError instead of racing it; the training thread's own
// callbacks (on_monitor, should_stop) may still use it.
class TrainingThreads {
 public:
  // Marks `t` as training on this thread for the guard's lifetime.
  explicit TrainingThreads(const VaeTrainer& t) : t_(&t) {
    std::lock_guard<std::mutex> lock(mutex());
    check_locked(t, "train");
    busy()[t_] = std::this_thread::get_id();
  }
  ~TrainingThreads() {
    std::lock_guard<std::mutex> lock(mutex());
    busy().erase(t_);
  }
  TrainingThreads(const TrainingThreads&) = delete;
  TrainingThreads& operator=(const TrainingThreads&) = delete;
  static void check(const VaeTrainer& t, const char* what) {
    std::lock_guard<std::mutex> lock(mutex());
    check_locked(t, what);
  }

 private:
  static void check_locked(const VaeTrainer& t, const char* what) {
    auto it = busy().find(&t);
    if (it != busy().end() && it->second != std::this_thread::get_id())
      throw std::runtime_error(std::string("VaeTrainer.") + what +
                               ": this trainer is training in another thread; wait for its train() to return "
                               "(one trainer is driven by one thread at a time)");
  }
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::unordered_map<const VaeTrainer*, std::thread::id>& busy() {
    static auto* b = new std::unordered_map<const VaeTrainer*, std::thread::id>();
    return *b;
  }
  const VaeTrainer* t_;
};

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
    TrainingThreads training(t);  // another thread's train() or setters now raise
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

py::dict solver_states(const VaeTrainer& t) {
  TrainingThreads::check(t, "solver_state");
  py::dict d;
  for (auto& [name, st] : t.solver()->get_states()) d[py::str(name)] = st;
  return d;
}

// Checks every name, key and shape against the trainer's own states first,
// so that a bad mapping changes nothing.
void set_solver_states(VaeTrainer& t, const py::dict& d) {
  TrainingThreads::check(t, "solver_state");
  std::map<std::string, Solver::State> states;
  for (auto& [name, cur] : t.solver()->get_states()) {
    if (!d.contains(name)) throw py::value_error("solver state: parameter " + name + " is missing");
    auto given = d[py::str(name)].cast<Solver::State>();
    Solver::State s;
    for (auto& [key, arr] : cur.arrays) {
      auto it = given.arrays.find(key);
      if (it == given.arrays.end()) throw py::value_error("solver state: " + name + "/" + key + " is missing");
      if (it->second->shape() != arr->shape())
        throw py::value_error("solver state " + name + "/" + key + ": shape " + shape_str(it->second->shape()) +
                              " where " + shape_str(arr->shape()) + " is expected");
      s.arrays[key] = it->second;
    }
    s.t = given.t;
    states[name] = s;
  }
  t.solver()->set_states(states);
}

// ---------------------------------------------------------------------------
// A trained model: its parameters and sizes, checked once on construction
// by check_vae_parameters.

struct VaeModel {
  ParameterDirectory parameters;
  int latent = 0, hidden = 0;
  std::string source;  // the file the parameters came from, or ""
};

// latent and hidden are read off fc_mu's W (hidden, latent); without one, the
// model is taken to have VaeConfig's sizes and the check names what is missing.
VaeModel make_model(const py::dict& values, const std::string& source) {
  VaeModel m;
  m.source = source;
  const VaeConfig defaults;
  m.latent = defaults.latent;
  m.hidden = defaults.hidden;
  const std::string where = source.empty() ? "" : source + ": ";
  for (auto item : values) {
    std::string name = py::str(item.first);
    auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(item.second);
    if (!a) throw py::type_error(where + name + ": not convertible to a float32 array");
    Shape_t shape(a.shape(), a.shape() + a.ndim());
    if (name == "fc_mu/affine/W" && shape.size() == 2) {
      m.hidden = static_cast<int>(shape[0]);
      m.latent = static_cast<int>(shape[1]);
    }
    auto v = m.parameters.get_parameter_or_create(name, shape, nullptr);
    std::memcpy(v->variable()->data()->write(), a.data(), sizeof(float) * a.size());
  }
  try {
    check_vae_parameters(m.parameters, m.latent, m.hidden);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(where + e.what());
  }
  return m;
}

py::dict model_parameters(const ParameterDirectory& params) {
  py::dict out;
  for (auto& [name, var] : params.get_parameters()) out[py::str(name)] = to_numpy(*var->data());
  return out;
}

void set_trainer_parameters(VaeTrainer& t, const py::dict& values) {
  TrainingThreads::check(t, "set_parameters");
  VaeModel m = make_model(values, "");
  if (m.latent != t.config().latent || m.hidden != t.config().hidden)
    throw py::value_error("the parameters are of a VAE with latent " + std::to_string(m.latent) + ", hidden " +
                          std::to_string(m.hidden) + ", not the trainer's (latent " +
                          std::to_string(t.config().latent) + ", hidden " + std::to_string(t.config().hidden) + ")");
  for (auto& [name, var] : t.parameters().get_parameters()) {
    const float* p = m.parameters.get_parameter(name)->variable()->data()->read("a parameter");
    std::copy(p, p + var->size(), var->data()->write_accumulate(true));
  }
}

py::array_t<float> reshape_rows(const std::vector<float>& v, int64_t rows, std::vector<py::ssize_t> tail) {
  tail.insert(tail.begin(), static_cast<py::ssize_t>(rows));
  py::array_t<float> out(tail);
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// f(images, progress) for one evaluation over uint8 `images`, run without the
// GIL (the progress callback takes it back for each call).
template <class F>
double evaluate_images(const py::array& images, const py::object& progress, F f) {
  auto set = to_images(images, "images");
  auto fn = progress_with_signals(progress);
  py::gil_scoped_release release;
  return f(set, fn);
}

}  // namespace

void bind_training(py::module_& m) {
  py::class_<VaeModel>(m, "VaeModel",
                       "The tutorial's VAE with given parameters; sizes read off fc_mu's W, the parameters "
                       "checked once on construction (ValueError naming `source` and every difference)")
      .def(py::init(&make_model), py::arg("parameters"), py::arg("source") = "")
      .def_readonly("latent", &VaeModel::latent)
      .def_readonly("hidden", &VaeModel::hidden)
      .def_readonly("source", &VaeModel::source)
      .def("parameters", [](const VaeModel& v) { return model_parameters(v.parameters); },
           "{full name: float32 array copy} in creation order")
      .def(
          "negative_elbo",
          [](const VaeModel& v, const py::array& images, int batch_size, uint32_t seed, const py::object& progress) {
            return evaluate_images(images, progress, [&](const ImageSet& set, const ProgressFn& fn) {
              return negative_elbo(v.parameters, v.latent, v.hidden, set, batch_size, seed, fn);
            });
          },
          py::arg("images"), py::arg("batch_size") = kEvaluationBatchSize, py::arg("seed") = kEvaluationSeed,
          py::arg("progress") = py::none(),
          "mean one-sample negative ELBO of uint8 images, nats per image; progress(done, total) per batch")
      .def(
          "importance_weighted_nll",
          [](const VaeModel& v, const py::array& images, int k, uint32_t seed, const py::object& progress) {
            return evaluate_images(images, progress, [&](const ImageSet& set, const ProgressFn& fn) {
              return importance_weighted_nll(v.parameters, v.latent, v.hidden, set, k, seed, fn);
            });
          },
          py::arg("images"), py::arg("k"), py::arg("seed") = kEvaluationSeed, py::arg("progress") = py::none(),
          "mean importance-weighted bound on the negative log-likelihood with k samples per image")
      .def(
          "encode",
          [](const VaeModel& v, const py::array& images) {
            auto set = to_images(images, "images");
            std::vector<float> mu, logvar;
            {
              py::gil_scoped_release release;
              encode(v.parameters, v.latent, v.hidden, set, mu, logvar);
            }
            return py::make_tuple(reshape_rows(mu, set.count, {v.latent}), reshape_rows(logvar, set.count, {v.latent}));
          },
          py::arg("images"), "(mu, logvar), each (N, latent)")
      .def(
          "decode",
          [](const VaeModel& v, const py::array& z) {
            auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(z);
            if (!a || a.ndim() != 2 || a.shape(1) != v.latent)
              throw py::value_error("z: expected (N, " + std::to_string(v.latent) + "), got " +
                                    (a ? shape_text(a) : std::string("a non-array")));
            std::vector<float> zv(a.data(), a.data() + a.size());
            std::vector<float> out;
            {
              py::gil_scoped_release release;
              out = decode(v.parameters, v.latent, v.hidden, zv);
            }
            return reshape_rows(out, a.shape(0), {kRows, kCols});
          },
          py::arg("z"), "pixel probabilities (N, 28, 28) decoded from z (N, latent)");
  m.attr("VAE_EVAL_SEED") = kEvaluationSeed;
  m.attr("VAE_EVAL_BATCH_SIZE") = kEvaluationBatchSize;

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
      .def_property_readonly("config", &VaeTrainer::config)
      .def("get_parameters",
           [](const VaeTrainer& t) {
             TrainingThreads::check(t, "get_parameters");
             return model_parameters(t.parameters());
           },
           "{full name: float32 array copy} in creation order")
      .def("set_parameters", &set_trainer_parameters, py::arg("values"))
      .def("model",
           [](const VaeTrainer& t) {
             TrainingThreads::check(t, "model");
             return make_model(model_parameters(t.parameters()), "");
           },
           "a VaeModel holding a copy of the current parameters")
      .def_property("solver_state", &solver_states, &set_solver_states, "{parameter name: SolverState} (copies)")
      .def_property(
          "state",
          [](const VaeTrainer& t) {
            TrainingThreads::check(t, "state");
            return t.state();
          },
          [](VaeTrainer& t, const TrainerState& s) {
            TrainingThreads::check(t, "state");
            t.set_state(s);
          },
          "the loop's TrainerState (a copy)");

  m.def("vae_parameter_shapes", &vae_parameter_shapes, py::arg("latent") = kTutorialLatent,
        py::arg("hidden") = kTutorialHidden);
  m.def(
      "vae_format_monitor_line",
      [](int64_t it, double tl, double vl) { return format_monitor_line({it, tl, vl}); }, py::arg("iteration"),
      py::arg("train_loss"), py::arg("val_loss"));
}
