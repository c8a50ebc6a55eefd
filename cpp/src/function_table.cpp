// The function table (functions.def) as data: one FunctionRow per row.
#include "nnvae/function_table.hpp"

#include <cstring>

namespace nnvae {

const std::vector<FunctionRow>& function_table() {
#include "nnvae/detail/open_table.hpp"
#define VAR(n) FunctionArgument{#n, "VAR", nullptr}
#define OPT_VAR(n) FunctionArgument{#n, "OPT_VAR", nullptr}
#define REAL(n, ...) FunctionArgument{#n, "REAL", #__VA_ARGS__}
#define FLOAT(n, ...) FunctionArgument{#n, "FLOAT", #__VA_ARGS__}
#define INT(n, ...) FunctionArgument{#n, "INT", #__VA_ARGS__}
#define FLAG(n, ...) FunctionArgument{#n, "FLAG", #__VA_ARGS__}
#define INTS(n, ...) FunctionArgument{#n, "INTS", #__VA_ARGS__}
#define SHAPE(n, ...) FunctionArgument{#n, "SHAPE", #__VA_ARGS__}
#define AXIS(n, ...) FunctionArgument{#n, "AXIS", #__VA_ARGS__}
#define SPATIAL(n) FunctionArgument{#n, "SPATIAL", nullptr}
#define SPATIAL_OPTS(n) FunctionArgument{#n, "SPATIAL", nullptr}
#define FLAG_OPTS(n, ...) FunctionArgument{#n, "FLAG", #__VA_ARGS__}
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
