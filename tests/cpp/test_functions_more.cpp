// The second set of functions (functions_more.hpp): forward against
// hand-computed values, backward against central finite differences with
// accumulation (gradcheck.hpp), and the shape errors, naming the shapes.
#include <algorithm>
#include <cmath>
#include <functional>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

// --- elementwise, one input ------------------------------------------------------

TEST(leaky_relu_abs_sqrt) {
  auto x = leaf({2, 3}, kMixed);
  auto lr = f::leaky_relu(x, 0.2);
  auto ab = f::abs(x);
  auto lr_default = f::leaky_relu(x);
  for (auto& y : {lr, ab, lr_default}) y->forward();
  CHECK_ALL_NEAR(data_of(lr), map(kMixed, [](double v) { return v > 0 ? v : 0.2 * v; }), 1e-6);
  CHECK_ALL_NEAR(data_of(lr_default), map(kMixed, [](double v) { return v > 0 ? v : 0.1 * v; }), 1e-6);
  CHECK_ALL_NEAR(data_of(ab), map(kMixed, [](double v) { return std::fabs(v); }), 0);
  for (auto& y : {lr, ab, lr_default}) CHECK_GRADIENTS(y, {x});

  std::vector<float> pos{0.25f, 0.5f, 1.f, 2.f, 4.f, 9.f};
  auto p = leaf({6}, pos);
  auto s = f::sqrt(p);
  s->forward();
  CHECK_ALL_NEAR(data_of(s), std::vector<float>({0.5f, std::sqrt(0.5f), 1, std::sqrt(2.f), 2, 3}), 1e-6);
  CHECK_GRADIENTS(s, {p});
}

// abs at exactly 0 passes the gradient unchanged (sign taken as +1).
TEST(abs_gradient_at_zero) {
  auto x = leaf({3}, {-1.f, 0.f, 1.f});
  auto y = f::abs(x);
  y->forward();
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({-1, 1, 1}), 0);
}

TEST(maximum_minimum_scalar_and_clip_by_value) {
  auto x = leaf({2, 3}, kMixed);
  auto mx = f::maximum_scalar(x, 0.3);
  auto mn = f::minimum_scalar(x, -0.4);
  auto cl = f::clip_by_value(x, -0.5, 1.0);
  for (auto& y : {mx, mn, cl}) y->forward();
  CHECK_ALL_NEAR(data_of(mx), std::vector<float>({0.3f, 0.3f, 0.3f, 0.3f, 0.6f, 1.9f}), 0);
  CHECK_ALL_NEAR(data_of(mn), std::vector<float>({-2.f, -0.7f, -0.4f, -0.4f, -0.4f, -0.4f}), 0);
  CHECK_ALL_NEAR(data_of(cl), std::vector<float>({-0.5f, -0.5f, -0.1f, 0.15f, 0.6f, 1.f}), 0);
  for (auto& y : {mx, mn, cl}) CHECK_GRADIENTS(y, {x});
  x->variable()->grad()->zero();
  backward_ones(cl);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({0, 0, 1, 1, 1, 0}), 0);

  // Bounds as variables: minimum2(maximum2(x, lo), hi), gradients to all three.
  auto lo = leaf({2, 3}, {-1.f, -1.f, 0.2f, -1.f, -1.f, -1.f});
  auto hi = leaf({2, 3}, {1.f, 1.f, 1.f, 1.f, 0.3f, 1.f});
  auto cv = f::clip_by_value(x, lo, hi);
  cv->forward();
  CHECK_ALL_NEAR(data_of(cv), std::vector<float>({-1.f, -0.7f, 0.2f, 0.15f, 0.3f, 1.f}), 0);
  CHECK_GRADIENTS(cv, {x, lo, hi});
  CHECK_THROWS_WITH(f::clip_by_value(x, leaf({3}, {0, 0, 0}), hi), "clip_by_value: min (shape (3,))");
}

// --- elementwise, two inputs ------------------------------------------------------------

