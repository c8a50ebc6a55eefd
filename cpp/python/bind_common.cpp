// nnvae._core: the shared conversions declared in bind_common.hpp.
#include "bind_common.hpp"

#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace nnvae_py {

using namespace nnvae;

std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

namespace {

// A shape entry as a Python int: a Python int or anything with __index__
// (numpy integers), but not bool or float.
py::int_ shape_entry(py::handle obj, const std::string& where) {
  if (py::isinstance<py::bool_>(obj) || !PyIndex_Check(obj.ptr()))
    throw py::type_error(where + ": shape entries must be integers, got " + type_name(obj));
  py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!index) throw py::error_already_set();
  return py::reinterpret_borrow<py::int_>(index);
}

// `value` (a number, or an array-like of exactly the array's shape) converted
// to float32; throws TypeError for what is not numbers, ValueError for a
// shape that does not fit.
FloatArray values_for(py::handle value, const Shape_t& shape, const std::string& what) {
  if (value.is_none() || py::isinstance<py::str>(value) || py::isinstance<py::bytes>(value) ||
      py::isinstance<CgVariable>(value))
    throw py::type_error(what + ": expected a number or an array of numbers, got " + type_name(value) +
                         (py::isinstance<CgVariable>(value) ? " (copy its values with .d)" : ""));
  FloatArray a = FloatArray::ensure(value);
  if (!a) throw py::type_error(what + ": cannot convert a " + type_name(value) + " to float32 numbers");
  if (a.ndim() == 0) return a;
  Shape_t given(a.shape(), a.shape() + a.ndim());
  if (given != shape)
    throw std::invalid_argument(what + ": an array of shape " + shape_str(given) +
                                " does not fit the variable's shape " + shape_str(shape));
  return a;
}

}  // namespace

std::vector<int64_t> dims_from_py(py::handle obj, const std::string& where) {
  std::vector<py::int_> entries;
  if (PyIndex_Check(obj.ptr()) && !py::isinstance<py::bool_>(obj)) {
    entries.push_back(shape_entry(obj, where));
  } else if (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj) && !py::isinstance<py::bytes>(obj)) {
    for (py::handle item : obj) entries.push_back(shape_entry(item, where));
  } else {
    throw py::type_error(where + ": shape must be an int or a sequence of ints, got " + type_name(obj));
  }
  // The shape as given (entries of any size), for the messages.
  auto given = [&] {
    std::string s = "(";
    for (size_t i = 0; i < entries.size(); ++i) s += (i ? ", " : "") + std::string(py::str(entries[i]));
    return s + (entries.size() == 1 ? ",)" : ")");
  };
  std::vector<int64_t> dims;
  for (auto& e : entries) {
    int overflow = 0;
    long long d = PyLong_AsLongLongAndOverflow(e.ptr(), &overflow);
    if (d == -1 && PyErr_Occurred()) throw py::error_already_set();
    if (overflow > 0)
      throw std::invalid_argument(where + ": shape " + given() + " has an entry beyond 2**63 - 1, the most "
                                  "elements an array dimension can have");
    if (overflow < 0) throw std::invalid_argument(where + ": shape " + given() + " has a negative entry");
    dims.push_back(d);
  }
  return dims;
}

Shape_t shape_from_py(py::handle obj, const std::string& where) {
  Shape_t shape = dims_from_py(obj, where);
  for (int64_t d : shape)
    if (d < 0) throw std::invalid_argument(where + ": shape " + shape_str(shape) + " has a negative entry");
  return shape;
}

py::tuple shape_to_py(const Shape_t& shape) {
  py::tuple t(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) t[i] = py::int_(shape[i]);
  return t;
}

py::array array_view(const NdArrayPtr& arr, const std::string& what) {
  if (arr->cleared())
    throw std::invalid_argument(what + ": the buffer (shape " + shape_str(arr->shape()) +
                                ") was freed by clear_buffer; run forward again, or set persistent=True "
                                "on the variable before forward/backward");
  float* data = arr->cast<float>(kCpu, /*write_only=*/false);  // zeros if never written
  auto keep = std::make_unique<Storage>(arr->storage());
  py::capsule base(keep.get(), [](void* p) { delete static_cast<Storage*>(p); });
  keep.release();
  const Shape_t& shape = arr->shape();
  std::vector<py::ssize_t> dims(shape.begin(), shape.end()), strides(shape.size());
  py::ssize_t step = sizeof(float);
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    step *= static_cast<py::ssize_t>(shape[i]);
  }
  return py::array(py::dtype::of<float>(), dims, strides, data, base);
}

void assign(const NdArrayPtr& arr, py::handle value, const std::string& what) {
  FloatArray a = values_for(value, arr->shape(), what);
  if (a.ndim() == 0) {
    arr->fill(*a.data());
    return;
  }
  float* dst = arr->cast<float>(kCpu, /*write_only=*/true);
  std::memcpy(dst, a.data(), static_cast<size_t>(arr->size()) * sizeof(float));
}

py::array_t<float> to_numpy(const NdArray& arr) {
  std::vector<py::ssize_t> shape(arr.shape().begin(), arr.shape().end());
  py::array_t<float> out(shape);
  const float* src = arr.read("a parameter or solver state");
  std::memcpy(out.mutable_data(), src, sizeof(float) * arr.size());
  return out;
}

}  // namespace nnvae_py
