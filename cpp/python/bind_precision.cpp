// The product precision setting (nnvae/precision.hpp): its names, the bf16
// rounding (for tests) and the bf16 path this machine runs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "nnvae/precision.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;

namespace {

py::dict dispatch_dict(const Bf16Dispatch& d) {
  py::dict cpu;
  cpu["avx512_bf16"] = d.cpu.avx512_bf16;
  cpu["amx_bf16"] = d.cpu.amx_bf16;
  cpu["amx_tile"] = d.cpu.amx_tile;
  cpu["amx_permitted"] = d.cpu.amx_permitted;
  py::dict out;
  out["path"] = bf16_path_name(d.path);
  out["reason"] = d.reason;
  out["cpu"] = cpu;
  return out;
}

}  // namespace

void bind_precision(py::module_& m) {
  // The accepted names, in order (the default first): nnvae.set_matmul_precision's check reads them.
  py::tuple names(matmul_precision_names().size());
  for (size_t i = 0; i < matmul_precision_names().size(); ++i) names[i] = matmul_precision_names()[i];
  m.attr("MATMUL_PRECISIONS") = names;
  m.def(
      "set_matmul_precision", [](const std::string& name) { set_matmul_precision(parse_matmul_precision(name)); },
      "name"_a, "Sets the product precision by name (ValueError naming the value and the accepted ones).");
  m.def(
      "get_matmul_precision", [] { return matmul_precision_name(get_matmul_precision()); },
      "The product precision's name.");
  m.def(
      "round_to_bf16",
      [](py::array_t<float, py::array::c_style | py::array::forcecast> x) {
        py::array_t<float> y(x.request().shape);
        round_to_bf16(x.data(), y.mutable_data(), static_cast<int64_t>(x.size()));
        return y;
      },
      "x"_a, "x rounded to bfloat16 (to nearest, ties to even), as float32: the rounding bf16 products apply.");
  m.def(
      "bf16_dispatch", [] { return dispatch_dict(bf16_dispatch()); },
      "This machine's bf16 product path: {'path': 'emulated' | 'avx512_bf16' | 'amx', 'reason': one line, "
      "'cpu': {feature: bool}}.");
  m.def(
      "bf16_dispatch_for",
      [](bool avx512_bf16, bool amx_bf16, bool amx_tile, bool amx_permitted, const std::string& amx_refusal) {
        CpuBf16Features f;
        f.avx512_bf16 = avx512_bf16, f.amx_bf16 = amx_bf16, f.amx_tile = amx_tile, f.amx_permitted = amx_permitted;
        return dispatch_dict(bf16_dispatch_for(f, amx_refusal));
      },
      "avx512_bf16"_a = false, "amx_bf16"_a = false, "amx_tile"_a = false, "amx_permitted"_a = false,
      "amx_refusal"_a = "", "The path a CPU with these features would get (for tests of the choice and its reason).");
}
