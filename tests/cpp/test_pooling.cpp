// max_pooling and average_pooling (functions.def, convolution_opts.hpp): forward and
// gradient against direct loops over the windows written here, against
// NNabla 1.39.0's values (ties, partial windows, padding), against finite
// differences with accumulation; 1 to 3 pooled axes, odd sizes, one or
// several threads, the short form's defaults; and every bad argument.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include <string>
#include <utility>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

namespace {

// Pooling by direct loops: each output's window, per pooled axis from
// j·s − p to min(j·s − p + k, L + p), read within [0, L).
struct RefPool {
  Shape_t xs, ys;
  std::vector<int64_t> k, s, p;
  bool max, including_pad;

  RefPool(const Shape_t& x, std::vector<int> kernel, std::vector<int> stride, bool ignore_border,
          std::vector<int> pad, bool is_max, bool incl)
      : xs(x), ys(x), max(is_max), including_pad(incl) {
    const size_t S = kernel.size();
    for (size_t i = 0; i < S; ++i) {
      k.push_back(kernel[i]);
      s.push_back(stride.empty() ? kernel[i] : stride[i]);
      p.push_back(pad.empty() ? 0 : pad[i]);
      const int64_t L = x[x.size() - S + i];
      ys[x.size() - S + i] = ignore_border ? (L + 2 * p[i] - k[i]) / s[i] + 1 : (L + p[i] - 1) / s[i] + 1;
    }
  }

  // Every output: fn(output index, the input indices of its window in
  // row-major order, the window's size counting the padding).
  void windows(const std::function<void(int64_t, const std::vector<int64_t>&, int64_t)>& fn) const {
    const size_t S = k.size(), lead = xs.size() - S;
    int64_t maps = 1;
    for (size_t i = 0; i < lead; ++i) maps *= xs[i];
    const int64_t in = shape_size(xs) / std::max<int64_t>(maps, 1), out = shape_size(ys) / std::max<int64_t>(maps, 1);
    for (int64_t m = 0; m < maps; ++m)
      for (int64_t o = 0; o < out; ++o) {
        // o's coordinates along the pooled axes, then the window's box
        std::vector<int64_t> lo(S), hi(S);
        int64_t rest = o, full = 1;
        for (size_t a = S; a-- > 0;) {
          const int64_t j = rest % ys[lead + a];
          rest /= ys[lead + a];
          const int64_t start = j * s[a] - p[a], end = std::min(start + k[a], xs[lead + a] + p[a]);
          full *= end - start;
          lo[a] = std::max<int64_t>(start, 0);
          hi[a] = std::min(end, xs[lead + a]);
        }
        std::vector<int64_t> idx;
        std::vector<int64_t> c(lo);
        bool empty = false;
        for (size_t a = 0; a < S; ++a) empty = empty || lo[a] >= hi[a];
        while (!empty) {
          int64_t flat = 0;
          for (size_t a = 0; a < S; ++a) flat = flat * xs[lead + a] + c[a];
          idx.push_back(m * in + flat);
          size_t a = S;
          while (a-- > 0 && ++c[a] == hi[a]) c[a] = lo[a];
          if (a == size_t(-1)) break;
        }
        fn(m * out + o, idx, full);
      }
  }

  std::vector<float> forward(const std::vector<float>& x) const {
    std::vector<float> y(static_cast<size_t>(shape_size(ys)));
    windows([&](int64_t o, const std::vector<int64_t>& idx, int64_t full) {
      if (max) {
        float v = x[idx[0]];
        for (int64_t i : idx) v = std::max(v, x[i]);
        y[o] = v;
      } else {
        double sum = 0;
        for (int64_t i : idx) sum += x[i];
        y[o] = float(sum / double(including_pad ? full : int64_t(idx.size())));
      }
    });
    return y;
  }

  std::vector<float> backward(const std::vector<float>& x, const std::vector<float>& dy) const {
    std::vector<double> dx(x.size(), 0.0);
    windows([&](int64_t o, const std::vector<int64_t>& idx, int64_t full) {
      if (max) {
        int64_t best = idx[0];
        for (int64_t i : idx)
          if (x[best] < x[i]) best = i;  // the first largest
        dx[best] += dy[o];
      } else {
        for (int64_t i : idx) dx[i] += double(dy[o]) / double(including_pad ? full : int64_t(idx.size()));
      }
    });
    return std::vector<float>(dx.begin(), dx.end());
  }
};

// Distinct values in ±[0.1, ...], 0.05 apart and shuffled: no ties, and a
// finite-difference step of 1e-2 never changes which value is largest.
std::vector<float> distinct(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = 0.05f * float(i - n / 2);
  Generator g(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[static_cast<int64_t>(g.uniform() * float(i + 1)) % (i + 1)]);
  return v;
}

// v[i] = ((i·a) mod m − off) / den: exact values, as in the NNabla cases.
std::vector<float> pattern(int64_t n, int a, int m, int off, float den) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = float((i * a) % m - off) / den;
  return v;
}

