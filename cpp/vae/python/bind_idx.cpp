// The C++ IDX reader for Python. The package reads a file's bytes itself,
// gets its content through idx_content (the one gzip reader, zlib in C++;
// gunzip for other gzip data with its own limit), checks the checksums,
// then decodes it through decode_idx; parse_idx, read_idx and
// load_mnist_split are the reader's own file route, as the C++ programs
// use it. Every format defect raises _core.vae.IdxError, a ValueError
// whose message starts with the file's name and gives the wrong value.
//
// The format's constants are bound too (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC,
// IDX_ROWS, IDX_COLS, IDX_NUM_CLASSES, IDX_MAX_DECOMPRESSED), so that Python
// reads them from here instead of restating them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnvae/vae/idx.hpp"

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

// A read-only, contiguous view of any bytes-like object (bytes, bytearray,
// memoryview, numpy uint8 array), released when it goes out of scope.
struct BytesView {
  Py_buffer view;
  explicit BytesView(const py::object& obj) {
    if (PyObject_GetBuffer(obj.ptr(), &view, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  }
  ~BytesView() { PyBuffer_Release(&view); }
  BytesView(const BytesView&) = delete;
  BytesView& operator=(const BytesView&) = delete;
  const uint8_t* data() const { return static_cast<const uint8_t*>(view.buf); }
  size_t size() const { return size_t(view.len); }
};

// f(bytes, size) on a bytes-like object's buffer, run without the GIL.
template <class F>
std::vector<uint8_t> without_gil(const py::object& data, F f) {
  const BytesView bytes(data);
  py::gil_scoped_release release;
  return f(bytes.data(), bytes.size());
}

py::bytes as_bytes(const std::vector<uint8_t>& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

}  // namespace

void bind_idx(py::module_& m) {
  // The reader's other error, std::invalid_argument (a bad split or kind
  // name), is a ValueError in pybind11 already.
  py::register_exception<idx::IdxError>(m, "IdxError", PyExc_ValueError);

  m.attr("IDX_IMAGES_MAGIC") = idx::kImagesMagic;
  m.attr("IDX_LABELS_MAGIC") = idx::kLabelsMagic;
  m.attr("IDX_ROWS") = idx::kRows;
  m.attr("IDX_COLS") = idx::kCols;
  m.attr("IDX_NUM_CLASSES") = idx::kNumClasses;
  m.attr("IDX_MAX_DECOMPRESSED") = idx::kMaxDecompressed;

  m.def(
      "decode_idx",
      [](const py::object& content, const std::string& name, const std::optional<std::string>& kind,
         std::optional<int64_t> expected_count) -> py::array_t<uint8_t> {
        if (kind && *kind != "images" && *kind != "labels")
          throw std::invalid_argument("decode_idx: kind must be 'images', 'labels' or None, not '" + *kind + "'");
        const int64_t count = expected_count.value_or(idx::kAnyCount);
        const BytesView bytes(content);  // no copy: the decoder reads the caller's buffer
        idx::IdxImages images;
        std::vector<uint8_t> labels;
        bool is_images;
        {
          py::gil_scoped_release release;
          // The magic number first, without gzip sniffing: content that is
          // still gzip data starts 1f 8b and is refused as a wrong magic.
          const idx::IdxKind found = idx::idx_kind(bytes.data(), bytes.size(), name);
          is_images = kind ? *kind == "images" : found == idx::IdxKind::images;
          if (is_images)
            images = idx::parse_idx_images(bytes.data(), bytes.size(), name, count);
          else
            labels = idx::parse_idx_labels(bytes.data(), bytes.size(), name, count);
        }
        return is_images ? images_array(std::move(images)) : labels_array(std::move(labels));
      },
      py::arg("content"), py::arg("name") = "<bytes>", py::arg("kind") = py::none(),
      py::arg("expected_count") = py::none(),
      "Check and decode decompressed IDX content (any bytes-like object): a new, writable uint8 array of "
      "images (N, 28, 28) or labels (N,). `kind` ('images' or 'labels') and `expected_count` add checks. "
      "Raises IdxError (a ValueError) whose message starts with `name` on any defect.");

  m.def(
      "gunzip",
      [](const py::object& data, const std::string& name, size_t limit) {
        return as_bytes(without_gil(data, [&](const uint8_t* p, size_t n) {
          return idx::decompress_if_gzip(p, n, name, limit);
        }));
      },
      py::arg("data"), py::arg("name"), py::arg("limit") = idx::kMaxDecompressed,
      "The decompressed bytes of gzip data (every member; more than `limit` bytes refused), or the bytes "
      "themselves when they are not gzip data. Raises IdxError naming `name` on broken gzip.");

  m.def(
      "idx_content",
      [](const py::object& data, const std::string& name) {
        return as_bytes(without_gil(data, [&](const uint8_t* p, size_t n) { return idx::idx_content(p, n, name); }));
      },
      py::arg("data"), py::arg("name"),
      "A file's IDX content from its bytes: decompressed when `name` ends in .gz (the bytes must then be gzip "
      "data) or the bytes start with the gzip magic, else the bytes themselves. Raises IdxError naming `name`.");

  m.def(
      "parse_idx",
      [](const py::object& data, const std::string& name, int64_t expected_count) {
        auto raw = without_gil(data, [&](const uint8_t* p, size_t n) { return idx::decompress_if_gzip(p, n, name); });
        return decode(raw, name, expected_count);
      },
      py::arg("data"), py::arg("name") = "<bytes>", py::arg("expected_count") = idx::kAnyCount,
      "Check and decode IDX bytes (any bytes-like object), gzip-compressed (decompressed by the C++ reader) or not: uint8 images "
      "(N, 28, 28) or labels (N,). Raises IdxError (a ValueError) naming `name` on any defect.");

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
