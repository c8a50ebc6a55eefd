// The function table (functions.def) as data, for code that reads it at run
// time: the Python package builds nnvae.functions from it, and Function.name
// in Python reports the NNabla type name it gives.
#pragma once
#include <string>
#include <vector>

namespace nnvae {

struct FunctionArgument {
  const char* name;
  const char* kind;           // VAR, OPT_VAR, REAL, FLOAT, INT, FLAG, INTS, SHAPE, AXIS or SPATIAL
  const char* default_value;  // as functions.def writes it ("1.0", "false", "{}"); null when required
};

struct FunctionRow {
  const char* name;         // the C++ and Python name ("leaky_relu"), also the engine's Function::name()
  const char* nnabla_type;  // NNabla's type name ("LeakyReLU")
  const char* form;         // GEN, CPP or HAND (see functions.def)
  const char* description;
  std::vector<FunctionArgument> arguments;
};

// Every row, in the table's order.
const std::vector<FunctionRow>& function_table();

// The row named `name`, or null.
const FunctionRow* find_function(const std::string& name);

}  // namespace nnvae
