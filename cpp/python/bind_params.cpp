// The .protobuf parameter codec (nnvae/parameter_file.hpp) for Python: the
// package reads and writes NNabla's parameter files through it, so the format
// has one implementation.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <nnvae/parameter_file.hpp>
#include <string>
#include <tuple>
#include <vector>

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;

void bind_params(py::module_& m) {
  py::register_exception<ParameterFileError>(m, "ParameterFileError", PyExc_ValueError);
  m.attr("PARAMETER_FILE_MAX_BYTES") = kMaxParameterFileBytes;
  m.attr("PARAMETER_MAX_DIMS") = kMaxParameterDims;

  m.def(
      "encode_parameters_protobuf",
      [](const std::vector<std::tuple<std::string, py::array_t<float, py::array::c_style | py::array::forcecast>,
                                      bool>>& params) {
        std::vector<ParameterRecord> records;
        records.reserve(params.size());
        for (auto& [name, arr, need_grad] : params) {
          ParameterRecord rec;
          rec.name = name;
          for (py::ssize_t i = 0; i < arr.ndim(); ++i) rec.shape.push_back(arr.shape(i));
          rec.data.assign(arr.data(), arr.data() + arr.size());
          rec.need_grad = need_grad;
          records.push_back(std::move(rec));
        }
        std::string bytes;
        {
          py::gil_scoped_release release;
          bytes = encode_parameters_protobuf(records);
        }
        return py::bytes(bytes);
      },
      "params"_a,
      "NNablaProtoBuf bytes of [(name, float32 array, need_grad), ...] (names non-empty and distinct).");

  m.def(
      "decode_parameters_protobuf",
      [](const py::buffer& content, const std::string& source) {
        py::buffer_info info = content.request();
        if (info.ndim > 1 || (info.ndim == 1 && info.itemsize != 1 && info.strides[0] != info.itemsize))
          throw std::invalid_argument("decode_parameters_protobuf: expected bytes, got a buffer of " +
                                      std::to_string(info.ndim) + " dimensions");
        const char* data = static_cast<const char*>(info.ptr);
        const size_t size = static_cast<size_t>(info.size * info.itemsize);
        std::vector<ParameterRecord> records;
        {
          py::gil_scoped_release release;
          records = decode_parameters_protobuf(data, size, source);
        }
        py::list out;
        for (auto& rec : records) {
          std::vector<py::ssize_t> shape(rec.shape.begin(), rec.shape.end());
          py::array_t<float> arr(shape);
          if (!rec.data.empty()) std::memcpy(arr.mutable_data(), rec.data.data(), rec.data.size() * sizeof(float));
          out.append(py::make_tuple(rec.name, arr, rec.need_grad));
        }
        return out;
      },
      "content"_a, "source"_a,
      "[(name, float32 array, need_grad), ...] of NNablaProtoBuf bytes, in file order; `source` (a path) names "
      "them in a ParameterFileError.");
}
