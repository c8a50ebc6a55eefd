#include "common.hpp"

#include "nnvae/checked.hpp"

namespace nnvae {
namespace detail {

Shape_t to_shape(const std::string& fname, const std::vector<int>& shape) {
  Shape_t s(shape.begin(), shape.end());
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0)
      shape_error(fname + ": shape " + shape_str(s) + " has a negative entry (entry " + std::to_string(i) + " is " +
                  std::to_string(shape[i]) + ")");
  checked_size(s, fname);  // refuses a product of the entries beyond what an array can hold
  return s;
}

void check_seed(const std::string& fname, int seed) {
  if (seed < -1)
    shape_error(fname + ": seed must be -1 (the global generator) or in [0, 2**31), got " + std::to_string(seed));
}

Shape_t broadcast_shape(const std::string& fname, const Shape_t& a, const Shape_t& b) {
  size_t n = std::max(a.size(), b.size());
  Shape_t out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i + a.size() >= n ? a[i + a.size() - n] : 1;
    int64_t db = i + b.size() >= n ? b[i + b.size() - n] : 1;
    if (da != db && da != 1 && db != 1)
      shape_error(fname + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                  " cannot be broadcast together (axis " + std::to_string(i) + ": " + std::to_string(da) +
                  " vs " + std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape_t& in, const Shape_t& out) {
  size_t n = out.size();
  std::vector<int64_t> strides(n, 0);
  int64_t s = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    size_t i = in.size() - 1 - k;  // axis of `in`
    size_t o = n - 1 - k;          // the same axis of `out`
    strides[o] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return strides;
}

}  // namespace detail
}  // namespace nnvae
