// convolution and deconvolution (functions.def, convolution_opts.hpp): forward and every
// gradient against a direct loop over the definition written here, against
// NNabla 1.39.0's values for small cases, against finite differences with
// accumulation; stride, pad, dilation, group, 1-D to 3-D, several batch
// axes, one or several threads, fused with elu; and every bad argument.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "conv_reference.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

namespace {

// Runs convolution (or deconvolution) on random x, W, b of the given shapes,
// back-propagates random dy, and checks y, dx, dW, db against the direct
// loops (within `tol`, relative above 1: sums of thousands of float terms
// differ from the double loops by ~1e-5). Then a second backward without zeroing must double every gradient.
void check_against_reference(bool deconv, const Shape_t& xs, const Shape_t& ws, bool with_bias, int base_axis,
                             std::vector<int> pad, std::vector<int> stride, std::vector<int> dilation, int group,
                             std::vector<int> output_padding = {}, double tol = 1e-5) {
  const Shape_t bs{deconv ? ws[1] * group : ws[0]};
  auto x = random_leaf(xs, -1.f, 1.f, 3);
  auto w = random_leaf(ws, -1.f, 1.f, 4);
  auto b = with_bias ? random_leaf(bs, -1.f, 1.f, 5) : nullptr;
  auto y = deconv ? f::deconvolution(x, w, b, base_axis, pad, stride, dilation, group, false, output_padding)
                  : f::convolution(x, w, b, base_axis, pad, stride, dilation, group, false);
  RefConv ref(deconv, xs, ws, base_axis, pad, stride, dilation, group, output_padding);
  CHECK_EQ(shape_str(y->shape()), shape_str(ref.y_shape()));
  y->forward();
  const std::vector<float> bv = with_bias ? data_of(b) : std::vector<float>();
  CHECK_ALL_NEAR(data_of(y), ref.forward(data_of(x), data_of(w), bv), tol);

  auto dy = random_leaf(y->shape(), -1.f, 1.f, 6, false);
  std::vector<float> dx, dw, db;
  ref.backward(data_of(x), data_of(w), data_of(dy), dx, dw, db);
  for (auto& v : {x, w}) v->variable()->grad()->zero();
  if (b) b->variable()->grad()->zero();
  y->backward(dy->variable()->data());
  CHECK_ALL_NEAR(grad_of(x), dx, tol);
  CHECK_ALL_NEAR(grad_of(w), dw, tol);
  if (b) CHECK_ALL_NEAR(grad_of(b), db, tol);
  y->backward(dy->variable()->data());
  auto twice = [](std::vector<float> v) {
    for (auto& e : v) e *= 2;
    return v;
  };
  CHECK_ALL_NEAR(grad_of(x), twice(dx), tol);
  CHECK_ALL_NEAR(grad_of(w), twice(dw), tol);
  if (b) CHECK_ALL_NEAR(grad_of(b), twice(db), tol);
}

// The exact values the NNabla cases start from: v[i] = ((i·a) mod m − off) / den.
std::vector<float> pattern(int64_t n, int a, int m, int off, float den) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = float((i * a) % m - off) / den;
  return v;
}

// Runs threads = 1 then `threads`, restoring the count after.
void with_threads(int threads, const std::function<void()>& body) {
  const int saved = get_num_threads();
  set_num_threads(threads);
  try {
    body();
  } catch (...) {
    set_num_threads(saved);
    throw;
  }
  set_num_threads(saved);
}

}  // namespace

TEST(convolution_2d_matches_direct_loops) {
  check_against_reference(false, {2, 3, 7, 6}, {4, 3, 3, 2}, true, 1, {}, {}, {}, 1);
  check_against_reference(false, {1, 3, 7, 6}, {4, 3, 3, 2}, false, 1, {0, 0}, {1, 1}, {1, 1}, 1);
}

TEST(convolution_stride_pad_dilation_group_variations) {
  check_against_reference(false, {2, 4, 9, 8}, {6, 2, 3, 3}, true, 1, {1, 2}, {2, 1}, {1, 2}, 2);
  check_against_reference(false, {3, 6, 5, 7}, {3, 2, 2, 3}, true, 1, {0, 1}, {3, 2}, {2, 1}, 3);
  // depthwise: one channel per group
  check_against_reference(false, {2, 4, 6, 6}, {4, 1, 3, 3}, true, 1, {1, 1}, {1, 1}, {1, 1}, 4);
  // the kernel as large as the padded input: one output position
  check_against_reference(false, {2, 2, 3, 4}, {3, 2, 5, 4}, true, 1, {1, 0}, {1, 1}, {1, 1}, 1);
  // a stride longer than the kernel skips inputs
  check_against_reference(false, {1, 1, 11, 10}, {2, 1, 2, 2}, true, 1, {0, 0}, {4, 3}, {1, 1}, 1);
}

