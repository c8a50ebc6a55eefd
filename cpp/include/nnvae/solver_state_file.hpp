// Solver state files NNabla reads and writes as .protobuf (its Python
// Solver.save_states / load_states), encoded and decoded here by hand:
//
//   message SolverStateParameter { Shape shape = 20; repeated float data = 100; }
//   message SolverState { uint32 t = 1; map<string, SolverStateParameter> state_parameter = 2; }
//   message Solver      { map<string, SolverState> states = 40; }
//   message Optimizer   { Solver solver = 30; }
//
// A file is one Optimizer with only solver.states set: for each parameter
// (by its full name) the step count t and the state arrays under NNabla's
// names ("mean" and "var" for Adam; none for SGD). A map entry is a message
// { key = 1; value = 2; }. The reader accepts what a proto3 parser does
// (fields in any order, unknown fields skipped, a map key given twice: the
// last value wins); every failure is a ParameterFileError naming the source
// and, for malformed bytes, the byte offset and the field.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nnvae/array.hpp"

namespace nnvae {

// One state array: its NNabla name, shape and row-major values.
struct StateArrayRecord {
  std::string key;
  Shape_t shape;
  std::vector<float> data;
};

// One parameter's solver state.
struct SolverStateRecord {
  std::string name;
  uint32_t t = 0;
  std::vector<StateArrayRecord> arrays;
};

// The Optimizer bytes of `states` (names non-empty and distinct, keys
// distinct per parameter, data sizes matching the shapes).
std::string encode_solver_states_protobuf(const std::vector<SolverStateRecord>& states);
// Decodes Optimizer bytes, in the order the parameters first appear;
// `source` names them in errors (a path).
std::vector<SolverStateRecord> decode_solver_states_protobuf(const char* bytes, size_t size,
                                                             const std::string& source);

}  // namespace nnvae
