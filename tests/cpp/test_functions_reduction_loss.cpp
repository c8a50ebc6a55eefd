// The engine's functions: the reductions (sum, mean, max, min), softmax and the losses. Forward against hand-computed values,
// backward against central finite differences with accumulation (a second
// backward without zeroing doubles the leaves' gradients; gradcheck.hpp), and
// the shape errors, naming the shapes.
#include <algorithm>
#include <cmath>
#include <functional>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

// --- reductions ----------------------------------------------------------------
// x (2,3,4) holds 0..23, so x[i,j,k] = 12i + 4j + k.

TEST(sum_over_one_axis_and_negative_axis) {
  auto x = leaf({2, 3, 4}, iota(24, 0));
  auto s1 = f::sum(x, {1}, false);
  CHECK(s1->shape() == Shape_t({2, 4}));
  s1->forward();
  // Σ_j = 36i + 12 + 3k
  CHECK_ALL_NEAR(data_of(s1), std::vector<float>({12, 15, 18, 21, 48, 51, 54, 57}), 0);
  auto sl = f::sum(x, {-1}, false);
  CHECK(sl->shape() == Shape_t({2, 3}));
  sl->forward();
  // Σ_k = 48i + 16j + 6
  CHECK_ALL_NEAR(data_of(sl), std::vector<float>({6, 22, 38, 54, 70, 86}), 0);
  auto s0 = f::sum(x, {-3}, false);
  s0->forward();
  CHECK(s0->shape() == Shape_t({3, 4}));
  CHECK_ALL_NEAR(data_of(s0), std::vector<float>({12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34}), 0);
  for (auto& y : {s1, sl, s0}) CHECK_GRADIENTS(y, {x});
}

// Non-contiguous axes {0, 2}: Σ_i Σ_k = 60 + 32j.
TEST(sum_over_non_contiguous_axes_and_keep_dims) {
  auto x = leaf({2, 3, 4}, iota(24, 0));
  auto s = f::sum(x, {0, 2}, false);
  CHECK(s->shape() == Shape_t({3}));
  s->forward();
  CHECK_ALL_NEAR(data_of(s), std::vector<float>({60, 92, 124}), 0);
  auto k = f::sum(x, {2, 0}, true);
  CHECK(k->shape() == Shape_t({1, 3, 1}));
  k->forward();
  CHECK_ALL_NEAR(data_of(k), std::vector<float>({60, 92, 124}), 0);
  auto k1 = f::sum(x, {1}, true);
  CHECK(k1->shape() == Shape_t({2, 1, 4}));
  for (auto& y : {s, k, k1}) CHECK_GRADIENTS(y, {x});
}

// Every axis without keep_dims gives a 0-dim scalar; with keep_dims (1,1,1).
TEST(sum_and_mean_over_all_axes) {
  auto x = leaf({2, 3, 4}, iota(24, 0));
  auto all = f::sum(x, {}, false);
  CHECK(all->shape().empty());
  CHECK_EQ(all->variable()->size(), int64_t(1));
  all->forward();
  CHECK_NEAR(scalar_of(all), 276.0, 0);
  auto listed = f::sum(x, {0, 1, 2}, false);
  CHECK(listed->shape().empty());
  listed->forward();
  CHECK_NEAR(scalar_of(listed), 276.0, 0);
  auto kept = f::mean(x, {}, true);
  CHECK(kept->shape() == Shape_t({1, 1, 1}));
  kept->forward();
  CHECK_NEAR(scalar_of(kept), 11.5, 1e-7);
  auto m = f::mean(x, {-1, 0, 1}, false);
  CHECK(m->shape().empty());
  m->forward();
  CHECK_NEAR(scalar_of(m), 11.5, 1e-7);
  for (auto& y : {all, kept, m}) CHECK_GRADIENTS(y, {x});
  // A 0-dim input reduces to itself.
  auto s = leaf({}, {3.5f});
  auto ss = f::sum(s, {}, false);
  ss->forward();
  CHECK(ss->shape().empty());
  CHECK_NEAR(scalar_of(ss), 3.5, 0);
  CHECK_GRADIENTS(ss, {s});
}

