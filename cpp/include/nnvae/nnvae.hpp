// nnvae: a small autodiff graph engine with NNabla's Python-like C++ API,
// NNabla's parameter files (save_parameters / load_parameters) and its
// solver-state files (encode/decode_solver_states_protobuf).
//
//   #include <nnvae/nnvae.hpp>
//   using namespace nnvae;
//   namespace f = nnvae::functions;
//   namespace pf = nnvae::parametric_functions;
#pragma once
#include "nnvae/array.hpp"
#include "nnvae/function_table.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/graph.hpp"
#include "nnvae/parameter.hpp"
#include "nnvae/parameter_file.hpp"
#include "nnvae/parametric_functions.hpp"
#include "nnvae/precision.hpp"
#include "nnvae/random.hpp"
#include "nnvae/solver.hpp"
#include "nnvae/solver_state_file.hpp"
#include "nnvae/threads.hpp"