TEST(pow2_forward_and_gradient) {
  auto a = leaf({2, 2}, {0.5f, 1.5f, 2.f, 3.f});
  auto b = leaf({2, 2}, {2.f, -1.f, 0.5f, 1.5f});
  auto y = f::pow2(a, b);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<double>({0.25, 1 / 1.5, std::sqrt(2.0), std::pow(3.0, 1.5)}), 1e-6);
  CHECK_GRADIENTS(y, {a, b});
  // Broadcast: (2,2) ^ (2,) and (2,1) ^ (2,2).
  auto e = leaf({2}, {2.f, 0.5f});
  auto yb = f::pow2(a, e);
  yb->forward();
  CHECK_ALL_NEAR(data_of(yb), std::vector<double>({0.25, std::sqrt(1.5), 4, std::sqrt(3.0)}), 1e-6);
  CHECK_GRADIENTS(yb, {a, e});
  auto c = leaf({2, 1}, {1.5f, 2.5f});
  CHECK_GRADIENTS(f::pow2(c, b), {c, b});
}

TEST(maximum2_minimum2) {
  auto a = leaf({2, 3}, {1, -2, 3, 0.5f, 7, -1});
  auto b = leaf({2, 3}, {0, 4, 3, 0.25f, -7, 2});
  auto mx = f::maximum2(a, b), mn = f::minimum2(a, b);
  mx->forward();
  mn->forward();
  CHECK_ALL_NEAR(data_of(mx), std::vector<float>({1, 4, 3, 0.5f, 7, 2}), 0);
  CHECK_ALL_NEAR(data_of(mn), std::vector<float>({0, -2, 3, 0.25f, -7, -1}), 0);
  // Ties (element 2) send the gradient to x1.
  backward_ones(mx);
  CHECK_ALL_NEAR(grad_of(a), std::vector<float>({1, 0, 0, 1, 1, 0}), 0);
  CHECK_ALL_NEAR(grad_of(b), std::vector<float>({0, 1, 1, 0, 0, 1}), 0);
  // Away from ties: finite differences, and broadcasting a row against the matrix.
  auto c = leaf({2, 3}, {1, -2, 3.5f, 0.5f, 7, -1});
  auto row = leaf({3}, {0.f, 0.2f, 3.f});
  CHECK_GRADIENTS(f::maximum2(c, row), {c, row});
  CHECK_GRADIENTS(f::minimum2(row, c), {row, c});
  CHECK_GRADIENTS(f::maximum2(c, b), {c, b});
  CHECK_GRADIENTS(f::minimum2(c, b), {c, b});
  CHECK(f::maximum2(c, row)->shape() == Shape_t({2, 3}));
  CHECK_THROWS_WITH(f::maximum2(c, leaf({2}, {1, 2})), "maximum2: shapes (2, 3) and (2,) cannot be broadcast");
}

// --- shapes -------------------------------------------------------------------------------

