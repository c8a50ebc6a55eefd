// nnvae._core: the VAE's settings (VaeConfig, its option table) and the
// shared synthetic test digits. Python builds its command-line options and
// their --help defaults from VaeConfig.fields() and validates through
// VaeConfig.validate, so each default and check has one owner: config.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <string>

#include "nnvae/vae/config.hpp"
#include "nnvae/vae/synthetic.hpp"

namespace py = pybind11;
using namespace nnvae::vae;

namespace {

// {name: value} of every field, typed as the attributes are; a float32
// setting as the double of its shortest text (3e-4f: 0.0003, what the user
// gave, not 0.0003000000142492354), which reads back as the same float32.
py::dict config_to_dict(const py::object& config) {
  const VaeConfig& c = config.cast<const VaeConfig&>();
  py::dict d;
  for (const ConfigField& f : config_fields())
    d[py::str(f.name)] = f.kind == ConfigField::Kind::real ? py::float_(std::stod(f.get(c)))
                                                           : py::object(config.attr(f.name.c_str()));
  return d;
}

// Sets each {name: value}; a str value of a numeric field is parsed as its
// command-line text. Unknown names raise ValueError listing the known ones.
void config_update(py::object& config, const py::dict& values) {
  for (auto item : values) {
    const ConfigField& f = config_field(py::str(item.first).cast<std::string>());
    if (py::isinstance<py::str>(item.second))
      f.set(config.cast<VaeConfig&>(), item.second.cast<std::string>());
    else
      config.attr(f.name.c_str()) = item.second;
  }
}

// The defaults with `values` set as config_update does.
VaeConfig config_from(const py::dict& values) {
  py::object c = py::cast(VaeConfig());
  config_update(c, values);
  return c.cast<VaeConfig>();
}

}  // namespace

void bind_vae_config(py::module_& m) {
  py::class_<VaeConfig>(m, "VaeConfig",
                        "Settings of the VAE's training; a fresh VaeConfig() holds the defaults (the tutorial's "
                        "recipe). Construct from a dict: VaeConfig({'batch_size': 50}) or VaeConfig(batch_size=50).")
      .def(py::init<>())
      .def(py::init(&config_from), py::arg("values"))
      .def(py::init([](const py::kwargs& values) { return config_from(values); }))
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
          [](VaeConfig& c, const std::string& s) { c.graph = parse_graph_mode(s); }, "'static' or 'dynamic'")
      .def_property(
          "precision", [](const VaeConfig& c) { return nnvae::matmul_precision_name(c.precision); },
          [](VaeConfig& c, const std::string& s) { c.precision = nnvae::parse_matmul_precision(s); },
          "the products' precision, 'fp32' or 'bf16'")
      .def("validate", &VaeConfig::validate, py::arg("n_train") = -1, py::arg("n_test") = -1,
           "Raises ValueError naming the first impossible setting (also against the training / validation set "
           "sizes when given; -1: not known yet).")
      .def_static(
          "fields",
          []() {
            py::dict defaults = config_to_dict(py::cast(VaeConfig()));
            py::list out;
            for (const ConfigField& f : config_fields()) {
              py::dict d;
              d["name"] = f.name;
              d["flag"] = f.flag;
              d["metavar"] = f.metavar;
              d["help"] = f.help;
              d["kind"] = kind_name(f.kind);
              d["choices"] = f.choices;
              d["default"] = defaults[py::str(f.name)];
              out.append(d);
            }
            return out;
          },
          "Every setting as a command-line option, in --help order: [{'name': attribute name, 'flag': option "
          "without dashes ('batch-size'), 'metavar', 'help': text without the default, 'kind': 'int' | 'float' | "
          "'str' | 'choice', 'choices': [str] (kind 'choice'), 'default': the value of VaeConfig(), floats as their shortest decimal}]. Ranges of "
          "meaning are validate()'s.")
      .def(
          "set",
          [](VaeConfig& c, const std::string& name, const std::string& text) { config_field(name).set(c, text); },
          py::arg("name"), py::arg("text"),
          "Sets the field `name` (attribute name or flag) from command-line text; raises ValueError naming the "
          "flag and the text when it is not a value of the field's type, e.g. \"--batch-size: expected a whole "
          "number, got 'x'\".")
      .def(
          "get", [](const VaeConfig& c, const std::string& name) { return config_field(name).get(c); },
          py::arg("name"), "The field `name` as command-line text.")
      .def("to_dict", [](const py::object& self) { return config_to_dict(self); },
           "{name: value} of every field, in fields() order; floats as their shortest decimal (0.0003).")
      .def("update", [](py::object& self, const py::dict& values) { config_update(self, values); },
           py::arg("values"), "Sets each {name: value}; a str value is parsed as command-line text.")
      .def("__eq__", [](const py::object& a, const py::object& b) {
        return py::isinstance<VaeConfig>(b) && config_to_dict(a).equal(config_to_dict(b));
      })
      .def("__repr__", [](const VaeConfig& c) {
        std::string s = "VaeConfig(";
        for (const ConfigField& f : config_fields())
          s += (s.size() > 10 ? ", " : "") + f.name + "=" +
               (f.kind == ConfigField::Kind::integer || f.kind == ConfigField::Kind::real ? f.get(c)
                                                                                       : "'" + f.get(c) + "'");
        return s + ")";
      });

  m.def(
      "synthetic_digits",
      [](int64_t count, uint32_t seed) {
        ImageSet set = synthetic_digits(count, seed);
        py::array_t<uint8_t> out({static_cast<py::ssize_t>(set.count), static_cast<py::ssize_t>(kRows),
                                  static_cast<py::ssize_t>(kCols)});
        std::copy(set.pixels.begin(), set.pixels.end(), out.mutable_data());
        return out;
      },
      py::arg("count"), py::arg("seed"),
      "uint8 array (count, 28, 28) of digit-like pictures, deterministic in seed: one of four bright strokes "
      "(values 200..254) per image plus about 2 % stray pixels of 150; the C++ tests and benchmark use the same.");
}
