// nnvae._core: the private Python module. Each part of the engine binds
// itself in its own file; this one only puts them together.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_variable(py::module_& m);    // bind_variable.cpp: Variable, Function, the operators
void bind_functions(py::module_& m);   // bind_functions.cpp: the raw functions (_core.functions) and their table
void bind_parameters(py::module_& m);  // bind_parameter.cpp: initializers, the parameter directory, seed/threads
void bind_solvers(py::module_& m);     // bind_solver.cpp: Solver, Adam, SGD
void bind_idx(py::module_& m);       // bind_idx.cpp: the C++ IDX reader
void bind_params(py::module_& m);    // bind_params.cpp: the .protobuf parameter codec
void bind_trainer_state(py::module_& m);  // bind_trainer_state.cpp: TrainerState, SolverState
void bind_training(py::module_& m);  // bind_training.cpp: the VAE's trainer, model and evaluation
void bind_vae_config(py::module_& m);  // bind_vae_config.cpp: VaeConfig and its options, synthetic digits

PYBIND11_MODULE(_core, m) {
  m.doc() = "nnvae's C++ engine (private: use the nnvae package)";
  // Classes before the bindings that take or subclass them.
  bind_variable(m);
  bind_functions(m);
  bind_parameters(m);
  bind_solvers(m);
  bind_idx(m);
  bind_params(m);
  bind_vae_config(m);
  bind_trainer_state(m);
  bind_training(m);
}