TEST(mean_over_axes) {
  auto x = leaf({2, 3, 4}, iota(24, 0));
  auto m1 = f::mean(x, {1}, false);
  m1->forward();
  // (36i + 12 + 3k) / 3
  CHECK_ALL_NEAR(data_of(m1), std::vector<float>({4, 5, 6, 7, 16, 17, 18, 19}), 1e-7);
  auto m02 = f::mean(x, {0, -1}, true);
  CHECK(m02->shape() == Shape_t({1, 3, 1}));
  m02->forward();
  CHECK_ALL_NEAR(data_of(m02), std::vector<float>({7.5f, 11.5f, 15.5f}), 1e-7);
  for (auto& y : {m1, m02}) CHECK_GRADIENTS(y, {x});
  // The gradient of a mean is 1/count everywhere.
  auto mm = f::mean(x, {0, 2}, false);
  mm->forward();
  x->variable()->grad()->zero();
  backward_ones(mm);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>(24, 1.f / 8.f), 1e-7);
}

// --- loss and comparisons -------------------------------------------------------

TEST(sigmoid_cross_entropy_forward_and_gradient) {
  std::vector<float> xs{-30.f, -1.f, 0.f, 2.f, 40.f, 0.3f};
  std::vector<float> ts{0.f, 1.f, 0.5f, 1.f, 0.f, 0.25f};
  auto x = leaf({2, 3}, xs);
  auto t = leaf({2, 3}, ts, false);
  auto y = f::sigmoid_cross_entropy(x, t);
  y->forward();
  std::vector<double> want;
  // −t·log σ(x) − (1 − t)·log(1 − σ(x)), in double.
  for (size_t i = 0; i < xs.size(); ++i) {
    double v = xs[i], tt = ts[i];
    double log_sig = -std::log1p(std::exp(-v)), log_one_minus = -v - std::log1p(std::exp(-v));
    if (v < 0) log_sig = v - std::log1p(std::exp(v)), log_one_minus = -std::log1p(std::exp(v));
    want.push_back(-tt * log_sig - (1 - tt) * log_one_minus);
  }
  CHECK_ALL_NEAR(data_of(y), want, 1e-6);
  CHECK_NEAR(data_of(y)[2], std::log(2.0), 1e-7);
  CHECK_NEAR(data_of(y)[4], 40.0, 1e-6);
  // d/dx = σ(x) − t, checked directly and by finite differences.
  backward_ones(y);
  auto g = grad_of(x);
  for (size_t i = 0; i < xs.size(); ++i) CHECK_NEAR(g[i], 1 / (1 + std::exp(-double(xs[i]))) - ts[i], 1e-6);
  CHECK(!t->variable()->grad()->allocated());
  auto x2 = random_leaf({2, 3}, -3, 3, 5);
  auto t2 = random_leaf({2, 3}, 0, 1, 6, false);
  CHECK_GRADIENTS(f::sigmoid_cross_entropy(x2, t2), {x2});
}

// --- softmax family ------------------------------------------------------------------------

TEST(softmax_and_log_softmax) {
  std::vector<float> xs{1, 2, 3, -1, 0, 4};
  auto x = leaf({2, 3}, xs);
  auto y = f::softmax(x);
  auto l = f::log_softmax(x);
  y->forward();
  l->forward();
  std::vector<double> want, want_log;
  for (int r = 0; r < 2; ++r) {
    double s = 0;
    for (int i = 0; i < 3; ++i) s += std::exp(double(xs[r * 3 + i]));
    for (int i = 0; i < 3; ++i) want.push_back(std::exp(double(xs[r * 3 + i])) / s);
    for (int i = 0; i < 3; ++i) want_log.push_back(double(xs[r * 3 + i]) - std::log(s));
  }
  CHECK_ALL_NEAR(data_of(y), want, 1e-6);
  CHECK_ALL_NEAR(data_of(l), want_log, 1e-6);
  CHECK_GRADIENTS(y, {x});
  CHECK_GRADIENTS(l, {x});
  // Along axis 0 (columns) and the middle axis of a 3-d input.
  auto c = f::softmax(x, 0);
  c->forward();
  CHECK_NEAR(data_of(c)[0], 1 / (1 + std::exp(-2.0)), 1e-6);
  CHECK_GRADIENTS(c, {x});
  auto x3 = random_leaf({2, 3, 4}, -2, 2, 5);
  CHECK_GRADIENTS(f::softmax(x3, 1), {x3});
  CHECK_GRADIENTS(f::log_softmax(x3, -2), {x3});
  // Large logits: no overflow.
  auto big = leaf({2}, {1000.f, 0.f});
  auto yb = f::log_softmax(big);
  yb->forward();
  CHECK_ALL_NEAR(data_of(yb), std::vector<float>({0.f, -1000.f}), 1e-6);
  CHECK_THROWS_WITH(f::softmax(x, 2), "softmax: axis 2 is out of range for shape (2, 3)");
  CHECK_THROWS_WITH(f::log_softmax(x, -3), "log_softmax: axis -3 is out of range");
}

