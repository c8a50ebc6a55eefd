// nnvae._core, the functions: _core.functions holds the engine functions in
// C++ argument order, without defaults (nnvae.functions, built from
// _core.function_table(), gives them NNabla's signatures and checks the
// arguments). The rows of the function table (functions.def) of form GEN and
// CPP are bound from the table; those of form HAND below it.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "nnvae/nnvae.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;
namespace f = nnvae::functions;

namespace {

// sig::<name>: the pointer type of the table's declaration of f::<name>, so
// that a name with hand-written overloads (convolution's short form) binds
// the table's one.
namespace sig {
#include "nnvae/detail/open_table.hpp"
#define VAR(n) CgVariablePtr
#define OPT_VAR(n) CgVariablePtr
#define REAL(n, ...) double
#define FLOAT(n, ...) float
#define INT(n, ...) int
#define FLAG(n, ...) bool
#define INTS(n, ...) const std::vector<int>&
#define SHAPE(n, ...) const std::vector<int>&
#define AXIS(n, ...) int
#define SPATIAL(n) const std::vector<int>&
#define SPATIAL_OPTS(n) const std::vector<int>&
#define FLAG_OPTS(n, ...) bool
#define INTS_REQ(n) const std::vector<int>&
#define SHAPE_REQ(n) const std::vector<int>&
#define NNVAE_FUNCTION(name, type, form, doc, args) NNVAE_SIGNATURE_##form(name, args)
#define NNVAE_SIGNATURE_GEN(name, args) using name = CgVariablePtr(*) args;
#define NNVAE_SIGNATURE_CPP(name, args) using name = CgVariablePtr(*) args;
#define NNVAE_SIGNATURE_HAND(name, args)
#include "nnvae/functions.def"
#undef NNVAE_SIGNATURE_GEN
#undef NNVAE_SIGNATURE_CPP
#undef NNVAE_SIGNATURE_HAND
#include "nnvae/detail/close_table.hpp"
}  // namespace sig

py::dict row_to_py(const FunctionRow& row) {
  py::list arguments;
  for (const FunctionArgument& a : row.arguments)
    arguments.append(py::make_tuple(a.name, a.kind, a.default_value ? py::object(py::str(a.default_value)) : py::none()));
  return py::dict("name"_a = row.name, "nnabla_type"_a = row.nnabla_type, "form"_a = row.form,
                  "description"_a = row.description, "arguments"_a = arguments);
}

}  // namespace

void bind_functions(py::module_& m) {
  auto fm = m.def_submodule("functions", "Raw engine functions (use nnvae.functions).");
  using P = CgVariablePtr;
  using Ints = const std::vector<int>&;

#include "nnvae/detail/open_table.hpp"
#define VAR(n) py::arg(#n)
#define OPT_VAR(n) py::arg(#n).none(true)
#define REAL(n, ...) py::arg(#n)
#define FLOAT(n, ...) py::arg(#n)
#define INT(n, ...) py::arg(#n)
#define FLAG(n, ...) py::arg(#n)
#define INTS(n, ...) py::arg(#n)
#define SHAPE(n, ...) py::arg(#n)
#define AXIS(n, ...) py::arg(#n)
#define SPATIAL(n) py::arg(#n)
#define SPATIAL_OPTS(n) py::arg(#n)
#define FLAG_OPTS(n, ...) py::arg(#n)
#define INTS_REQ(n) py::arg(#n)
#define SHAPE_REQ(n) py::arg(#n)
#define NNVAE_FUNCTION(name, type, form, doc, args) NNVAE_BIND_##form(name, doc, args)
#define NNVAE_BIND_GEN(name, doc, args) fm.def(#name, static_cast<sig::name>(&f::name), doc, NNVAE_UNPAREN args);
#define NNVAE_BIND_CPP(name, doc, args) fm.def(#name, static_cast<sig::name>(&f::name), doc, NNVAE_UNPAREN args);
#define NNVAE_BIND_HAND(name, doc, args)
#define NNVAE_UNPAREN(...) __VA_ARGS__
#include "nnvae/functions.def"
#undef NNVAE_BIND_GEN
#undef NNVAE_BIND_CPP
#undef NNVAE_BIND_HAND
#undef NNVAE_UNPAREN
#include "nnvae/detail/close_table.hpp"

  // The rows of form HAND. (Bounds given as variables: nnvae.functions composes maximum2/minimum2.)
  fm.def("clip_by_value", py::overload_cast<P, double, double>(&f::clip_by_value), "x"_a, "min"_a, "max"_a);
  fm.def("concatenate", &f::concatenate, "x"_a, "axis"_a);
  fm.def("stack", &f::stack, "x"_a, "axis"_a);
  fm.def("split", &f::split, "x"_a, "axis"_a);
  fm.def("max", &f::max, "x"_a, "axes"_a, "keep_dims"_a, "only_index"_a);
  fm.def("min", &f::min, "x"_a, "axes"_a, "keep_dims"_a, "only_index"_a);
  fm.def("max_with_index", [](P x, Ints axes, bool keep_dims) { return f::max_with_index(x, axes, keep_dims); },
         "x"_a, "axes"_a, "keep_dims"_a);
  fm.def("min_with_index", [](P x, Ints axes, bool keep_dims) { return f::min_with_index(x, axes, keep_dims); },
         "x"_a, "axes"_a, "keep_dims"_a);

  m.def("function_table", [] {
    py::list rows;
    for (const FunctionRow& row : function_table()) rows.append(row_to_py(row));
    return rows;
  }, "The function table (functions.def): one dict per row, arguments as (name, kind, default text or None).");
}