// Stride 1 with as many output columns as input columns ("same" padding, as
// ResNet's 3x3 pad 1): the columns are copied as whole shifted planes
// (conv_geometry.cpp). Dilated, asymmetric, rows padded beyond "same", a tap
// wholly in the padding, 1-d, groups, and deconvolution's backward.
TEST(convolution_same_padding_shifted_columns_match_direct_loops) {
  check_against_reference(false, {2, 3, 8, 7}, {4, 3, 3, 3}, true, 1, {1, 1}, {1, 1}, {1, 1}, 1);
  check_against_reference(false, {2, 3, 8, 7}, {4, 3, 3, 3}, false, 1, {2, 2}, {1, 1}, {2, 2}, 1);
  check_against_reference(false, {2, 3, 6, 9}, {4, 3, 3, 5}, true, 1, {1, 2}, {1, 1}, {1, 1}, 1);
  check_against_reference(false, {2, 3, 6, 9}, {2, 3, 3, 3}, true, 1, {2, 1}, {1, 1}, {1, 1}, 1);
  check_against_reference(false, {1, 2, 2, 5}, {2, 2, 5, 3}, true, 1, {2, 1}, {1, 1}, {1, 1}, 1);
  check_against_reference(false, {2, 3, 9}, {2, 3, 3}, true, 1, {1}, {1}, {1}, 1);
  check_against_reference(false, {2, 4, 6, 6}, {4, 2, 3, 3}, true, 1, {1, 1}, {1, 1}, {1, 1}, 2);
  check_against_reference(true, {2, 4, 6, 5}, {4, 3, 3, 3}, true, 1, {1, 1}, {1, 1}, {1, 1}, 1);
}