TEST(concatenate_forward_gradient_errors) {
  auto a = leaf({2, 2}, {1, 2, 3, 4});
  auto b = leaf({2, 3}, {5, 6, 7, 8, 9, 10});
  auto y = f::concatenate({a, b}, 1);
  CHECK(y->shape() == Shape_t({2, 5}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({1, 2, 5, 6, 7, 3, 4, 8, 9, 10}), 0);
  CHECK_GRADIENTS(y, {a, b});
  // Default axis: the last. Axis 0 and -2 stack rows.
  auto d = f::concatenate({a, b});
  CHECK(d->shape() == Shape_t({2, 5}));
  auto c = leaf({1, 2}, {-1, -2});
  auto r = f::concatenate({a, c, a}, -2);
  CHECK(r->shape() == Shape_t({5, 2}));
  r->forward();
  CHECK_ALL_NEAR(data_of(r), std::vector<float>({1, 2, 3, 4, -1, -2, 1, 2, 3, 4}), 0);
  CHECK_GRADIENTS(r, {a, c});  // a twice: its gradient is the sum of both parts
  CHECK_THROWS_WITH(f::concatenate({a, b}, 0), "concatenate: input 1 has shape (2, 3) but input 0 has shape (2, 2)");
  CHECK_THROWS_WITH(f::concatenate({a, b}, 2), "concatenate: axis 2 is out of range for shape (2, 2)");
  CHECK_THROWS_WITH(f::concatenate({}, 0), "concatenate: no inputs");
}

TEST(stack_and_split) {
  auto a = leaf({2, 3}, iota(6));
  auto b = leaf({2, 3}, iota(6, 10));
  auto s0 = f::stack({a, b});
  auto s1 = f::stack({a, b}, 1);
  auto s2 = f::stack({a, b}, -1);
  CHECK(s0->shape() == Shape_t({2, 2, 3}));
  CHECK(s1->shape() == Shape_t({2, 2, 3}));
  CHECK(s2->shape() == Shape_t({2, 3, 2}));
  for (auto& y : {s0, s1, s2}) y->forward();
  CHECK_ALL_NEAR(data_of(s0), std::vector<float>({1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15}), 0);
  CHECK_ALL_NEAR(data_of(s1), std::vector<float>({1, 2, 3, 10, 11, 12, 4, 5, 6, 13, 14, 15}), 0);
  CHECK_ALL_NEAR(data_of(s2), std::vector<float>({1, 10, 2, 11, 3, 12, 4, 13, 5, 14, 6, 15}), 0);
  for (auto& y : {s0, s1, s2}) CHECK_GRADIENTS(y, {a, b});
  CHECK_THROWS_WITH(f::stack({a, leaf({3, 2}, iota(6))}), "stack: input 1 has shape (3, 2) but input 0 has shape (2, 3)");
  CHECK_THROWS_WITH(f::stack({a, b}, 3), "stack: axis 3 is out of range");

  auto parts = f::split(a, 1);
  CHECK_EQ(parts.size(), size_t(3));
  for (int i = 0; i < 3; ++i) {
    CHECK(parts[i]->shape() == Shape_t({2}));
    parts[i]->forward();
    CHECK_ALL_NEAR(data_of(parts[i]), std::vector<float>({float(1 + i), float(4 + i)}), 0);
    CHECK_GRADIENTS(parts[i], {a});
  }
  auto rows = f::split(a);
  CHECK_EQ(rows.size(), size_t(2));
  // Two parts of one input both back-propagate into it.
  auto both = f::add2(rows[0], f::mul_scalar(rows[1], 2.0));
  CHECK_GRADIENTS(both, {a});
  CHECK_THROWS_WITH(f::split(a, -3), "split: axis -3 is out of range for shape (2, 3)");
}

TEST(slice_forward_gradient_errors) {
  auto x = leaf({3, 4}, iota(12));  // [[1..4],[5..8],[9..12]]
  auto y = f::slice(x, {0, 1}, {3, 4}, {2, 2});
  CHECK(y->shape() == Shape_t({2, 2}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({2, 4, 10, 12}), 0);
  CHECK_GRADIENTS(y, {x});
  // Negative start/stop, negative step (x[::-1, -1:-4:-1]), and stop -(n+1).
  auto r = f::slice(x, {-1, -1}, {-4, -4}, {-1, -1});
  CHECK(r->shape() == Shape_t({3, 3}));
  r->forward();
  CHECK_ALL_NEAR(data_of(r), std::vector<float>({12, 11, 10, 8, 7, 6, 4, 3, 2}), 0);
  CHECK_GRADIENTS(r, {x});
  // Fewer entries than axes: they apply to the last axes. Empty: everything.
  auto last = f::slice(x, {1}, {3}, {1});
  CHECK(last->shape() == Shape_t({3, 2}));
  last->forward();
  CHECK_ALL_NEAR(data_of(last), std::vector<float>({2, 3, 6, 7, 10, 11}), 0);
  auto all = f::slice(x);
  all->forward();
  CHECK_ALL_NEAR(data_of(all), iota(12), 0);
  // Empty ranges give size 0; stops beyond the end are clamped.
  CHECK(f::slice(x, {2, 0}, {1, 4}, {1, 1})->shape() == Shape_t({0, 4}));
  CHECK(f::slice(x, {0, 2}, {3, 100}, {1, 1})->shape() == Shape_t({3, 2}));
  CHECK_THROWS_WITH(f::slice(x, {0, 0}, {3, 4}, {1, 0}), "slice: step (1, 0) has a 0 (axis 1)");
  CHECK_THROWS_WITH(f::slice(x, {0, 0, 0}, {1, 1, 1}, {1, 1, 1}), "slice: start (0, 0, 0) has 3 entries but x has shape (3, 4)");
  CHECK_THROWS_WITH(f::slice(x, {0}, {1, 1}, {1}), "must have the same length");
}

TEST(transpose_forward_gradient_errors) {
  auto x = leaf({2, 3, 4}, iota(24, 0));
  auto y = f::transpose(x, {2, 0, 1});
  CHECK(y->shape() == Shape_t({4, 2, 3}));
  y->forward();
  auto v = data_of(y);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) CHECK_EQ(v[(i * 2 + j) * 3 + k], float(j * 12 + k * 4 + i));
  CHECK_GRADIENTS(y, {x});
  CHECK_GRADIENTS(f::transpose(x, {1, -1, 0}), {x});
  CHECK_THROWS_WITH(f::transpose(x, {0, 1}), "transpose: axes (0, 1) has 2 entries but x has shape (2, 3, 4)");
  CHECK_THROWS_WITH(f::transpose(x, {0, 1, 1}), "transpose: axes (0, 1, 1) is not a permutation");
}

TEST(broadcast_forward_gradient_errors) {
  auto x = leaf({2, 1}, {1, 2});
  auto y = f::broadcast(x, {3, 2, 4});
  CHECK(y->shape() == Shape_t({3, 2, 4}));
  y->forward();
  auto v = data_of(y);
  for (int i = 0; i < 24; ++i) CHECK_EQ(v[i], float((i / 4) % 2 + 1));
  CHECK_GRADIENTS(y, {x});
  backward_ones(y);
  x->variable()->grad()->zero();
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({12, 12}), 0);
  auto s = leaf({}, {3.f});
  CHECK_GRADIENTS(f::broadcast(s, {2, 2}), {s});
  CHECK_THROWS_WITH(f::broadcast(x, {3, 4}), "broadcast: x of shape (2, 1) cannot be broadcast to (3, 4) (axis 0: 2 vs 3");
  CHECK_THROWS_WITH(f::broadcast(x, {4}), "more axes than the target shape (4,)");
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

// --- dropout and one_hot ---------------------------------------------------------------------

TEST(dropout_mask_scale_and_gradient) {
  auto x = random_leaf({50, 40}, 0.5f, 1.5f, 3);
  auto y = f::dropout(x, 0.25, 7);
  y->forward();
  auto xv = data_of(x), yv = data_of(y);
  int kept = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    if (yv[i] != 0.f) {
      ++kept;
      CHECK_NEAR(yv[i], xv[i] / 0.75, 1e-6);
    }
  }
  // 2000 draws kept with probability 0.75: 1500 ± 4 sd (sd 19.4).
  CHECK(std::abs(kept - 1500) < 78);
  // dx = dy·mask with the forward's mask, accumulated on a second backward.
  x->variable()->grad()->zero();
  backward_ones(y);
  auto g = grad_of(x);
  for (size_t i = 0; i < xv.size(); ++i) CHECK_NEAR(g[i], yv[i] != 0.f ? 1 / 0.75 : 0.0, 1e-6);
  backward_ones(y);
  auto g2 = grad_of(x);
  for (size_t i = 0; i < g.size(); ++i) CHECK_EQ(g2[i], 2 * g[i]);
  // The same seed gives the same mask; p = 0 is the identity (finite differences).
  auto y2 = f::dropout(x, 0.25, 7);
  y2->forward();
  CHECK_ALL_NEAR(data_of(y2), yv, 0);
  auto small = random_leaf({3, 2}, -1, 1, 4);
  auto id = f::dropout(small, 0.0, 1);
  id->forward();
  CHECK_ALL_NEAR(data_of(id), data_of(small), 0);
  CHECK_GRADIENTS(id, {small});
  CHECK_THROWS_WITH(f::dropout(x, 1.0), "dropout: p must be in [0, 1), got 1.0");
  CHECK_THROWS_WITH(f::dropout(x, -0.1), "dropout: p must be in [0, 1)");
}

