// What convolution and deconvolution share (private to the engine): the
// geometry of a window sliding over an image, the argument checks that
// build it (conv_geometry.cpp), the two copies between an image and its
// columns (im2col, col2im: im2col.cpp) that turn both functions into
// matrix products, and how the samples are shared out among the threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
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
  // True when the transpose (col2im's adding back) is itself a window
  // sliding over the columns' positions: stride 1 and pad <= dilation·(kernel
  // − 1) on every axis. Then transposed() is that window's geometry, from
  // the `cols` positions to the `image` ones: the same kernel and dilation,
  // pad dilation·(kernel − 1) − pad, the taps read in reverse order.
  bool transposable() const;
  ConvGeometry transposed() const;
};

// The sizes of one call of convolution or deconvolution: N samples, C
// channels in x and OC in y, in `group` groups; g the geometry from the
// image the columns are taken from to the window positions. That image is
// x for a convolution (C/G·K column rows per group, C' = OC outputs per
// column) and y for a deconvolution (`transposed`: OC/G·K rows, C inputs).
struct ConvSizes {
  int64_t N, C, OC, group;
  ConvGeometry g;
  bool transposed;
  int64_t Cg() const { return C / group; }
  int64_t OCg() const { return OC / group; }
  int64_t rows() const { return (transposed ? OCg() : Cg()) * g.kernel_size(); }  // W[g]'s columns, col's rows
  int64_t w_size() const { return (transposed ? C : OC) * rows(); }  // W's entries
  int64_t work() const { return w_size() * N * g.col_size(); }       // the products' multiply-adds
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

// What the convolution and deconvolution functions (graph nodes, derived
// from Base) hold: NNabla's arguments of the call, checked in setup().
template <class Base>
class ConvFunction : public Base {
 protected:
  ConvFunction(int base_axis, std::vector<int> pad, std::vector<int> stride, std::vector<int> dilation, int group,
               bool channel_last)
      : base_axis_(base_axis),
        pad_(std::move(pad)),
        stride_(std::move(stride)),
        dilation_(std::move(dilation)),
        group_(group),
        channel_last_(channel_last) {}
  // conv_args on this call's arguments.
  ConvArgs checked_args(const std::string& fname, const Shape_t& x, const Shape_t& w,
                        const std::vector<int>* output_padding) const {
    return conv_args(fname, x, w, base_axis_, pad_, stride_, dilation_, group_, channel_last_, output_padding);
  }
  // Refuses a group that does not divide x's channels.
  void check_group_divides_input(const std::string& fname, const ConvArgs& a, const Shape_t& x) const {
    if (a.channels % group_ != 0)
      shape_error(fname + ": group " + std::to_string(group_) + " does not divide the " +
                  std::to_string(a.channels) + " input channels (x shape " + shape_str(x) + ")");
  }

  int base_axis_;
  std::vector<int> pad_, stride_, dilation_;
  int group_;
  bool channel_last_;
};

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
// [0, threads) of the thread running it, on `threads` threads, or in order.
// The samples go out in runs of about samples / (4·threads), each to
// whichever thread is free: a thread the system preempts (the machine is
// shared) then holds up only its current run, not a fixed half of the batch.
template <class Body>
void for_each_sample(int64_t samples, int threads, Body&& body) {
  if (threads <= 1) {
    for (int64_t n = 0; n < samples; ++n) body(n, 0);
    return;
  }
  const int64_t run = std::max<int64_t>(1, samples / (4 * threads));
#pragma omp parallel for num_threads(threads) schedule(dynamic, run)
  for (int64_t n = 0; n < samples; ++n) body(n, current_thread());
}

// dst (n) = (accumulate ? dst : 0) + Σ_t parts[t·n .. t·n + n) for t < count.
void reduce_parts(const float* parts, int count, int64_t n, float* dst, bool accumulate);

// db_to (channels) = (first ? 0 : db_to) + the sums of dy's rows, dy
// (channels, len) one sample's gradient: that sample's terms of db.
void add_bias_grad(const float* dy, int64_t channels, int64_t len, float* db_to, bool first);

// Each thread's own room for one sample's columns, rows() × col_size()
// floats, or `least` if more; none when the columns are the image itself
// (g.identity()).
class SampleColumns {
 public:
  SampleColumns(const ConvSizes& s, int threads, int64_t least = 0)
      : len_(s.g.identity() ? 0 : std::max(least, s.rows() * s.g.col_size())),
        buf_(static_cast<size_t>(threads * len_)) {}
  float* of_thread(int t) { return buf_.data() + t * len_; }