// Rows of 8 window positions and more take the vector paths of im2col and
// col2im (8-float runs, the last one overlapping; masked loads where a tap
// falls in the padding; stride 2's spread adds, bounded by the image row):
// widths around multiples of 8, every pad from none to past the kernel,
// strides 1 to 3, dilation 1 and 2, for convolution (im2col forward and for
// dW, col2im for dx) and deconvolution (col2im forward, im2col backward).
TEST(convolution_and_deconvolution_on_wide_rows_match_direct_loops) {
  int cases = 0;
  for (int64_t width : {8, 9, 15, 16, 17, 28})
    for (int kernel : {3, 4, 5})
      for (int pad : {0, 1, 3})
        for (int stride : {1, 2, 3})
          for (int dilation : {1, 2}) {
            if ((width + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1 < 1 || (cases++ % 3) != 0) continue;
            check_against_reference(false, {2, 2, 5, width}, {3, 2, 2, kernel}, true, 1, {1, pad}, {1, stride},
                                    {1, dilation}, 1);
            if (pad < dilation * (kernel - 1) + 1)
              check_against_reference(true, {2, 2, 3, width}, {2, 3, 2, kernel}, true, 1, {0, pad}, {1, stride},
                                      {1, dilation}, 1);
          }
  CHECK(cases > 150);
  // DCGAN's generator and discriminator layers at their sizes.
  check_against_reference(true, {2, 4, 16, 16}, {4, 3, 4, 4}, false, 1, {3, 3}, {2, 2}, {}, 1);
  check_against_reference(true, {2, 4, 8, 8}, {4, 3, 4, 4}, false, 1, {1, 1}, {2, 2}, {}, 1);
  check_against_reference(false, {2, 3, 28, 28}, {2, 3, 3, 3}, false, 1, {3, 3}, {2, 2}, {}, 1);
  check_against_reference(false, {2, 3, 16, 16}, {2, 3, 3, 3}, false, 1, {1, 1}, {2, 2}, {}, 1);
}

// One output map at stride 1 on a 2-D image takes the path without columns
// (conv_few_maps.cpp: padded image, every tap a contiguous run, dropped
// columns): pads from none to past the kernel, dilation, 3x3 and 5x5 (25
// taps: more than one pass of 8 for dW), widths past and under a block
// of 32 outputs, a bias or none, DCGAN's conv5, 2 threads.
TEST(convolution_with_one_map_matches_direct_loops) {
  check_against_reference(false, {2, 3, 7, 6}, {1, 3, 3, 3}, true, 1, {1, 1}, {}, {}, 1);
  check_against_reference(false, {2, 3, 9, 11}, {1, 3, 5, 5}, true, 1, {2, 1}, {}, {}, 1);
  check_against_reference(false, {2, 2, 9, 11}, {1, 2, 3, 3}, false, 1, {0, 0}, {}, {2, 3}, 1);
  check_against_reference(false, {1, 2, 4, 3}, {1, 2, 3, 3}, true, 1, {3, 2}, {}, {}, 1);
  check_against_reference(false, {3, 2, 2, 40}, {1, 2, 2, 3}, true, 1, {1, 0}, {}, {1, 2}, 1);
  check_against_reference(false, {2, 16, 28, 28}, {1, 16, 3, 3}, true, 1, {1, 1}, {}, {}, 1, {}, 1e-4);
  with_threads(2, [] {
    check_against_reference(false, {5, 8, 20, 20}, {1, 8, 3, 3}, true, 1, {1, 1}, {}, {}, 1, {}, 1e-4);
  });
}

// Deconvolutions at DCGAN's sizes and past them (columns of 1,024 rows and
// more): groups, a bias, both forms of dW's product (dWᵀ = col · xᵀ when
// x has fewer channels per group than the columns' rows, else dW = x ·
// colᵀ), 1 and 2 threads.
TEST(large_deconvolutions_match_direct_loops) {
  check_against_reference(true, {2, 4, 16, 16}, {4, 13, 4, 4}, true, 1, {3, 3}, {2, 2}, {}, 2);
  check_against_reference(true, {1, 40, 16, 16}, {40, 26, 4, 4}, false, 1, {1, 1}, {2, 2}, {}, 1, {}, 1e-4);
  // more input channels than the columns' rows (64 >= 4 · 16): dW's product in its plain form
  check_against_reference(true, {1, 64, 32, 32}, {64, 4, 4, 4}, true, 1, {1, 1}, {2, 2}, {}, 1, {}, 1e-4);
  with_threads(2, [] {
    check_against_reference(true, {3, 4, 16, 16}, {4, 26, 4, 4}, true, 1, {3, 3}, {2, 2}, {}, 1, {}, 1e-4);
  });
}

TEST(convolution_1x1_without_copy) {
  check_against_reference(false, {2, 6, 5, 3}, {4, 6, 1, 1}, true, 1, {}, {}, {}, 1);
  check_against_reference(false, {2, 6, 5, 3}, {4, 3, 1, 1}, false, 1, {}, {}, {}, 2);
  // 1x1 with a stride or pad does copy
  check_against_reference(false, {2, 3, 5, 4}, {2, 3, 1, 1}, true, 1, {1, 0}, {2, 1}, {}, 1);
}

TEST(convolution_1d_3d_and_batch_axes) {
  check_against_reference(false, {3, 2, 10}, {4, 2, 3}, true, 1, {1}, {2}, {2}, 1);
  check_against_reference(false, {2, 2, 5, 4, 6}, {3, 2, 2, 3, 2}, true, 1, {1, 0, 1}, {1, 2, 2}, {2, 1, 1}, 1);
  // two batch axes, and none
  check_against_reference(false, {2, 3, 2, 6, 5}, {3, 2, 3, 2}, true, 2, {1, 1}, {1, 2}, {1, 1}, 1);
  check_against_reference(false, {2, 6, 5}, {3, 2, 3, 2}, true, 0, {0, 1}, {1, 1}, {1, 1}, 1);
}

// Enough samples and work (> 1M multiply-adds) to share the samples among
// 2 threads, with dW and db summed per thread: the same values as the loops.
TEST(convolution_on_two_threads_matches_direct_loops) {
  with_threads(2, [] {
    check_against_reference(false, {5, 8, 20, 20}, {16, 8, 3, 3}, true, 1, {1, 1}, {}, {}, 1, {}, 1e-4);
    check_against_reference(false, {4, 8, 20, 20}, {16, 4, 3, 3}, true, 1, {}, {1, 1}, {}, 2, {}, 1e-4);
  });
  with_threads(3, [] {
    check_against_reference(false, {4, 8, 20, 20}, {16, 8, 1, 1}, false, 1, {}, {}, {}, 1, {}, 1e-4);
  });
}

TEST(convolution_finite_differences) {
  auto x = random_leaf({2, 4, 5, 4}, -1.f, 1.f, 11);
  auto w = random_leaf({4, 2, 3, 2}, -1.f, 1.f, 12);
  auto b = random_leaf({4}, -1.f, 1.f, 13);
  CHECK_GRADIENTS(f::convolution(x, w, b, 1, {1, 0}, {2, 1}, {1, 2}, 2), {x, w, b});
  CHECK_GRADIENTS(f::convolution(x, w, nullptr, 1, {0, 1}, {1, 1}, {1, 1}, 2), {x, w});
}

// NNabla 1.39.0's values: F.convolution(x, w, b, pad=(1, 1), stride=(2, 1),
// dilation=(1, 2), group=2) on x (1, 2, 4, 5) = pattern(7, 11, 5, 4),
// w (2, 1, 2, 3) = pattern(5, 9, 4, 8), b (2,) = pattern(1, 3, 1, 2), then
// backward from dy = pattern(3, 7, 3, 2) (gradients zeroed first), printed
// by that library's Python.
TEST(convolution_matches_nnabla) {
  auto x = leaf({1, 2, 4, 5}, pattern(40, 7, 11, 5, 4));
  auto w = leaf({2, 1, 2, 3}, pattern(12, 5, 9, 4, 8));
  auto b = leaf({2}, pattern(2, 1, 3, 1, 2));
  f::ConvolutionOpts opts;
  opts.pad({1, 1}).stride({2, 1}).dilation({1, 2});
  auto y = f::convolution(x, w, b, 1, 2, opts);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({-0.15625, -0.59375, -0.6875, 0.125, -0.125, -1.3125, -0.59375, -0.125,
                                                 -0.125, -0.21875, -0.34375, 0.1875, 0.6875, -0.25, -0.0625, 0.625,
                                                 0.1875, -0.53125}),
                 1e-6);
  for (auto& v : {x, w, b}) v->variable()->grad()->zero();
  y->backward(leaf(y->shape(), pattern(18, 3, 7, 3, 2), false)->variable()->data());
  CHECK_ALL_NEAR(grad_of(x),
                 std::vector<float>({0.0,     0.75,   0.0,     -0.9375, 0.0,    -0.5,    0.4375, 0.125,
                                     0.0625,  -0.375, 0.25,    -0.125,  -0.25,  0.0625,  0.375,  0.75,
                                     0.0625,  -0.1875, -0.1875, 0.5625, 0.25,   -0.3125, -0.0625, -0.4375,
                                     0.1875,  -0.0625, -0.3125, 0.25,   -0.75,  0.0,     -0.25,  0.625,
                                     0.0625,  0.1875, -0.1875, -0.1875, 0.0625, 0.75,    -0.25,  0.0}),
                 1e-6);
  CHECK_ALL_NEAR(grad_of(w),
                 std::vector<float>({-2.125, -1.375, 2.75, 1.75, 2.75, -0.375, -1.125, -1.375, 0.5, -2.25, 1.75, 2.5}),
                 1e-6);
  CHECK_ALL_NEAR(grad_of(b), std::vector<float>({-1.5, 1.0}), 1e-6);
}

