// nnvae._core: the private Python module. Each part of the engine binds
// itself in its own file; this one only puts them together, with the
// application's bindings (cpp/vae/python) in the submodule _core.vae.
//
// One extension module for both: the engine is a static library, so a second
// extension module (say _vae) would link its own copy of it, with its own
// global state (parameter directory, random generator, thread settings,
// auto-forward flag), and the application would train on parameters and a
// generator that nnvae's API never sees.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_variable(py::module_& m);    // bind_variable.cpp: Variable, Function, the operators
void bind_functions(py::module_& m);   // bind_functions.cpp: the raw functions (_core.functions) and their table
void bind_parameters(py::module_& m);  // bind_parameter.cpp: initializers, the parameter directory, seed/threads
void bind_solvers(py::module_& m);     // bind_solver.cpp: Solver, Adam, SGD
void bind_params(py::module_& m);    // bind_params.cpp: the .protobuf parameter codec
void bind_precision(py::module_& m);  // bind_precision.cpp: the product precision, the bf16 path
void bind_vae_application(py::module_& m);  // cpp/vae/python/bind_vae.cpp: the submodule _core.vae

PYBIND11_MODULE(_core, m) {
  m.doc() = "nnvae's C++ engine (private: use the nnvae package)";
  // Classes before the bindings that take or subclass them.
  bind_variable(m);
  bind_functions(m);
  bind_parameters(m);
  bind_solvers(m);
  bind_params(m);
  bind_precision(m);
  bind_vae_application(m);
}