 private:
  int64_t len_;
  std::vector<float> buf_;
};

// The forward pass of convolution or deconvolution over the s.N samples:
// body(n, col) for each, the samples shared out as sample_threads gives for
// the products' work, with `col` the running thread's columns.
template <class Body>
void forward_over_samples(const ConvSizes& s, Body&& body) {
  const int threads = sample_threads(s.N, s.work());
  SampleColumns cols(s, threads);
  for_each_sample(s.N, threads, [&](int64_t n, int t) { body(n, cols.of_thread(t)); });
}

// dw (+)= the transpose of dwt, group by group: group g's block of W is
// (rows_g, s.rows()) with rows_g = C/G for a deconvolution, C'/G for a
// convolution, and dwt's block g (s.rows(), rows_g).
void add_transposed_w(const float* dwt, const ConvSizes& s, float* dw, bool accumulate);

// The backward pass of convolution or deconvolution over the s.N samples,
// given sample(n, col, do_x, dw_to, db_to, first_w, first_b): sample n's
// gradient to x when do_x, its terms of dW added to dw_to and of db to
// db_to where not null (written instead when first_w, first_b), with `col`
// its thread's columns (at least col_least floats). Each sample is visited
// once, for all its gradients (a deconvolution's dx and dW read the same
// columns of dy, made once); on one thread the samples in order, on more
// each thread sums its samples' dW and db apart and they are added up
// after, into dw and db (added to when acc_w, acc_b). dx: whether x's
// gradient is asked for. With dw_transposed, the samples' terms go to
// dw_to in the transposed layout of each group's block (add_transposed_w)
// and are turned into dw's at the end: a product whose columns would be
// the transposed operand then packs the smaller one (convolution.cpp).
template <class Sample>
void backward_over_samples(const ConvSizes& s, bool dx, float* dw, float* db, bool acc_w, bool acc_b,
                           Sample&& sample, int64_t col_least = 0, bool dw_transposed = false) {
  const int threads = sample_threads(s.N, 2 * s.work());
  const int64_t w_size = s.w_size(), b_size = s.OC;
  SampleColumns cols(s, threads, col_least);
  std::vector<float> dwt(dw && dw_transposed ? w_size : 0);
  float* dw_sum = dw && dw_transposed ? dwt.data() : dw;  // where the samples' terms of dW are summed
  const bool acc_sum = acc_w && !dw_transposed;
  if (threads == 1) {
    for (int64_t n = 0; n < s.N; ++n)
      sample(n, cols.of_thread(0), dx, dw_sum, db, n == 0 && !acc_sum, n == 0 && !acc_b);
    if (s.N == 0) {  // nothing summed: the gradients are 0
      if (dw_sum && !acc_sum) std::fill(dw_sum, dw_sum + w_size, 0.f);
      if (db && !acc_b) std::fill(db, db + b_size, 0.f);
    }
  } else {
    std::vector<float> dw_parts(dw ? threads * w_size : 0, 0.f), db_parts(db ? threads * b_size : 0, 0.f);
    for_each_sample(s.N, threads, [&](int64_t n, int t) {
      sample(n, cols.of_thread(t), dx, dw ? dw_parts.data() + t * w_size : nullptr,
             db ? db_parts.data() + t * b_size : nullptr, false, false);
    });
    if (dw) reduce_parts(dw_parts.data(), threads, w_size, dw_sum, acc_sum);
    if (db) reduce_parts(db_parts.data(), threads, b_size, db, acc_b);
  }
  if (dw && dw_transposed) add_transposed_w(dwt.data(), s, dw, acc_w);
}

// Convolutions with a few output maps at stride 1 on a 2-D image, without
// columns (conv_few_maps.cpp): few_maps_applies says whether a call's
// sizes take this path (one group, at most 4 maps, fp32 products);
// few_maps_forward computes y (N, OC, P) = conv(x, w) + b [b may be null];
// few_maps_backward_w dw (+)= the gradient to W and db (+)= to b (either
// may be null). x's gradient goes through the columns as before.
bool few_maps_applies(const ConvSizes& s);
void few_maps_forward(const float* x, const float* w, const float* b, float* y, const ConvSizes& s);
void few_maps_backward_w(const float* x, const float* dy, float* dw, float* db, const ConvSizes& s, bool acc_w,
                         bool acc_b);

// y's shape: x's axes up to base_axis, then oc channels and the spatial
// sizes `out`.
Shape_t conv_output_shape(const Shape_t& x, int base_axis, int64_t oc, const std::vector<int64_t>& out);

}  // namespace detail
}  // namespace nnvae