// elu or relu after a convolution runs as the convolution's epilogue
// (forward) and before one as the epilogue of its dx (backward): same values
// as unfused, on 1 and 2 threads, and the pairs are timed under the fused
// name.
TEST(convolution_fuses_elu_and_relu_before_and_after) {
  using Activation = std::function<CgVariablePtr(CgVariablePtr)>;
  const std::vector<std::pair<std::string, Activation>> activations{
      {"elu", [](CgVariablePtr v) { return f::elu(v, 1.0); }},
      {"relu", [](CgVariablePtr v) { return f::relu(v, false); }}};
  for (const auto& [name, act] : activations)
    for (int threads : {1, 2})
      with_threads(threads, [&, name = name, act = act] {
        auto x = random_leaf({4, 8, 20, 20}, -1.f, 1.f, 21);
        auto w1 = random_leaf({8, 8, 3, 3}, -0.3f, 0.3f, 22);
        auto w2 = random_leaf({6, 8, 3, 3}, -0.3f, 0.3f, 23);
        auto b1 = random_leaf({8}, -0.5f, 0.5f, 24);
        auto h = act(f::convolution(x, w1, b1, 1, {1, 1}, {1, 1}, {1, 1}, 1, false));
        auto y = f::convolution(h, w2, nullptr, 1, {}, {}, {}, 1, false);
        auto dy = random_leaf(y->shape(), -1.f, 1.f, 25, false);
        auto run = [&](bool fused) {
          set_fusion(fused);
          for (auto& v : {x, w1, w2, b1}) v->variable()->grad()->zero();
          y->forward();
          y->backward(dy->variable()->data());
          set_fusion(true);
          std::vector<std::vector<float>> out{data_of(h), data_of(y)};
          for (auto& v : {x, w1, w2, b1}) out.push_back(grad_of(v));
          return out;
        };
        auto plain = run(false);
        profiling::reset();
        profiling::set_enabled(true);
        auto fused = run(true);
        profiling::set_enabled(false);
        // Equal up to the order of float sums: on 2 threads each thread sums
        // the dW terms of the samples it took (taken dynamically), so the
        // bound follows the sums' size (W1's gradient reaches about 50).
        for (size_t i = 0; i < plain.size(); ++i) {
          double largest = 0;
          for (float v : plain[i]) largest = std::max(largest, double(std::fabs(v)));
          CHECK_ALL_NEAR(fused[i], plain[i], 2e-6 * (1 + largest));
        }
        bool fwd = false, bwd = false;
        for (auto& e : profiling::report()) {
          if (e.name == "convolution+" + name && e.forward_calls == 1) fwd = true;
          if (e.name == "convolution+" + name && e.backward_calls == 1) bwd = true;
        }
        CHECK(fwd);
        CHECK(bwd);
      });
}

