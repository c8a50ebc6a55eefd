// What convolution and deconvolution share (private to the engine): the
// geometry of a window sliding over an image, the argument checks that
// build it, and the two copies between an image and its columns (im2col,
// col2im) that turn both functions into matrix products.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nnvae/array.hpp"

namespace nnvae {
namespace detail {

// A window of kernel[i] taps, dilation[i] apart, sliding with stride[i]
// over an image of `image[i]` positions zero-padded by pad[i] on both sides,
// giving cols[i] window positions, along 3 spatial axes (fewer axes are
// padded in front with size-1 axes: kernel, stride, dilation 1, pad 0).
// Tap t of window position j reads image position j·stride − pad + t·dilation.
struct ConvGeometry {
  int64_t image[3], cols[3], kernel[3], stride[3], pad[3], dilation[3];
  int64_t image_size() const { return image[0] * image[1] * image[2]; }
  int64_t col_size() const { return cols[0] * cols[1] * cols[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  // True when the columns are the image itself (1x1 kernel, stride 1, no
  // pad): im2col would copy the image unchanged.
  bool identity() const;
};

// The convolution arguments of one call, checked against x and W: where the
// channel and spatial axes are, and the spatial arguments with their
// defaults filled in (empty: pad 0, stride 1, dilation 1, output_padding 0).
struct ConvArgs {
  int64_t outer = 1;                  // prod(x.shape[:base_axis])
  int64_t channels = 0;               // x.shape[base_axis]
  std::vector<int64_t> spatial;       // x.shape[base_axis + 1:]
  std::vector<int64_t> kernel;        // W.shape[2:]
  std::vector<int64_t> pad, stride, dilation, output_padding;
};

// Checks base_axis, channel_last, the rank of x against W's (x must have
// base_axis + 1 + S axes for a W of 2 + S axes, S in 1..3), the sizes and
// values of pad (>= 0), stride and dilation (>= 1), output_padding (>= 0,
// only when `with_output_padding`) and group (>= 1). Errors name `fname`,
// the argument and the shapes.
ConvArgs conv_args(const std::string& fname, const Shape_t& x, const Shape_t& w, int base_axis,
                   const std::vector<int>& pad, const std::vector<int>& stride, const std::vector<int>& dilation,
                   int group, bool channel_last, const std::vector<int>* output_padding);

// The geometry of S spatial axes: image sizes `image`, window positions
// `cols`, the rest from `a`.
ConvGeometry make_geometry(const ConvArgs& a, const std::vector<int64_t>& image, const std::vector<int64_t>& cols);

// "(2, 2)" for the error messages.
std::string ints_str(const std::vector<int64_t>& v);

// col (channels·K, P) = the image's windows: row (c, t) (t the tap, in
// row-major order over the kernel axes), column j (window position,
// row-major) holds image (channels, image...) at tap t of window j, 0 in the
// padding. K = g.kernel_size(), P = g.col_size().
void im2col(const float* image, int64_t channels, const ConvGeometry& g, float* col);

// The transpose: image (channels, image...) (+)= every column entry added
// back at the position it was read from (entries in the padding dropped).
// Overwrites the image unless `accumulate`.
void col2im(const float* col, int64_t channels, const ConvGeometry& g, float* image, bool accumulate);

// How many threads share out the samples of a convolution whose products
// take `work` multiply-adds in all: every thread the engine has when there
// are at least as many samples as threads and the work is worth a parallel
// region (then each sample's products run on the thread that owns it), else
// 1 (the samples in order, each product cut across the threads itself).
int sample_threads(int64_t samples, int64_t work);

// omp_get_thread_num(), 0 without OpenMP.
int current_thread();

// Runs body(n, t) for every sample n in [0, samples), t the index in
// [0, threads) of the thread running it, on `threads` threads (static
// schedule: each thread a contiguous run of samples), or in order.
template <class Body>
void for_each_sample(int64_t samples, int threads, Body&& body) {
  if (threads <= 1) {
    for (int64_t n = 0; n < samples; ++n) body(n, 0);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t n = 0; n < samples; ++n) body(n, current_thread());
}

// dst (n) = (accumulate ? dst : 0) + Σ_t parts[t·n .. t·n + n) for t < count.
void reduce_parts(const float* parts, int count, int64_t n, float* dst, bool accumulate);

}  // namespace detail
}  // namespace nnvae