// Checks both poolings (average with and without the pad) against RefPool,
// forward, backward and accumulated backward.
void check_against_reference(const Shape_t& xs, std::vector<int> kernel, std::vector<int> stride,
                             bool ignore_border, std::vector<int> pad, bool with_ties = false) {
  // Multiples of 1/128 in [-4, 4) (sums nearly exact); with_ties: of 1/2.
  std::vector<float> xv = pattern(shape_size(xs), 37, 1009, 504, 128);
  if (with_ties)
    for (auto& v : xv) v = std::round(v * 2.f) / 2.f;
  for (int kind = 0; kind < 6; ++kind) {
    const bool is_max = kind % 3 == 0, incl = kind % 3 == 1;
    // Pooling a leaf adds to its gradient; pooling an intermediate (x·1)
    // writes that one's gradient.
    auto x = leaf(xs, xv);
    auto in = kind < 3 ? x : f::mul_scalar(x, 1.0);
    auto y = is_max ? f::max_pooling(in, kernel, stride, ignore_border, pad, false)
                    : f::average_pooling(in, kernel, stride, ignore_border, pad, false, incl);
    RefPool ref(xs, kernel, stride, ignore_border, pad, is_max, incl);
    CHECK_EQ(shape_str(y->shape()), shape_str(ref.ys));
    y->forward();
    CHECK_ALL_NEAR(data_of(y), ref.forward(xv), 1e-6);
    auto dy = random_leaf(y->shape(), -1.f, 1.f, 8, false);
    const std::vector<float> want = ref.backward(xv, data_of(dy));
    x->variable()->grad()->zero();
    y->backward(dy->variable()->data());
    CHECK_ALL_NEAR(grad_of(x), want, 1e-6);
    y->backward(dy->variable()->data());
    std::vector<float> twice(want);
    for (auto& v : twice) v *= 2;
    CHECK_ALL_NEAR(grad_of(x), twice, 1e-6);
  }
}

}  // namespace

TEST(pooling_2d_matches_direct_loops) {
  check_against_reference({2, 3, 6, 6}, {2, 2}, {2, 2}, true, {});
  check_against_reference({2, 3, 7, 5}, {2, 2}, {2, 2}, false, {});  // partial windows at the far border
  check_against_reference({1, 2, 7, 9}, {3, 2}, {2, 3}, true, {1, 1});
  check_against_reference({1, 2, 7, 9}, {3, 2}, {2, 3}, false, {1, 1});
  check_against_reference({2, 1, 5, 6}, {3, 3}, {1, 1}, true, {2, 0});
  check_against_reference({1, 1, 2, 3}, {5, 4}, {1, 1}, false, {});  // kernel longer than x
  check_against_reference({2, 2, 8, 8}, {4, 4}, {}, true, {});       // empty stride: the kernel
}

// 2x2 windows with stride 2, all whole (their own loop in pooling.cpp):
// even sizes, odd sizes whose last row and column no window covers, ties.
TEST(pooling_whole_2x2_windows_match_direct_loops) {
  check_against_reference({2, 3, 8, 10}, {2, 2}, {2, 2}, true, {});
  check_against_reference({2, 3, 7, 9}, {2, 2}, {2, 2}, true, {});
  check_against_reference({2, 2, 6, 8}, {2, 2}, {2, 2}, true, {}, true);
  check_against_reference({2, 2, 6, 8}, {2, 2}, {}, true, {0, 0}, true);
}

// One window over each whole map (global pooling, ResNet's 4x4 average),
// also with a stride other than the kernel and over one and three axes.
TEST(pooling_whole_map_windows_match_direct_loops) {
  check_against_reference({3, 5, 4, 4}, {4, 4}, {4, 4}, true, {});
  check_against_reference({3, 5, 4, 6}, {4, 6}, {1, 2}, false, {});
  check_against_reference({2, 3, 7}, {7}, {}, true, {});
  check_against_reference({2, 2, 3, 4, 5}, {3, 4, 5}, {}, true, {});
  check_against_reference({16, 64, 4, 4}, {4, 4}, {4, 4}, true, {});  // over kParallelThreshold
}