TEST(convolution_bad_arguments_name_the_shapes) {
  auto x = leaf({2, 3, 5, 5}, std::vector<float>(150, 0.f));
  auto w = leaf({4, 3, 3, 3}, std::vector<float>(108, 0.f));
  auto b = leaf({4}, std::vector<float>(4, 0.f));
  // A kernel as long as the padded input fits (5 + 2·1 = 7); one longer does not.
  CHECK_EQ(shape_str(f::convolution(x, leaf({4, 3, 7, 3}, std::vector<float>(252, 0.f)), b, 1, {1, 1})->shape()),
           "(2, 4, 1, 5)");
  CHECK_THROWS_WITH(f::convolution(x, leaf({4, 3, 8, 3}, std::vector<float>(288, 0.f)), b, 1, {1, 1}),
                    "convolution: the kernel spans 8 on spatial axis 0 (kernel (8, 3), dilation (1, 1)) but the "
                    "padded input has only 7 (x shape (2, 3, 5, 5), pad (1, 1))");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 1, {}, {}, {3, 1}),
                    "convolution: the kernel spans 7 on spatial axis 0 (kernel (3, 3), dilation (3, 1))");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 1, {-1, 0}), "convolution: pad (-1, 0) has -1 on spatial axis 0; it "
                                                          "must be >= 0");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 1, {}, {1, 0}), "convolution: stride (1, 0) has 0 on spatial axis 1");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 1, {}, {}, {0, 1}), "convolution: dilation (0, 1) has 0 on spatial "
                                                                 "axis 0");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 1, {1, 1, 1}), "convolution: pad (1, 1, 1) has 3 entries but x of "
                                                            "shape (2, 3, 5, 5) has 2 spatial axes");
  CHECK_THROWS_WITH(f::convolution(x, leaf({4, 2, 3, 3}, std::vector<float>(72, 0.f)), b),
                    "convolution: x has 3 channels (shape (2, 3, 5, 5), base_axis 1) and group 1, so W needs 3 on "
                    "axis 1, but W has shape (4, 2, 3, 3)");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 1, {}, {}, {}, 2),
                    "convolution: group 2 does not divide the 3 input channels (x shape (2, 3, 5, 5))");
  CHECK_EQ(shape_str(f::convolution(x, leaf({3, 1, 3, 3}, std::vector<float>(27, 0.f)), nullptr, 1, {}, {}, {}, 3)
                         ->shape()),
           "(2, 3, 3, 3)");  // 3 groups of one channel
  CHECK_THROWS_WITH(f::convolution(x, leaf({4, 1, 3, 3}, std::vector<float>(36, 0.f)), nullptr, 1, {}, {}, {}, 3),
                    "convolution: group 3 does not divide the 4 output channels (W shape (4, 1, 3, 3))");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 1, {}, {}, {}, 0), "convolution: group is 0; it must be >= 1");
  CHECK_THROWS_WITH(f::convolution(leaf({3, 5, 5}, std::vector<float>(75, 0.f)), w, b),
                    "convolution: x of shape (3, 5, 5) has 1 spatial axes after base_axis 1 and its channel axis, "
                    "but W of shape (4, 3, 3, 3) has 2 kernel axes");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 3), "convolution: base_axis 3 leaves no spatial axis in x of shape "
                                                 "(2, 3, 5, 5)");
  CHECK_THROWS_WITH(f::convolution(x, w, b, -1), "convolution: base_axis -1 leaves no spatial axis");
  CHECK_THROWS_WITH(f::convolution(x, leaf({4, 3}, std::vector<float>(12, 0.f)), b),
                    "convolution: W of shape (4, 3) must have 3 to 5 axes");
  CHECK_THROWS_WITH(f::convolution(x, w, leaf({3}, {0, 0, 0})), "convolution: b has shape (3,) but W shape "
                                                                "(4, 3, 3, 3) needs (4,)");
  CHECK_THROWS_WITH(f::convolution(x, w, b, 1, {}, {}, {}, 1, true), "convolution: channel_last=true is not "
                                                                     "implemented");
  CHECK_THROWS_WITH(f::convolution(leaf({2, 3, 0, 5}, {}), w, b), "convolution: x of shape (2, 3, 0, 5) has an "
                                                                   "empty spatial axis");
  CHECK_THROWS_WITH(f::convolution(nullptr, w, b), "convolution: input 0 is null");
}

// --- deconvolution ------------------------------------------------------------

TEST(deconvolution_matches_direct_loops) {
  check_against_reference(true, {2, 3, 4, 5}, {3, 2, 3, 2}, true, 1, {}, {}, {}, 1);
  check_against_reference(true, {1, 4, 3, 4}, {4, 3, 2, 3}, true, 1, {1, 0}, {2, 3}, {1, 2}, 2, {1, 2});
  check_against_reference(true, {2, 6, 3, 3}, {6, 1, 3, 3}, false, 1, {1, 1}, {2, 2}, {1, 1}, 3, {0, 1});
  check_against_reference(true, {2, 4, 3, 2}, {4, 3, 1, 1}, true, 1, {}, {}, {}, 1);  // 1x1: no copy
  check_against_reference(true, {3, 2, 5}, {2, 3, 4}, true, 1, {1}, {3}, {1}, 1, {2});
  check_against_reference(true, {2, 2, 3, 2, 2}, {2, 2, 2, 2, 3}, true, 1, {0, 1, 1}, {2, 1, 2}, {1, 2, 1}, 1);
  check_against_reference(true, {2, 2, 2, 3, 3}, {2, 2, 2, 2}, true, 2, {}, {2, 2}, {}, 1);  // two batch axes
}