TEST(softmax_cross_entropy_values_gradient_errors) {
  std::vector<float> xs{1, 2, 3, -1, 0, 4, 0.5f, 0.5f, -2};
  auto x = leaf({3, 3}, xs);
  auto t = leaf({3, 1}, {2, 0, -1}, false);  // -1: no class, loss 0
  auto y = f::softmax_cross_entropy(x, t);
  CHECK(y->shape() == Shape_t({3, 1}));
  y->forward();
  auto lse = [&](int r) {
    double s = 0;
    for (int i = 0; i < 3; ++i) s += std::exp(double(xs[r * 3 + i]));
    return std::log(s);
  };
  CHECK_ALL_NEAR(data_of(y), std::vector<double>({lse(0) - 3, lse(1) + 1, 0}), 1e-6);
  CHECK_GRADIENTS(y, {x});
  // Axis 1 of (2, 3, 2): labels (2, 1, 2).
  auto x3 = random_leaf({2, 3, 2}, -2, 2, 9);
  auto t3 = leaf({2, 1, 2}, {0, 2, 1, 1}, false);
  auto y3 = f::softmax_cross_entropy(x3, t3, 1);
  CHECK(y3->shape() == Shape_t({2, 1, 2}));
  y3->forward();
  auto xv = data_of(x3);
  double s = 0;
  for (int i = 0; i < 3; ++i) s += std::exp(double(xv[i * 2 + 1]));  // batch 0, position 1, label 2
  CHECK_NEAR(data_of(y3)[1], std::log(s) - xv[2 * 2 + 1], 1e-5);
  CHECK_GRADIENTS(y3, {x3});
  CHECK_THROWS_WITH(f::softmax_cross_entropy(x, leaf({3}, {0, 1, 2})),
                    "softmax_cross_entropy: target has shape (3,) but x has shape (3, 3)");
  auto bad = f::softmax_cross_entropy(x, leaf({3, 1}, {0, 3, 1}));
  CHECK_THROWS_WITH(bad->forward(), "target value 3.000000 at position 1 is not a class index");
  auto frac = f::softmax_cross_entropy(x, leaf({3, 1}, {0, 1.5f, 1}));
  CHECK_THROWS_WITH(frac->forward(), "is not a class index");
  // No gradient to the labels.
  auto tg = leaf({3, 1}, {0, 1, 2}, true);
  auto yt = f::softmax_cross_entropy(x, tg);
  yt->forward();
  CHECK_THROWS_WITH(backward_ones(yt), "softmax_cross_entropy has no gradient with respect to input 1");
}

// --- max / min -----------------------------------------------------------------------------------