TEST(one_hot_values_and_errors) {
  auto labels = leaf({5, 1}, {9, 4, 5, -9, 10}, false);
  auto y = f::one_hot(labels, {10});
  CHECK(y->shape() == Shape_t({5, 10}));
  y->forward();
  auto v = data_of(y);
  std::vector<int> hot{9, 4, 5, 1, -1};  // -9 counts from the end; 10 is out of range: zeros
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 10; ++c) CHECK_EQ(v[r * 10 + c], c == hot[r] ? 1.f : 0.f);
  auto pairs = leaf({2, 2}, {1, 7, 4, 0}, false);
  auto y2 = f::one_hot(pairs, {5, 8});
  CHECK(y2->shape() == Shape_t({2, 5, 8}));
  y2->forward();
  auto v2 = data_of(y2);
  CHECK_EQ(std::count(v2.begin(), v2.end(), 1.f), 2);
  CHECK_EQ(v2[1 * 8 + 7], 1.f);
  CHECK_EQ(v2[40 + 4 * 8 + 0], 1.f);
  CHECK_THROWS_WITH(f::one_hot(labels, {10, 3}),
                    "one_hot: x has shape (5, 1) but shape (10, 3) has 2 axes");
  auto frac = f::one_hot(leaf({1, 1}, {0.5f}), {3});
  CHECK_THROWS_WITH(frac->forward(), "one_hot: x value 0.500000 at position 0 is not an integer index");
  auto needs = leaf({1, 1}, {1.f}, true);
  auto yn = f::one_hot(needs, {3});
  yn->forward();
  CHECK_THROWS_WITH(backward_ones(yn), "one_hot has no gradient with respect to input 0");
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