// elu or relu before a max pooling runs as the epilogue of its backward
// (each map of dx finished while in cache): same values and gradients as
// unfused, accumulating into a leaf or writing an intermediate's gradient,
// on 1 and 2 threads.
TEST(max_pooling_backward_fuses_the_activation_before_it) {
  using Activation = std::function<CgVariablePtr(CgVariablePtr)>;
  const std::vector<std::pair<std::string, Activation>> activations{
      {"elu", [](CgVariablePtr v) { return f::elu(v, 1.0); }},
      {"relu", [](CgVariablePtr v) { return f::relu(v, false); }}};
  const int saved = get_num_threads();
  for (const auto& [name, act] : activations)
    for (int threads : {1, 2})
      for (const Shape_t& xs : {Shape_t{2, 3, 6, 8}, Shape_t{8, 20, 24, 24}}) {
        set_num_threads(threads);
        auto x = random_leaf(xs, -2.f, 2.f, 11);
        auto h = act(f::mul_scalar(x, 1.5));
        auto y = f::max_pooling(h, {2, 2}, {2, 2}, true, {0, 0}, false);
        auto dy = random_leaf(y->shape(), -1.f, 1.f, 12, false);
        auto run = [&](bool fused) {
          set_fusion(fused);
          x->variable()->grad()->zero();
          y->forward();
          y->backward(dy->variable()->data());
          y->backward(dy->variable()->data());  // x accumulates
          set_fusion(true);
          return std::vector<std::vector<float>>{data_of(h), data_of(y), grad_of(x)};
        };
        auto plain = run(false);
        profiling::reset();
        profiling::set_enabled(true);
        auto fused = run(true);
        profiling::set_enabled(false);
        for (size_t i = 0; i < plain.size(); ++i) CHECK_ALL_NEAR(fused[i], plain[i], 0);
        int64_t calls = 0;
        for (auto& e : profiling::report())
          if (e.name == "max_pooling+" + name) calls = e.backward_calls;
        CHECK_EQ(calls, int64_t(2));
      }
  set_num_threads(saved);
}

TEST(pooling_ties_go_to_the_first_largest) {
  check_against_reference({2, 2, 6, 7}, {3, 3}, {2, 2}, false, {1, 1}, true);
  auto x = leaf({1, 1, 2, 2}, {1.f, 1.f, 1.f, 1.f});
  auto y = f::max_pooling(x, {2, 2}, {2, 2}, true, {0, 0}, false);
  y->forward();
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({1, 0, 0, 0}), 0);
}

TEST(pooling_1d_3d_and_leading_axes) {
  check_against_reference({3, 10}, {3}, {2}, false, {1});
  check_against_reference({2, 2, 5, 6, 7}, {2, 3, 2}, {2, 2, 3}, false, {1, 0, 1});
  check_against_reference({2, 2, 5, 6, 7}, {2, 2, 2}, {1, 2, 2}, true, {0, 1, 1});
  check_against_reference({2, 3, 2, 5, 4}, {2, 2}, {2, 2}, false, {});  // three leading axes
  check_against_reference({5, 4}, {2, 2}, {2, 2}, true, {});            // none
}

// More than kParallelThreshold values: the maps shared among threads.
TEST(pooling_on_two_threads_matches_direct_loops) {
  const int saved = get_num_threads();
  set_num_threads(2);
  check_against_reference({8, 20, 24, 24}, {2, 2}, {2, 2}, true, {});
  check_against_reference({8, 20, 13, 11}, {3, 3}, {2, 2}, false, {1, 1});
  set_num_threads(saved);
}

TEST(pooling_finite_differences) {
  auto x = leaf({2, 2, 5, 6}, distinct(120, 3));
  CHECK_GRADIENTS(f::max_pooling(x, {2, 3}, {2, 2}, false, {1, 1}, false), {x});
  CHECK_GRADIENTS(f::average_pooling(x, {2, 3}, {2, 2}, false, {1, 1}, false, true), {x});
  CHECK_GRADIENTS(f::average_pooling(x, {3, 2}, {1, 2}, true, {1, 0}, false, false), {x});
}

// The short form's options are NNabla's PoolingOpts: ignore_border false by
// default (so a 2x2 window on 5 rows gives 3), including_pad true.
TEST(pooling_short_form_defaults) {
  auto x = leaf({1, 1, 5, 4}, pattern(20, 7, 11, 5, 4));
  CHECK_EQ(shape_str(f::max_pooling(x, {2, 2}, {2, 2})->shape()), "(1, 1, 3, 2)");
  CHECK_EQ(shape_str(f::average_pooling(x, {2, 2}, {2, 2})->shape()), "(1, 1, 3, 2)");
  auto y = f::average_pooling(x, {2, 2}, {2, 2}, f::PoolingOpts().ignore_border(true).pad({1, 1}).including_pad(false));
  auto want = f::average_pooling(x, {2, 2}, {2, 2}, true, {1, 1}, false, false);
  CHECK_EQ(shape_str(y->shape()), "(1, 1, 3, 3)");
  y->forward();
  want->forward();
  CHECK_ALL_NEAR(data_of(y), data_of(want), 0);
}