TEST(max_min_over_axes) {
  // Distinct values at least 0.1 apart: the gradient check's steps never reorder them.
  std::vector<float> xs{0.3f, -1.2f, 2.5f, 0.9f, 1.7f, -0.4f, 3.1f, 0.f, -2.2f, 1.1f, 0.6f, -0.8f};
  auto x = leaf({2, 2, 3}, xs);
  auto all = f::max(x);
  auto a1 = f::max(x, {1});
  auto a02 = f::min(x, {0, 2}, true);
  auto idx = f::max(x, {-1}, false, true);
  CHECK(all->shape() == Shape_t({}));
  CHECK(a1->shape() == Shape_t({2, 3}));
  CHECK(a02->shape() == Shape_t({1, 2, 1}));
  CHECK(idx->shape() == Shape_t({2, 2}));
  for (auto& y : {all, a1, a02, idx}) y->forward();
  CHECK_EQ(scalar_of(all), 3.1f);
  CHECK_ALL_NEAR(data_of(a1), std::vector<float>({0.9f, 1.7f, 2.5f, 3.1f, 0.6f, -0.8f}), 0);
  // axes 0 and 2 reduced: for j = 0 {0.3,-1.2,2.5,3.1,0,-2.2}, j = 1 {0.9,1.7,-0.4,1.1,0.6,-0.8}.
  CHECK_ALL_NEAR(data_of(a02), std::vector<float>({-2.2f, -0.8f}), 0);
  CHECK_ALL_NEAR(data_of(idx), std::vector<float>({2, 1, 0, 0}), 0);
  for (auto& y : {all, a1, a02}) CHECK_GRADIENTS(y, {x});
  // Index over two axes: row-major over (axis 0, axis 2): -2.2 is (1, 2) → 5.
  auto [v, i] = f::min_with_index(x, {2, 0}, false);
  v->forward();
  i->forward();
  CHECK_ALL_NEAR(data_of(v), std::vector<float>({-2.2f, -0.8f}), 0);
  CHECK_ALL_NEAR(data_of(i), std::vector<float>({5, 5}), 0);
  auto [mv, mi] = f::max_with_index(x, {}, true);
  mi->forward();
  CHECK(mi->shape() == Shape_t({1, 1, 1}));
  CHECK_EQ(scalar_of(mi), 6.f);
  // Ties: the first extreme element gets the gradient.
  auto t = leaf({4}, {1, 3, 3, 0});
  auto mt = f::max(t);
  mt->forward();
  backward_ones(mt);
  CHECK_ALL_NEAR(grad_of(t), std::vector<float>({0, 1, 0, 0}), 0);
  CHECK_THROWS_WITH(f::max(x, {3}), "max: axis 3 is out of range for input shape (2, 2, 3)");
  CHECK_THROWS_WITH(f::min(x, {1, -2}), "min: axis -2 is given twice");
  CHECK_THROWS_WITH(f::max(leaf({0, 2}, {}), {0}), "max: cannot reduce over axis 0 of size 0");
  auto xi = leaf({3}, {1, 2, 3}, true);
  auto yi = f::max(xi, {}, false, true);
  yi->forward();
  CHECK_THROWS_WITH(backward_ones(yi), "max has no gradient with respect to input 0");
}

TEST(binary_cross_entropy_values_gradient_errors) {
  std::vector<float> p{0.1f, 0.5f, 0.8f, 0.3f}, t{0.f, 1.f, 0.7f, 1.f};
  auto x = leaf({2, 2}, p);
  auto tg = leaf({2, 2}, t);
  auto y = f::binary_cross_entropy(x, tg);
  y->forward();
  std::vector<double> want;
  for (int i = 0; i < 4; ++i) want.push_back(-(t[i] * std::log(double(p[i])) + (1 - t[i]) * std::log(1 - double(p[i]))));
  CHECK_ALL_NEAR(data_of(y), want, 1e-6);
  GradCheckOptions small_step;
  small_step.h = 2e-3;  // x near 0.1: keep the step well inside (0, 1)
  CHECK_GRADIENTS(y, {x, tg}, small_step);
  // x at 0 or 1: finite.
  auto edge = f::binary_cross_entropy(leaf({2}, {0.f, 1.f}), leaf({2}, {1.f, 0.f}));
  edge->forward();
  for (float v : data_of(edge)) CHECK(std::isfinite(v) && v > 80.f);
  CHECK_THROWS_WITH(f::binary_cross_entropy(x, leaf({4}, t)),
                    "binary_cross_entropy: x has shape (2, 2) but target has shape (4,)");
}

TEST(max_min_indices_beyond_float32_are_refused) {
  // 2^24 + 1 reduced elements: the index 2^24 + 1 - 1 would read back as 2^24.
  auto x = std::make_shared<CgVariable>(Shape_t{2, (int64_t(1) << 24) + 1}, false);
  CHECK_THROWS_WITH(f::max(x, {1}, false, true),
                    "max: the reduced axes of input shape (2, 16777217) hold 16777217 elements; nnvae's indices are "
                    "exact only up to 2^24 = 16777216 (they are held as float32)");
  CHECK_THROWS_WITH(f::min_with_index(x, {1}).second, "min: the reduced axes");
  CHECK(f::max(x, {1})->shape() == Shape_t({2}));  // the values alone are fine
}

NNVAE_TEST_MAIN()