// --- batch_matmul --------------------------------------------------------------------------------

TEST(batch_matmul_values_gradients_errors) {
  // Two batches of (2,3)·(3,2).
  auto a = leaf({2, 2, 3}, iota(12));
  auto b = leaf({2, 3, 2}, {1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 1, -1});
  auto y = f::batch_matmul(a, b);
  CHECK(y->shape() == Shape_t({2, 2, 2}));
  y->forward();
  // batch 0: [[1,2,3],[4,5,6]]·[[1,0],[0,1],[1,1]] = [[4,5],[10,11]];
  // batch 1: [[7,8,9],[10,11,12]]·[[2,0],[0,2],[1,-1]] = [[23,7],[32,10]].
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({4, 5, 10, 11, 23, 7, 32, 10}), 0);
  CHECK_GRADIENTS(y, {a, b});
  // Every transpose combination against the plain product of explicit transposes.
  auto at = random_leaf({2, 3, 2}, -1, 1, 21);  // stored (3, 2): op = (2, 3)
  auto bt = random_leaf({2, 2, 3}, -1, 1, 22);  // stored (2, 3): op = (3, 2)
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      auto A = ta ? at : a, B = tb ? bt : b;
      auto yt = f::batch_matmul(A, B, ta, tb);
      auto ref = f::batch_matmul(ta ? f::transpose(at, {0, 2, 1}) : a, tb ? f::transpose(bt, {0, 2, 1}) : b);
      CHECK(yt->shape() == Shape_t({2, 2, 2}));
      yt->forward();
      ref->forward();
      CHECK_ALL_NEAR(data_of(yt), data_of(ref), 1e-6);
      CHECK_GRADIENTS(yt, {A, B});
    }
  // Broadcast batch axes: (2,1,2,3) with (1,3,3,4) → (2,3,2,4).
  auto p = random_leaf({2, 1, 2, 3}, -1, 1, 23);
  auto q = random_leaf({1, 3, 3, 4}, -1, 1, 24);
  auto pq = f::batch_matmul(p, q);
  CHECK(pq->shape() == Shape_t({2, 3, 2, 4}));
  pq->forward();
  auto pv = data_of(p), qv = data_of(q), yv = data_of(pq);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 4; ++c) {
          double s = 0;
          for (int k = 0; k < 3; ++k) s += double(pv[(i * 2 + r) * 3 + k]) * qv[(j * 3 + k) * 4 + c];
          CHECK_NEAR(yv[((i * 3 + j) * 2 + r) * 4 + c], s, 1e-5);
        }
  CHECK_GRADIENTS(pq, {p, q});
  CHECK_THROWS_WITH(f::batch_matmul(a, a), "batch_matmul: the inner sizes differ: op(a) has 3 columns, op(b) has 2 rows");
  CHECK_THROWS_WITH(f::batch_matmul(leaf({2, 3}, iota(6)), leaf({3, 2}, iota(6))), "batch_matmul: inputs need >= 3 axes");
  CHECK_THROWS_WITH(f::batch_matmul(a, leaf({1, 2, 3, 2}, iota(12))), "a and b need the same number of axes");
  CHECK_THROWS_WITH(f::batch_matmul(a, leaf({3, 3, 2}, iota(18))), "batch_matmul (batch axes of a (2, 2, 3), b (3, 3, 2)): shapes (2,) and (3,) cannot be broadcast");
}

