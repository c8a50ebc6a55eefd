// nnvae._core, parameter part: initializers, the global parameter directory
// (addressed by full names such as "fc1/affine/W") and the global switches
// (seed, auto-forward, threads, the storage cache). The public Python API
// lives in python/nnvae/.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bind_common.hpp"
#include "nnvae/nnvae.hpp"
#include "nnvae/parameter_file.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;
using namespace nnvae_py;

namespace {

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

}  // namespace

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
  m.def(
      "_load_parameter_records",
      [](const std::string& scope, const std::vector<std::tuple<std::string, FloatArray, bool>>& given,
         const std::string& source) {
        std::vector<ParameterRecord> records;
        records.reserve(given.size());
        for (auto& [name, arr, need_grad] : given)
          records.push_back({name, Shape_t(arr.shape(), arr.shape() + arr.ndim()),
                             std::vector<float>(arr.data(), arr.data() + arr.size()), need_grad});
        ParameterDirectory dir = scope.empty() ? global_parameters() : global_parameters()[scope];
        load_parameter_records(dir, records, source);
      },
      "scope"_a, "records"_a, "source"_a,
      "Puts [(name, float32 array, need_grad), ...] (a file's records) into the directory under `scope`, all or "
      "nothing: a ParameterFileError naming `source` changes no parameter.");
  m.def(
      "_clear_parameters",
      [](const std::string& scope) {
        if (scope.empty())
          global_parameters().clear();
        else
          global_parameters()[scope].clear();
      },
      "scope"_a, "Removes the parameters under `scope` (a path such as \"enc/fc1\"; \"\": all).");
  m.def("set_seed", [](uint32_t seed) { set_seed(seed); }, "seed"_a);
  m.def("set_auto_forward", &set_auto_forward, "auto"_a);
  m.def("get_auto_forward", &get_auto_forward);
  m.def("set_num_threads", &set_num_threads, "n"_a);
  m.def("get_num_threads", &get_num_threads);
  m.attr("MAX_THREADS") = max_threads();  // the one bound on thread counts (set_num_threads, --threads)
  m.def("clear_storage_cache", &clear_storage_cache, py::call_guard<py::gil_scoped_release>(),
        "Gives every cached storage block back to the system (blocks in use stay).");
  m.def(
      "storage_cache_stats",
      [] {
        const StorageCacheStats s = storage_cache_stats();
        py::dict out;
        out["in_use_bytes"] = s.in_use_bytes;
        out["cached_bytes"] = s.cached_bytes;
        out["peak_in_use_bytes"] = s.peak_in_use_bytes;
        out["hits"] = s.hits;
        out["misses"] = s.misses;
        return out;
      },
      "The storage cache's counts (array.hpp's StorageCacheStats) as a dict.");
}
