// The C++ IDX reader for Python: parse_idx(bytes) and read_idx(path) return
// uint8 arrays, images (N, 28, 28) or labels (N,); every defect raises
// _core.IdxError, a ValueError whose message names the file.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "nnvae/idx.hpp"

namespace py = pybind11;
namespace idx = nnvae::idx;

namespace {

// Hands a vector's buffer to numpy without copying: the capsule owns it.
py::array_t<uint8_t> to_array(std::vector<uint8_t>&& data, std::vector<py::ssize_t> shape) {
  auto* owner = new std::vector<uint8_t>(std::move(data));
  py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<uint8_t>*>(p); });
  return py::array_t<uint8_t>(shape, owner->data(), free_when_done);
}

py::array_t<uint8_t> images_array(idx::IdxImages&& im) {
  const std::vector<py::ssize_t> shape = {py::ssize_t(im.count), py::ssize_t(im.rows), py::ssize_t(im.cols)};
  return to_array(std::move(im.pixels), shape);
}

py::array_t<uint8_t> labels_array(std::vector<uint8_t>&& labels) {
  const std::vector<py::ssize_t> shape = {py::ssize_t(labels.size())};
  return to_array(std::move(labels), shape);
}

// Decoded content (already decompressed), kind taken from the magic number.
py::array_t<uint8_t> decode(const std::vector<uint8_t>& raw, const std::string& name, int64_t expected_count) {
  if (idx::idx_kind(raw.data(), raw.size(), name) == idx::IdxKind::images)
    return images_array(idx::parse_idx_images(raw.data(), raw.size(), name, expected_count));
  return labels_array(idx::parse_idx_labels(raw.data(), raw.size(), name, expected_count));
}

}  // namespace

void bind_idx(py::module_& m) {
  // The reader's other error, std::invalid_argument (a bad split name), is
  // a ValueError in pybind11 already.
  py::register_exception<idx::IdxError>(m, "IdxError", PyExc_ValueError);

  m.def(
      "parse_idx",
      [](py::bytes data, const std::string& name, int64_t expected_count) {
        const std::string buffer = data;  // a copy, so the GIL can be released
        std::vector<uint8_t> raw;
        {
          py::gil_scoped_release release;
          raw = idx::decompress_if_gzip(reinterpret_cast<const uint8_t*>(buffer.data()), buffer.size(), name);
        }
        return decode(raw, name, expected_count);
      },
      py::arg("data"), py::arg("name") = "<bytes>", py::arg("expected_count") = idx::kAnyCount,
      "Check and decode IDX bytes (gzip-compressed or not) with the C++ reader: uint8 images (N, 28, 28) "
      "or labels (N,). Raises IdxError (a ValueError) naming `name` on any defect.");

  m.def(
      "read_idx",
      [](const std::string& path, int64_t expected_count) {
        std::vector<uint8_t> raw;
        {
          py::gil_scoped_release release;
          raw = idx::read_idx_bytes(path);
        }
        return decode(raw, path, expected_count);
      },
      py::arg("path"), py::arg("expected_count") = idx::kAnyCount,
      "Check and decode one IDX file (.gz or plain) with the C++ reader.");

  m.def(
      "load_mnist_split",
      [](const std::string& folder, const std::string& split) {
        idx::MnistSplit s;
        {
          py::gil_scoped_release release;
          s = idx::load_mnist_split(folder, split);
        }
        return py::make_tuple(images_array(std::move(s.images)), labels_array(std::move(s.labels)));
      },
      py::arg("folder"), py::arg("split"),
      "Images (N, 28, 28) and labels (N,) of one split ('train' or 'test') from a folder holding the IDX "
      "files (name.gz or name), with the C++ reader.");
}
