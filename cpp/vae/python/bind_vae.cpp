// nnvae._core.vae: the application's bindings (the tutorial's VAE), one
// submodule of the engine's module. Each part binds itself in its own file;
// this one makes the submodule and puts them together.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_vae_config(py::module_& m);     // bind_vae_config.cpp: VaeConfig and its options, synthetic digits
void bind_trainer_state(py::module_& m);  // bind_trainer_state.cpp: TrainerState, SolverState
void bind_training(py::module_& m);       // bind_training.cpp: the VAE's trainer, model and evaluation
void bind_idx(py::module_& m);            // bind_idx.cpp: the C++ IDX reader

void bind_vae_application(py::module_& core) {
  py::module_ m = core.def_submodule("vae", "the NNabla tutorial's VAE on nnvae's engine (private: use nnvae.app)");
  // Classes before the bindings that take them.
  bind_vae_config(m);
  bind_trainer_state(m);
  bind_training(m);
  bind_idx(m);
}