// NNabla 1.39.0's values: F.max_pooling(x, (2, 3), (2, 2),
// ignore_border=False, pad=(1, 1)) on x (1, 2, 5, 4) = pattern(3, 5, 2, 1)
// (values -2..2, many ties), F.average_pooling with the same windows and
// including_pad True then False on x = pattern(7, 11, 5, 4), and
// F.max_pooling(x, (3, 2), (1, 2), ignore_border=True, pad=(1, 0)) on x
// (1, 1, 4, 5) = pattern(3, 5, 2, 1); each back-propagated from dy =
// pattern(3, 7, 3, 2) with x's gradient zeroed first, printed by that
// library's Python.
TEST(pooling_matches_nnabla) {
  auto run = [](CgVariablePtr x, CgVariablePtr y, const std::vector<float>& want_y, const std::vector<float>& want_g,
                double tol) {
    y->forward();
    CHECK_ALL_NEAR(data_of(y), want_y, tol);
    x->variable()->grad()->zero();
    y->backward(leaf(y->shape(), pattern(y->variable()->size(), 3, 7, 3, 2), false)->variable()->data());
    CHECK_ALL_NEAR(grad_of(x), want_g, tol);
  };
  auto xm = leaf({1, 2, 5, 4}, pattern(40, 3, 5, 2, 1));
  run(xm, f::max_pooling(xm, {2, 3}, {2, 2}, false, {1, 1}, false),
      {1, 2, 2, 2, 1, 1, 2, 2, 0, 1, 2, 2, 2, 1, 1, 2, 2, 0},
      {0,  -1.5, 0, 1.5, 0, 0, 1,   0, -0.5, 0, 0,    -1, 0, -1,  0, 0, 0, 0, 0, 0,
       0,  1.5,  0, 0.5, 0, 0, 0.5, 0, -1,   0, 0,    -1.5, 0, 1.5, 0, 0, 0, 0, 0, -0.5},
      0);
  auto xa = leaf({1, 2, 5, 4}, pattern(40, 7, 11, 5, 4));
  run(xa, f::average_pooling(xa, {2, 3}, {2, 2}, false, {1, 1}, false, true),
      {-0.125, 0.2083333283662796, 0.3125, -0.125, -0.0833333358168602, -0.3125, 0.0416666679084301,
       0.1666666716337204, -0.1875, 0.0833333358168602, -0.1666666716337204, 0.125, 0.2916666567325592,
       0.0833333358168602, 0.0, 0.0, -0.125, 0.125},
      {-0.25, -0.25, 0.0, 0.375, -0.0833333358168602, 0.0833333358168602, 0.1666666716337204, -0.0833333283662796,
       -0.0833333358168602, 0.0833333358168602, 0.1666666716337204, -0.0833333283662796, 0.0833333358168602,
       -0.1666666567325592, -0.25, -0.25, 0.0833333358168602, -0.1666666567325592, -0.25, -0.25, 0.25,
       0.1666666567325592, -0.0833333358168602, 0.1666666567325592, -0.1666666716337204, -0.0833333358168602,
       0.0833333358168602, -0.2916666567325592, -0.1666666716337204, -0.0833333358168602, 0.0833333358168602,
       -0.2916666567325592, 0.0, 0.25, 0.25, 0.125, 0.0, 0.25, 0.25, 0.125},
      1e-6);
  run(xa, f::average_pooling(xa, {2, 3}, {2, 2}, false, {1, 1}, false, false),
      {-0.375, 0.4166666567325592, 1.25, -0.1875, -0.0833333358168602, -0.625, 0.0625, 0.1666666716337204, -0.375,
       0.25, -0.3333333432674408, 0.5, 0.4375, 0.0833333358168602, 0.0, 0.0, -0.125, 0.25},
      {-0.75, -0.75, 0.0, 1.5, -0.125, 0.0416666716337204, 0.1666666716337204, -0.3333333134651184, -0.125,
       0.0416666716337204, 0.1666666716337204, -0.3333333134651184, 0.125, -0.125, -0.25, -0.25, 0.125, -0.125,
       -0.25, -0.25, 0.75, 0.5833333134651184, -0.1666666716337204, 0.8333333134651184, -0.25, -0.1666666567325592,
       0.0833333358168602, -0.6666666865348816, -0.25, -0.1666666567325592, 0.0833333358168602, -0.6666666865348816,
       0.0, 0.25, 0.25, 0.0, 0.0, 0.25, 0.25, 0.0},
      1e-6);
  auto xi = leaf({1, 1, 4, 5}, pattern(20, 3, 5, 2, 1));
  run(xi, f::max_pooling(xi, {3, 2}, {1, 2}, true, {1, 0}, false), {1, 2, 1, 2, 1, 2, 1, 2},
      {0, 0, 0, -0.5, 0, 0, 1, 0, -1, 0, 0, 0.5, 0, -1.5, 0, 0, 0, 0, 0, 0}, 0);
}