TEST(deconvolution_on_two_threads_matches_direct_loops) {
  with_threads(2, [] {
    check_against_reference(true, {5, 16, 10, 10}, {16, 8, 4, 4}, true, 1, {1, 1}, {2, 2}, {}, 1, {}, 1e-4);
    check_against_reference(true, {4, 16, 12, 12}, {16, 4, 3, 3}, true, 1, {1, 1}, {}, {}, 2, {}, 1e-4);
  });
}

TEST(deconvolution_finite_differences) {
  auto x = random_leaf({2, 4, 3, 3}, -1.f, 1.f, 31);
  auto w = random_leaf({4, 2, 2, 3}, -1.f, 1.f, 32);
  auto b = random_leaf({4}, -1.f, 1.f, 33);
  CHECK_GRADIENTS(f::deconvolution(x, w, b, 1, {1, 0}, {2, 1}, {1, 2}, 2, false, {1, 0}), {x, w, b});
  CHECK_GRADIENTS(f::deconvolution(x, w, nullptr, 1, {0, 1}, {1, 2}, {1, 1}, 1, false), {x, w});
}

// NNabla 1.39.0's values, obtained as for convolution_matches_nnabla:
// F.deconvolution(x, w, b, pad=(1, 0), stride=(2, 2), output_padding=(1, 1))
// on x (1, 2, 3, 2), w (2, 2, 2, 3), b (2,); and F.deconvolution(x, w, None,
// pad=(0, 1), stride=(1, 2), dilation=(2, 1), group=2) on x (1, 4, 2, 3),
// w (4, 1, 2, 2); x, w, b and dy from the same patterns.
TEST(deconvolution_matches_nnabla) {
  auto x = leaf({1, 2, 3, 2}, pattern(12, 7, 11, 5, 4));
  auto w = leaf({2, 2, 2, 3}, pattern(24, 5, 9, 4, 8));
  auto b = leaf({2}, pattern(2, 1, 3, 1, 2));
  f::DeconvolutionOpts opts;
  opts.pad({1, 0}).stride({2, 2}).output_padding({1, 1});
  auto y = f::deconvolution(x, w, b, 1, 1, opts);
  CHECK_EQ(shape_str(y->shape()), "(1, 2, 5, 6)");
  y->forward();
  CHECK_ALL_NEAR(
      data_of(y),
      std::vector<float>({-0.9375,  0.3125,  -0.84375, -0.625,  -0.3125,  -0.5,     -0.5,     -0.3125,  -1.125,
                          -0.53125, -0.6875, -0.5,     -0.5,    -0.875,   -0.46875, -0.4375,  -0.03125, -0.5,
                          -0.6875,  -0.40625, -0.625,  -0.28125, -0.6875, -0.5,     -0.40625, -0.6875,  -0.4375,
                          -0.9375,  -0.78125, -0.5,    0.875,   -0.40625, 0.59375,  0.0625,   -0.1875,  0.0,
                          0.5625,   -0.375,  -0.15625, 0.71875, -0.28125, 0.0,      0.0,      0.1875,   -0.625,
                          -0.03125, -0.1875, 0.0,      0.09375, 0.09375,  0.8125,   -0.53125, 0.46875,  0.0,
                          -0.1875,  0.09375, -0.125,   0.21875, -0.1875,  0.0}),
      1e-6);
  for (auto& v : {x, w, b}) v->variable()->grad()->zero();
  y->backward(leaf(y->shape(), pattern(60, 3, 7, 3, 2), false)->variable()->data());
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({-1.0, 0.0625, -0.4375, -0.0625, -1.25, -0.4375, 1.0625, 0.25,
                                                 1.4375, 1.25, -0.125, 1.4375}),
                 1e-6);
  CHECK_ALL_NEAR(grad_of(w), std::vector<float>({-0.375, 3.5,   -0.5,   1.875, -0.625, 2.125, -0.5,   -1.0,
                                                 -0.625, 2.125, -0.375, -2.0,  -1.375, 4.75,  -0.5,   -0.25,
                                                 -1.375, 6.25,  -0.5,   -2.25, 0.375,  6.25,  -1.0,   -1.25}),
                 1e-6);
  CHECK_ALL_NEAR(grad_of(b), std::vector<float>({-1.5, 1.0}), 1e-6);

  auto x2 = leaf({1, 4, 2, 3}, pattern(24, 7, 11, 5, 4));
  auto w2 = leaf({4, 1, 2, 2}, pattern(16, 5, 9, 4, 8));
  auto y2 = f::deconvolution(x2, w2, nullptr, 1, {0, 1}, {1, 2}, {2, 1}, 2, false, {});
  y2->forward();
  CHECK_ALL_NEAR(data_of(y2), std::vector<float>({0.21875, -0.25,   0.0625,  0.5,     0.4375,  -0.0625, -0.0625,
                                                  0.6875,  0.1875,  -0.1875, 0.125,   0.3125,  0.6875,  -0.0625,
                                                  -0.0625, 0.4375,  -0.25,   -0.25,   0.5,     0.1875,  -0.0625,
                                                  -0.3125, 0.6875,  0.125,   -0.1875, -0.4375, 0.3125,  0.4375,
                                                  -0.0625, -0.5625, 0.4375,  0.3125}),
                 1e-6);
  for (auto& v : {x2, w2}) v->variable()->grad()->zero();
  y2->backward(leaf(y2->shape(), pattern(32, 3, 7, 3, 2), false)->variable()->data());
  CHECK_ALL_NEAR(grad_of(x2), std::vector<float>({-0.1875, -0.5,    -0.125, -0.125,  0.0,     0.75,
                                                  -0.5625, 0.125,   0.0,    -0.125,  -0.375,  0.375,
                                                  -0.5625, 0.0,     0.0625, 0.3125,  -0.5625, -0.0625,
                                                  -0.3125, 0.125,   -0.0625, 0.0625, -0.5625, 0.1875}),
                 1e-6);
  CHECK_ALL_NEAR(grad_of(w2), std::vector<float>({1.125, 4.0, 0.375, -1.875, 2.625, -0.875, -1.125, -0.375, 1.625,
                                                  0.375, -0.375, -1.25, 2.375, -1.125, -0.875, -0.5}),
                 1e-6);
}

