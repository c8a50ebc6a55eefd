#include "conv_geometry.hpp"

#include <algorithm>

#include "common.hpp"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnvae {
namespace detail {

namespace {

// The entries of one spatial argument: `given` (S entries), or `fill` on
// every axis when empty; checked against `least`.
std::vector<int64_t> spatial_arg(const std::string& fname, const char* name, const std::vector<int>& given,
                                 size_t spatial, int fill, int least, const Shape_t& x) {
  if (given.empty()) return std::vector<int64_t>(spatial, fill);
  std::vector<int64_t> v(given.begin(), given.end());
  if (v.size() != spatial)
    shape_error(fname + ": " + name + " " + ints_str(v) + " has " + std::to_string(v.size()) +
                " entries but x of shape " + shape_str(x) + " has " + std::to_string(spatial) + " spatial axes");
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] < least)
      shape_error(fname + ": " + name + " " + ints_str(v) + " has " + std::to_string(v[i]) + " on spatial axis " +
                  std::to_string(i) + "; it must be >= " + std::to_string(least));
  return v;
}

}  // namespace

std::string ints_str(const std::vector<int64_t>& v) { return shape_str(Shape_t(v.begin(), v.end())); }

bool ConvGeometry::identity() const {
  for (int i = 0; i < 3; ++i)
    if (kernel[i] != 1 || stride[i] != 1 || pad[i] != 0 || cols[i] != image[i]) return false;
  return true;
}

bool ConvGeometry::transposable() const {
  for (int i = 0; i < 3; ++i)
    if (stride[i] != 1 || pad[i] > dilation[i] * (kernel[i] - 1)) return false;
  return true;
}

ConvGeometry ConvGeometry::transposed() const {
  ConvGeometry t = *this;
  for (int i = 0; i < 3; ++i) {
    t.image[i] = cols[i];
    t.cols[i] = image[i];
    t.pad[i] = dilation[i] * (kernel[i] - 1) - pad[i];
  }
  return t;
}

ConvArgs conv_args(const std::string& fname, const Shape_t& x, const Shape_t& w, int base_axis,
                   const std::vector<int>& pad, const std::vector<int>& stride, const std::vector<int>& dilation,
                   int group, bool channel_last, const std::vector<int>* output_padding) {
  if (channel_last)
    shape_error(fname + ": channel_last=true is not implemented (x must be (..., C, spatial...), x shape " +
                shape_str(x) + ")");
  const int nd = static_cast<int>(x.size());
  if (base_axis < 0 || base_axis + 1 >= nd)
    shape_error(fname + ": base_axis " + std::to_string(base_axis) + " leaves no spatial axis in x of shape " +
                shape_str(x) + " (base_axis must be in [0, " + std::to_string(std::max(nd - 2, 0)) + "])");
  if (w.size() < 3 || w.size() > 5)
    shape_error(fname + ": W of shape " + shape_str(w) +
                " must have 3 to 5 axes (2 channel axes and 1 to 3 kernel axes)");
  const size_t spatial = w.size() - 2;
  if (static_cast<size_t>(nd - base_axis - 1) != spatial)
    shape_error(fname + ": x of shape " + shape_str(x) + " has " + std::to_string(nd - base_axis - 1) +
                " spatial axes after base_axis " + std::to_string(base_axis) +
                " and its channel axis, but W of shape " +
                shape_str(w) + " has " + std::to_string(spatial) + " kernel axes");
  if (group < 1) shape_error(fname + ": group is " + std::to_string(group) + "; it must be >= 1");
  ConvArgs a;
  for (int i = 0; i < base_axis; ++i) a.outer *= x[i];
  a.channels = x[base_axis];
  a.spatial.assign(x.begin() + base_axis + 1, x.end());
  a.kernel.assign(w.begin() + 2, w.end());
  for (size_t i = 0; i < spatial; ++i) {
    if (a.kernel[i] < 1)
      shape_error(fname + ": W of shape " + shape_str(w) + " has an empty kernel axis");
    if (a.spatial[i] < 1) shape_error(fname + ": x of shape " + shape_str(x) + " has an empty spatial axis");
  }
  a.pad = spatial_arg(fname, "pad", pad, spatial, 0, 0, x);
  a.stride = spatial_arg(fname, "stride", stride, spatial, 1, 1, x);
  a.dilation = spatial_arg(fname, "dilation", dilation, spatial, 1, 1, x);
  if (output_padding) a.output_padding = spatial_arg(fname, "output_padding", *output_padding, spatial, 0, 0, x);
  return a;
}

ConvGeometry make_geometry(const ConvArgs& a, const std::vector<int64_t>& image, const std::vector<int64_t>& cols) {
  ConvGeometry g;
  const size_t lead = 3 - a.kernel.size();
  for (size_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const size_t k = i - lead;
    g.image[i] = real ? image[k] : 1;
    g.cols[i] = real ? cols[k] : 1;
    g.kernel[i] = real ? a.kernel[k] : 1;
    g.stride[i] = real ? a.stride[k] : 1;
    g.pad[i] = real ? a.pad[k] : 0;
    g.dilation[i] = real ? a.dilation[k] : 1;
  }
  return g;
}

// The products of one sample (a few hundred thousand multiply-adds at
// LeNet's sizes) are too small to cut across threads with any profit, while
// the samples are independent: sharing out whole samples keeps every thread
// busy on its own columns and output. Below ~1M multiply-adds in all a
// parallel region costs more than it saves.
int sample_threads(int64_t samples, int64_t work) {
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  if (threads > 1 && samples >= threads && work >= (int64_t(1) << 20) && !omp_in_parallel()) return threads;
#else
  (void)samples;
  (void)work;
#endif
  return 1;
}

int current_thread() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

void reduce_parts(const float* parts, int count, int64_t n, float* dst, bool accumulate) {
  if (!accumulate) std::fill(dst, dst + n, 0.f);
  for (int t = 0; t < count; ++t) {
    const float* p = parts + t * n;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dst[i] += p[i];
  }
}

void add_bias_grad(const float* dy, int64_t channels, int64_t len, float* db_to, bool first) {
  for (int64_t o = 0; o < channels; ++o) {
    const float* row = dy + o * len;
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t p = 0; p < len; ++p) sum += row[p];
    db_to[o] = first ? sum : db_to[o] + sum;
  }
}

void add_transposed_w(const float* dwt, const ConvSizes& s, float* dw, bool accumulate) {
  const int64_t rows = s.transposed ? s.Cg() : s.OCg(), cols = s.rows();
  for (int64_t gi = 0; gi < s.group; ++gi) {
    const float* from = dwt + gi * rows * cols;  // (cols, rows)
    float* to = dw + gi * rows * cols;           // (rows, cols)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) to[r * cols + c] = (accumulate ? to[r * cols + c] : 0.f) + from[c * rows + r];
  }
}

Shape_t conv_output_shape(const Shape_t& x, int base_axis, int64_t oc, const std::vector<int64_t>& out) {
  Shape_t y(x.begin(), x.begin() + base_axis + 1);
  y[base_axis] = oc;
  y.insert(y.end(), out.begin(), out.end());
  return y;
}

}  // namespace detail
}  // namespace nnvae
