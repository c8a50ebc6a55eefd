// The function table (functions.def) as data: one FunctionRow per row.
#include "nnvae/function_table.hpp"

#include <cstring>

namespace nnvae {

const std::vector<FunctionRow>& function_table() {
#include "nnvae/detail/open_table.hpp"
#define VAR(n) FunctionArgument{#n, "VAR", nullptr}
#define OPT_VAR(n) FunctionArgument{#n, "OPT_VAR", nullptr}
#define REAL(n, d) FunctionArgument{#n, "REAL", #d}
#define FLOAT(n, d) FunctionArgument{#n, "FLOAT", #d}
#define INT(n, d) FunctionArgument{#n, "INT", #d}
#define FLAG(n, d) FunctionArgument{#n, "FLAG", #d}
#define INTS(n, d) FunctionArgument{#n, "INTS", #d}
#define SHAPE(n, d) FunctionArgument{#n, "SHAPE", #d}
#define AXIS(n, d) FunctionArgument{#n, "AXIS", #d}
#define INTS_REQ(n) FunctionArgument{#n, "INTS", nullptr}
#define SHAPE_REQ(n) FunctionArgument{#n, "SHAPE", nullptr}
#define NNVAE_FUNCTION(name, type, form, doc, args) FunctionRow{#name, #type, #form, doc, {NNVAE_UNPAREN args}},
#define NNVAE_UNPAREN(...) __VA_ARGS__
  static const std::vector<FunctionRow> rows = {
#include "nnvae/functions.def"
  };
#undef NNVAE_UNPAREN
#include "nnvae/detail/close_table.hpp"
  return rows;
}

const FunctionRow* find_function(const std::string& name) {
  for (const FunctionRow& row : function_table())
    if (name == row.name) return &row;
  return nullptr;
}

}  // namespace nnvae