TEST(deconvolution_bad_arguments_name_the_shapes) {
  auto x = leaf({2, 4, 3, 3}, std::vector<float>(72, 0.f));
  auto w = leaf({4, 2, 3, 3}, std::vector<float>(72, 0.f));
  CHECK_THROWS_WITH(f::deconvolution(x, w, nullptr, 1, {3, 0}),
                    "deconvolution: the output would be empty on spatial axis 0: stride·(3 − 1) − 2·pad + "
                    "dilation·(kernel − 1) + 1 + output_padding = -1 (x shape (2, 4, 3, 3), W shape (4, 2, 3, 3), "
                    "pad (3, 0)");
  CHECK_THROWS_WITH(f::deconvolution(x, w, nullptr, 1, {}, {2, 2}, {}, 1, false, {2, 0}),
                    "deconvolution: output_padding (2, 0) must be smaller than stride (2, 2)");
  CHECK_THROWS_WITH(f::deconvolution(x, w, nullptr, 1, {}, {}, {}, 1, false, {-1, 0}),
                    "deconvolution: output_padding (-1, 0) has -1 on spatial axis 0; it must be >= 0");
  CHECK_THROWS_WITH(f::deconvolution(x, leaf({3, 2, 3, 3}, std::vector<float>(54, 0.f)), nullptr),
                    "deconvolution: x has 4 channels (shape (2, 4, 3, 3), base_axis 1) but W of shape (3, 2, 3, 3) "
                    "expects 3 on axis 0");
  CHECK_THROWS_WITH(f::deconvolution(x, w, nullptr, 1, {}, {}, {}, 3),
                    "deconvolution: group 3 does not divide the 4 input channels");
  CHECK_THROWS_WITH(f::deconvolution(x, w, leaf({2}, {0, 0}), 1, {}, {}, {}, 2),
                    "deconvolution: b has shape (2,) but W shape (4, 2, 3, 3) and group 2 make 4 output channels");
  CHECK_THROWS_WITH(f::deconvolution(x, w, nullptr, 1, {}, {0, 1}), "deconvolution: stride (0, 1) has 0");
  CHECK_THROWS_WITH(f::deconvolution(leaf({4, 3, 3}, std::vector<float>(36, 0.f)), w, nullptr),
                    "deconvolution: x of shape (4, 3, 3) has 1 spatial axes");
  CHECK_THROWS_WITH(f::deconvolution(x, w, nullptr, 1, {}, {}, {}, 1, true),
                    "deconvolution: channel_last=true is not implemented");
}

// --- parametric ---------------------------------------------------------------

namespace pf = nnvae::parametric_functions;