TEST(pooling_bad_arguments_name_the_shapes) {
  auto x = leaf({2, 3, 5, 5}, std::vector<float>(150, 0.f));
  CHECK_THROWS_WITH(f::max_pooling(x, {6, 2}, {1, 1}, true, {0, 0}, false),
                    "max_pooling: no window fits: kernel (6, 2) is longer than the padded input on axis 0 (x shape "
                    "(2, 3, 5, 5), pad (0, 0), ignore_border true)");
  CHECK_THROWS_WITH(f::average_pooling(x, {2, 8}, {1, 1}, true, {0, 1}, false, true),
                    "average_pooling: no window fits: kernel (2, 8) is longer than the padded input on axis 1");
  CHECK_THROWS_WITH(f::max_pooling(x, {2, 2}, {2, 2}, true, {-1, 0}, false),
                    "max_pooling: pad (-1, 0) has -1 on axis 0; it must be >= 0");
  CHECK_THROWS_WITH(f::max_pooling(x, {2, 2}, {2, 0}, true, {0, 0}, false),
                    "max_pooling: stride (2, 0) has 0 on axis 1; it must be >= 1");
  CHECK_THROWS_WITH(f::average_pooling(x, {0, 2}, {1, 1}, true, {0, 0}, false, true),
                    "average_pooling: kernel (0, 2) has 0 on axis 0; it must be >= 1");
  CHECK_THROWS_WITH(f::max_pooling(x, {2, 2}, {2, 2, 2}, true, {0, 0}, false),
                    "max_pooling: stride (2, 2, 2) has 3 entries but kernel (2, 2) has 2");
  CHECK_THROWS_WITH(f::max_pooling(x, {2, 2}, {2, 2}, true, {0}, false),
                    "max_pooling: pad (0,) has 1 entries but kernel (2, 2) has 2");
  CHECK_THROWS_WITH(f::max_pooling(x, {2, 2}, {2, 2}, true, {2, 0}, false),
                    "max_pooling: pad (2, 0) must be smaller than kernel (2, 2) (axis 0): a window would lie wholly "
                    "in the padding");
  CHECK_THROWS_WITH(f::average_pooling(x, {2, 2}, {2, 2}, true, {2, 0}, false, false),
                    "average_pooling: pad (2, 0) must be smaller than kernel (2, 2)");
  // Including the pad, a window in the padding alone averages to 0.
  auto y = f::average_pooling(leaf({1, 1, 1, 2}, {4.f, 8.f}), {1, 1}, {1, 1}, true, {1, 0}, false, true);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({0, 0, 4, 8, 0, 0}), 0);
  CHECK_THROWS_WITH(f::max_pooling(leaf({4}, {0, 0, 0, 0}), {2, 2}, {2, 2}, true, {0, 0}, false),
                    "max_pooling: kernel (2, 2) pools 2 axes but x has shape (4,)");
  CHECK_THROWS_WITH(f::max_pooling(x, {2, 2, 2, 2}, {}, true, {}, false),
                    "max_pooling: kernel (2, 2, 2, 2) must have 1 to 3 entries");
  CHECK_THROWS_WITH(f::max_pooling(x, {}, {}, true, {}, false), "max_pooling: kernel () must have 1 to 3 entries");
  CHECK_THROWS_WITH(f::max_pooling(leaf({2, 0, 3}, {}), {2, 2}, {2, 2}, true, {0, 0}, false),
                    "max_pooling: x of shape (2, 0, 3) has an empty pooled axis");
  CHECK_THROWS_WITH(f::max_pooling(x, {2, 2}, {2, 2}, true, {0, 0}, true),
                    "max_pooling: channel_last=true is not implemented");
  CHECK_THROWS_WITH(f::average_pooling(x, {2, 2}, {2, 2}, f::PoolingOpts().channel_last(true)),
                    "average_pooling: channel_last=true is not implemented");
}

NNVAE_TEST_MAIN()
