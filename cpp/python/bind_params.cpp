// The .protobuf parameter codec (nnvae/parameter_file.hpp) for Python: the
// package reads and writes NNabla's parameter files through it, so the format
// has one implementation. Also the check every file the package reads passes
// first (input_file.hpp: a regular file of a bounded size, opened without
// blocking), the one the C++ readers make.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <nnvae/checked.hpp>
#include <nnvae/parameter_file.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "nnvae/input_file.hpp"

namespace py = pybind11;
using namespace pybind11::literals;
using namespace nnvae;

void bind_params(py::module_& m) {
  py::register_exception<ParameterFileError>(m, "ParameterFileError", PyExc_ValueError);
  m.attr("PARAMETER_FILE_MAX_BYTES") = kMaxParameterFileBytes;
  m.attr("PARAMETER_MAX_DIMS") = kMaxParameterDims;

  // The path crosses as bytes (os.fsencode) and the message comes back
  // decoded the same way, so any name the file system holds round-trips.
  PyObject* const input_file_error = py::register_exception<input_file::Error>(m, "InputFileError", PyExc_ValueError).ptr();
  m.def(
      "open_regular_file",
      [input_file_error](const py::bytes& path, int64_t limit, const std::string& what) {
        try {
          const input_file::Opened file = input_file::open_regular(std::string(path), limit, what);
          return py::make_tuple(file.fd, file.size);
        } catch (const input_file::Error& e) {
          const std::string message = e.what();
          py::object text = py::reinterpret_steal<py::object>(
              PyUnicode_DecodeFSDefaultAndSize(message.data(), py::ssize_t(message.size())));
          if (!text) throw py::error_already_set();
          PyErr_SetObject(input_file_error, text.ptr());
          throw py::error_already_set();
        }
      },
      "path"_a, "limit"_a, "what"_a,
      "(file descriptor, size) of `path` (bytes), opened for reading: a regular file of at most `limit` bytes, "
      "else InputFileError (a ValueError) naming the path and what it is; `what` names the file's role.");

  m.def("format_bytes", &format_bytes, "bytes"_a,
        "A byte count as the engine's messages write it: \"512 bytes\", \"46.6 MiB\", \"30.0 GiB\".");

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