// "conv/W" (C', C/G, K...) from U(±√(6 / (K·C + C'))), "conv/b" zeros;
// the same call again reuses them.
TEST(pf_convolution_creates_named_parameters) {
  ParameterDirectory params;
  auto x = random_leaf({2, 4, 9, 9}, -1.f, 1.f, 41, false);
  auto y = pf::convolution(x, 1, 6, {3, 2}, params["c1"], pf::ConvolutionOpts().pad({1, 1}).stride({2, 1}).group(2));
  CHECK_EQ(shape_str(y->shape()), "(2, 6, 5, 10)");
  auto ps = params.get_parameters();
  CHECK_EQ(ps.size(), size_t(2));
  CHECK_EQ(ps[0].first, "c1/conv/W");
  CHECK_EQ(ps[1].first, "c1/conv/b");
  CHECK_EQ(shape_str(ps[0].second->shape()), "(6, 2, 3, 2)");
  CHECK_EQ(shape_str(ps[1].second->shape()), "(6,)");
  const float lim = std::sqrt(6.f / (6 * 4 + 6));
  auto w = data_of(params.get_parameter("c1/conv/W"));
  float wmax = 0;
  for (float v : w) wmax = std::max(wmax, std::fabs(v));
  CHECK(wmax <= lim);
  CHECK(wmax > 0.8f * lim);  // 72 draws spread over the range
  CHECK_ALL_NEAR(data_of(params.get_parameter("c1/conv/b")), std::vector<float>(6, 0.f), 0);
  // Reused: same W, no new parameter; without a bias: only W.
  auto y2 = pf::convolution(x, 1, 6, {3, 2}, params["c1"], pf::ConvolutionOpts().pad({1, 1}).stride({2, 1}).group(2));
  CHECK_EQ(params.get_parameters().size(), size_t(2));
  pf::convolution(x, 1, 3, {1, 1}, params["c2"], pf::ConvolutionOpts().with_bias(false));
  CHECK_EQ(params.get_parameters().size(), size_t(3));
  CHECK_EQ(params.get_parameters()[2].first, "c2/conv/W");
  // Custom initializers
  ConstantInitializer half(0.5f), one(1.f);
  pf::convolution(x, 1, 2, {2, 2}, params["c3"], pf::ConvolutionOpts().w_init(&half).b_init(&one));
  CHECK_ALL_NEAR(data_of(params.get_parameter("c3/conv/W")), std::vector<float>(32, 0.5f), 0);
  CHECK_ALL_NEAR(data_of(params.get_parameter("c3/conv/b")), std::vector<float>(2, 1.f), 0);
  y->forward();
  y2->forward();
  CHECK_ALL_NEAR(data_of(y), data_of(y2), 0);
}

TEST(pf_deconvolution_creates_named_parameters) {
  ParameterDirectory params;
  auto z = random_leaf({3, 8, 1, 1}, -1.f, 1.f, 42, false);
  auto h = pf::deconvolution(z, 1, 4, {4, 4}, params["d1"], pf::DeconvolutionOpts().with_bias(false));
  CHECK_EQ(shape_str(h->shape()), "(3, 4, 4, 4)");
  auto h2 = pf::deconvolution(h, 1, 2, {4, 4}, params["d2"],
                              pf::DeconvolutionOpts().pad({1, 1}).stride({2, 2}).output_padding({1, 0}));
  CHECK_EQ(shape_str(h2->shape()), "(3, 2, 9, 8)");
  auto ps = params.get_parameters();
  CHECK_EQ(ps.size(), size_t(3));
  CHECK_EQ(ps[0].first, "d1/deconv/W");
  CHECK_EQ(shape_str(ps[0].second->shape()), "(8, 4, 4, 4)");
  CHECK_EQ(ps[1].first, "d2/deconv/W");
  CHECK_EQ(shape_str(ps[1].second->shape()), "(4, 2, 4, 4)");
  CHECK_EQ(ps[2].first, "d2/deconv/b");
  const float lim = std::sqrt(6.f / (16 * 8 + 4));
  for (float v : data_of(params.get_parameter("d1/deconv/W"))) CHECK(std::fabs(v) <= lim);
  h2->forward();
}

// A bad call creates no parameter of a wrong shape.
TEST(pf_convolution_bad_arguments_create_nothing) {
  ParameterDirectory params;
  auto x = leaf({2, 3, 5, 5}, std::vector<float>(150, 0.f));
  CHECK_THROWS_WITH(pf::convolution(x, 1, 4, {3}, params), "pf::convolution: kernel (3,) has 1 entries but x of "
                                                           "shape (2, 3, 5, 5) has 2 spatial axes after base_axis 1");
  CHECK_THROWS_WITH(pf::convolution(x, 1, 4, {3, 3}, params, pf::ConvolutionOpts().group(2)),
                    "pf::convolution: group 2 must be >= 1 and divide both the 3 input channels (x shape "
                    "(2, 3, 5, 5)) and n_map_out 4");
  CHECK_THROWS_WITH(pf::convolution(x, 1, 0, {3, 3}, params), "pf::convolution: n_map_out must be > 0, got 0");
  CHECK_THROWS_WITH(pf::convolution(x, 3, 4, {3, 3}, params), "pf::convolution: base_axis 3 leaves no spatial axis");
  CHECK_THROWS_WITH(pf::convolution(x, 1, 4, {0, 3}, params), "pf::convolution: kernel (0, 3) has an entry < 1");
  CHECK_THROWS_WITH(pf::convolution(x, 1, 4, {3, 3}, params, pf::ConvolutionOpts().channel_last(true)),
                    "pf::convolution: channel_last=true is not implemented");
  CHECK_THROWS_WITH(pf::deconvolution(x, 1, 4, {3, 3}, params, pf::DeconvolutionOpts().group(3)),
                    "pf::deconvolution: group 3 must be >= 1 and divide both the 3 input channels");
  CHECK_THROWS_WITH(pf::convolution(nullptr, 1, 4, {3, 3}, params), "pf::convolution: the input is null");
  CHECK_EQ(params.get_parameters().size(), size_t(0));
}

NNVAE_TEST_MAIN()
