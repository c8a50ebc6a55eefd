// Walking row-major arrays (private to the engine): axis arguments and
// strided positions, shared by the functions that index along axes.
#pragma once
#include <string>
#include <vector>

#include "common.hpp"

namespace nnvae {
namespace detail {

// An axis in [-n, n) as [0, n) (n axes of `shape`; stack passes ndim + 1),
// or an error naming the function, the axis and the shape.
inline int normalize_axis(const std::string& fname, int axis, int n, const Shape_t& shape) {
  const int a = axis < 0 ? axis + n : axis;
  if (a < 0 || a >= n)
    shape_error(fname + ": axis " + std::to_string(axis) + " is out of range for shape " + shape_str(shape) + " (" +
                std::to_string(n) + " axes)");
  return a;
}

// Row-major strides of `shape` (the last axis 1).
inline std::vector<int64_t> contiguous_strides(const Shape_t& shape) {
  std::vector<int64_t> st(shape.size());
  int64_t step = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    st[k] = step;
    step *= shape[k];
  }
  return st;
}

// Calls fn(i, offset) for each position i of `shape` in row-major order,
// with offset = base + Σ_d idx_d(i)·strides[d] (strides may be 0 or negative).
template <class Fn>
void for_each_strided(const Shape_t& shape, const std::vector<int64_t>& strides, int64_t base, Fn fn) {
  const int64_t n = shape_size(shape);
  if (n == 0) return;
  const int nd = static_cast<int>(shape.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t off = base;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, off);
    for (int d = nd - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace detail
}  // namespace nnvae