// --- what backward reads ---------------------------------------------------------------------------

// Each function behind an intermediate variable: forward(clear_no_need_grad)
// frees the intermediate inputs backward says it does not read, and the
// gradients still equal those of a plain forward and backward.
TEST(clear_no_need_grad_keeps_what_backward_reads) {
  using Build = std::function<CgVariablePtr(CgVariablePtr)>;
  const std::vector<std::pair<const char*, Build>> cases = {
      {"leaky_relu", [](CgVariablePtr h) { return f::leaky_relu(h, 0.2); }},
      {"sqrt", [](CgVariablePtr h) { return f::sqrt(f::add_scalar(h, 3.0)); }},
      {"clip_by_value", [](CgVariablePtr h) { return f::clip_by_value(h, -0.5, 0.5); }},
      {"pow2", [](CgVariablePtr h) { return f::pow2(f::add_scalar(h, 3.0), h); }},
      {"maximum2", [](CgVariablePtr h) { return f::maximum2(h, f::mul_scalar(h, -1.0)); }},
      {"concatenate", [](CgVariablePtr h) { return f::concatenate({h, f::mul_scalar(h, 2.0)}, 0); }},
      {"stack", [](CgVariablePtr h) { return f::stack({h, h}, 1); }},
      {"split", [](CgVariablePtr h) { return f::split(h, 1)[1]; }},
      {"slice", [](CgVariablePtr h) { return f::slice(h, {0, 3}, {2, 0}, {1, -1}); }},
      {"transpose", [](CgVariablePtr h) { return f::transpose(h, {1, 0}); }},
      {"broadcast", [](CgVariablePtr h) { return f::broadcast(h, {2, 2, 4}); }},
      {"softmax", [](CgVariablePtr h) { return f::softmax(h); }},
      {"log_softmax", [](CgVariablePtr h) { return f::log_softmax(h, 0); }},
      {"softmax_cross_entropy", [](CgVariablePtr h) { return f::softmax_cross_entropy(h, leaf({2, 1}, {3, 0}, false)); }},
      {"binary_cross_entropy",
       [](CgVariablePtr h) { return f::binary_cross_entropy(f::sigmoid(h), f::sigmoid(f::mul_scalar(h, 0.5))); }},
      {"dropout", [](CgVariablePtr h) { return f::dropout(h, 0.0, 3); }},
      {"max", [](CgVariablePtr h) { return f::max(h, {1}, true); }},
      {"batch_matmul",
       [](CgVariablePtr h) { return f::batch_matmul(f::reshape(h, {1, 2, 4}, false), f::reshape(h, {1, 4, 2}, false)); }},
  };
  for (auto& [name, build] : cases) {
    std::vector<std::vector<float>> grads;
    for (bool clear : {false, true}) {
      auto x = leaf({2, 4}, {-1.3f, 0.2f, 0.7f, -0.4f, 1.1f, -0.9f, 0.35f, 0.05f});
      auto y = f::sum(build(f::mul_scalar(x, 1.5)));
      y->forward(false, clear);
      backward_ones(y);
      grads.push_back(grad_of(x));
    }
    if (grads[0] != grads[1]) FAIL_AT(name << ": the gradient after forward(clear_no_need_grad) differs");
  }
}

NNVAE_TEST_MAIN()
