// Every function of the engine (nnvae/functions.hpp): forward against hand-computed values,
// backward against central finite differences, and accumulation (a second
// backward without zeroing doubles the leaves' gradients; gradcheck.hpp).
#include <algorithm>
#include <cmath>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

// --- affine -------------------------------------------------------------------

// x = [[1,2,3],[4,5,6]], W = [[1,0],[0,1],[1,-1]], b = [0.5,-0.5]:
// X·W = [[4,-1],[10,-1]].
TEST(affine_forward_with_and_without_bias) {
  auto x = leaf({2, 3}, iota(6));
  auto W = leaf({3, 2}, {1, 0, 0, 1, 1, -1});
  auto b = leaf({2}, {0.5f, -0.5f});
  auto y = f::affine(x, W, b, 1);
  CHECK(y->shape() == Shape_t({2, 2}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({4.5f, -1.5f, 10.5f, -1.5f}), 1e-6);
  auto y0 = f::affine(x, W, nullptr, 1);
  y0->forward();
  CHECK_ALL_NEAR(data_of(y0), std::vector<float>({4, -1, 10, -1}), 1e-6);
}

// base_axis 2 keeps two leading axes: x (2,2,3) is four rows of 3 features.
TEST(affine_forward_base_axis_2) {
  auto x = leaf({2, 2, 3}, iota(12));
  auto W = leaf({3, 2}, {1, 0, 0, 1, 1, -1});
  auto b = leaf({2}, {0.5f, -0.5f});
  auto y = f::affine(x, W, b, 2);
  CHECK(y->shape() == Shape_t({2, 2, 2}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({4.5f, -1.5f, 10.5f, -1.5f, 16.5f, -1.5f, 22.5f, -1.5f}), 1e-6);
  // base_axis 1 on the same x flattens (2,3) into 6 features.
  auto W6 = leaf({6, 1}, std::vector<float>(6, 1.f));
  auto y1 = f::affine(x, W6, nullptr, 1);
  CHECK(y1->shape() == Shape_t({2, 1}));
  y1->forward();
  CHECK_ALL_NEAR(data_of(y1), std::vector<float>({21, 57}), 1e-6);
}

// W (3, 2, 2): the output takes W's trailing shape.
TEST(affine_multi_dim_weight_shape) {
  auto x = leaf({2, 3}, iota(6));
  auto W = random_leaf({3, 2, 2}, -1, 1, 3);
  auto b = random_leaf({2, 2}, -1, 1, 4);
  auto y = f::affine(x, W, b, 1);
  CHECK(y->shape() == Shape_t({2, 2, 2}));
  CHECK_GRADIENTS(y, {x, W, b});
}

TEST(affine_gradients) {
  auto x = random_leaf({3, 4}, -1, 1, 1);
  auto W = random_leaf({4, 2}, -1, 1, 2);
  auto b = random_leaf({2}, -1, 1, 3);
  CHECK_GRADIENTS(f::affine(x, W, b, 1), {x, W, b});
  CHECK_GRADIENTS(f::affine(x, W, nullptr, 1), {x, W});
  auto x3 = random_leaf({2, 3, 4}, -1, 1, 4);
  auto W5 = random_leaf({4, 5}, -1, 1, 5);
  auto b5 = random_leaf({5}, -1, 1, 6);
  CHECK_GRADIENTS(f::affine(x3, W5, b5, 2), {x3, W5, b5});
  auto W12 = random_leaf({12, 2}, -1, 1, 7);
  CHECK_GRADIENTS(f::affine(x3, W12, b, 1), {x3, W12, b});
}

// Only W needs a gradient (x is data): W's gradient is still right and x gets none.
TEST(affine_gradient_to_weight_only) {
  auto x = random_leaf({3, 4}, -1, 1, 1, false);
  auto W = random_leaf({4, 2}, -1, 1, 2);
  auto y = f::affine(x, W, nullptr, 1);
  CHECK_GRADIENTS(y, {W});
  CHECK(!x->variable()->grad()->allocated());
}

// --- elementwise activations and maths ---------------------------------------

TEST(elu_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto y = f::elu(x, 1.5);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), map(kMixed, [](double v) { return v >= 0 ? v : 1.5 * (std::exp(v) - 1); }), 1e-6);
  CHECK_GRADIENTS(y, {x});
  CHECK_GRADIENTS(f::elu(x, 1.0), {x});
}

TEST(relu_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto y = f::relu(x, false);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({0, 0, 0, 0.15f, 0.6f, 1.9f}), 0);
  CHECK_GRADIENTS(y, {x});
  // inplace=true computes the same values.
  auto yi = f::relu(x, true);
  yi->forward();
  CHECK_ALL_NEAR(data_of(yi), std::vector<float>({0, 0, 0, 0.15f, 0.6f, 1.9f}), 0);
  CHECK_GRADIENTS(yi, {x});
}

TEST(sigmoid_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto y = f::sigmoid(x);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), map(kMixed, [](double v) { return 1 / (1 + std::exp(-v)); }), 1e-6);
  CHECK_GRADIENTS(y, {x});
}

TEST(tanh_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto y = f::tanh(x);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), map(kMixed, [](double v) { return std::tanh(v); }), 1e-6);
  CHECK_GRADIENTS(y, {x});
}

// softplus(x, β) = log(1 + e^(βx)) / β, also for large |βx| where the naive
// formula overflows.
TEST(softplus_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  for (double beta : {1.0, 2.5}) {
    auto y = f::softplus(x, beta);
    y->forward();
    CHECK_ALL_NEAR(data_of(y), map(kMixed, [&](double v) { return std::log1p(std::exp(beta * v)) / beta; }), 1e-6);
    CHECK_GRADIENTS(y, {x});
  }
  auto big = leaf({3}, {-200.f, 0.f, 200.f});
  auto yb = f::softplus(big, 1.0);
  yb->forward();
  CHECK_ALL_NEAR(data_of(yb), std::vector<double>({0.0, std::log(2.0), 200.0}), 1e-6);
}

TEST(exp_log_identity_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto e = f::exp(x);
  e->forward();
  CHECK_ALL_NEAR(data_of(e), map(kMixed, [](double v) { return std::exp(v); }), 1e-6);
  CHECK_GRADIENTS(e, {x});

  std::vector<float> pos{0.5f, 0.9f, 1.0f, 1.7f, 3.0f, 10.0f};
  auto p = leaf({2, 3}, pos);
  auto l = f::log(p);
  l->forward();
  CHECK_ALL_NEAR(data_of(l), map(pos, [](double v) { return std::log(v); }), 1e-6);
  CHECK_GRADIENTS(l, {p});

  auto id = f::identity(x);
  id->forward();
  CHECK_ALL_NEAR(data_of(id), kMixed, 0);
  CHECK_GRADIENTS(id, {x});
}

// --- two variables ------------------------------------------------------------

TEST(binary_equal_shapes) {
  auto a = leaf({2, 2}, {1, -2, 3, 4});
  auto b = leaf({2, 2}, {0.5f, 4, -1.5f, 2});
  auto add = f::add2(a, b), sub = f::sub2(a, b), mul = f::mul2(a, b), div = f::div2(a, b);
  for (auto& y : {add, sub, mul, div}) y->forward();
  CHECK_ALL_NEAR(data_of(add), std::vector<float>({1.5f, 2, 1.5f, 6}), 0);
  CHECK_ALL_NEAR(data_of(sub), std::vector<float>({0.5f, -6, 4.5f, 2}), 0);
  CHECK_ALL_NEAR(data_of(mul), std::vector<float>({0.5f, -8, -4.5f, 8}), 0);
  CHECK_ALL_NEAR(data_of(div), std::vector<float>({2, -0.5f, -2, 2}), 1e-7);
  for (auto& y : {add, sub, mul, div}) CHECK_GRADIENTS(y, {a, b});
}

// (2,3) with (3,): the row is added to each row.
TEST(binary_broadcast_row) {
  auto a = leaf({2, 3}, iota(6));
  auto b = leaf({3}, {10, 20, 30});
  auto y = f::add2(a, b);
  CHECK(y->shape() == Shape_t({2, 3}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({11, 22, 33, 14, 25, 36}), 0);
  // The broadcast operand on the left.
  auto z = f::sub2(b, a);
  z->forward();
  CHECK_ALL_NEAR(data_of(z), std::vector<float>({9, 18, 27, 6, 15, 24}), 0);
  for (auto& r : {f::add2(a, b), f::sub2(b, a), f::mul2(a, b), f::div2(a, b), f::div2(b, a)})
    CHECK_GRADIENTS(r, {a, b});
}

// (2,1,3) with (4,1) broadcast both ways to (2,4,3): y[i,j,k] = a[i,0,k]·b[j,0].
TEST(binary_broadcast_both_sides) {
  auto a = random_leaf({2, 1, 3}, 0.5f, 2.f, 11);
  auto b = random_leaf({4, 1}, 0.5f, 2.f, 12);
  auto y = f::mul2(a, b);
  CHECK(y->shape() == Shape_t({2, 4, 3}));
  y->forward();
  auto av = data_of(a), bv = data_of(b), yv = data_of(y);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) CHECK_NEAR(yv[(i * 4 + j) * 3 + k], av[i * 3 + k] * bv[j], 1e-6);
  for (auto& r : {f::add2(a, b), f::sub2(a, b), f::mul2(a, b), f::div2(a, b)}) CHECK_GRADIENTS(r, {a, b});
}

// A 0-dim operand broadcasts against anything.
TEST(binary_broadcast_scalar_variable) {
  auto a = leaf({2, 3}, iota(6));
  auto s = leaf({}, {2.f});
  auto y = f::mul2(a, s);
  CHECK(y->shape() == Shape_t({2, 3}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({2, 4, 6, 8, 10, 12}), 0);
  CHECK_GRADIENTS(y, {a, s});
  // ds = Σ a·r: a gradient reduced over every broadcast element.
  CHECK_GRADIENTS(f::div2(s, a), {a, s});
}

// The same variable on both sides: d(x·x)/dx = 2x, d(x/x)/dx = 0.
TEST(binary_same_input_twice) {
  auto x = leaf({3}, {-1.5f, 0.5f, 2.f});
  auto y = f::mul2(x, x);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({2.25f, 0.25f, 4}), 0);
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({-3, 1, 4}), 1e-6);
  CHECK_GRADIENTS(y, {x});
  CHECK_GRADIENTS(f::add2(x, x), {x});
  CHECK_GRADIENTS(f::sub2(x, x), {x});
  CHECK_GRADIENTS(f::div2(x, x), {x});
}

// --- a variable and a scalar --------------------------------------------------

TEST(scalar_functions_forward_and_gradient) {
  std::vector<float> xs{-1.5f, 0.5f, 2.f};
  std::vector<float> pos{0.5f, 1.25f, 2.f};
  auto x = leaf({3}, xs);
  auto p = leaf({3}, pos);
  struct Case {
    CgVariablePtr y, in;
    std::vector<double> want;
  };
  std::vector<Case> cases{
      {f::add_scalar(x, 2.5), x, {1.0, 3.0, 4.5}},
      {f::mul_scalar(x, -2.0), x, {3.0, -1.0, -4.0}},
      {f::pow_scalar(x, 2.0), x, {2.25, 0.25, 4.0}},
      {f::pow_scalar(x, 3.0), x, {-3.375, 0.125, 8.0}},
      {f::pow_scalar(p, 0.5), p, {std::sqrt(0.5), std::sqrt(1.25), std::sqrt(2.0)}},
      {f::pow_scalar(p, -1.0), p, {2.0, 0.8, 0.5}},
      {f::r_sub_scalar(x, 1.0), x, {2.5, 0.5, -1.0}},
      {f::r_div_scalar(p, 3.0), p, {6.0, 2.4, 1.5}},
  };
  for (auto& c : cases) {
    c.y->forward();
    CHECK_ALL_NEAR(data_of(c.y), c.want, 1e-6);
    CHECK_GRADIENTS(c.y, {c.in});
  }
  // The inplace flag does not change values.
  auto a = f::add_scalar(x, 1.0, true), m = f::mul_scalar(x, 3.0, true), q = f::pow_scalar(x, 2.0, true);
  for (auto& y : {a, m, q}) y->forward();
  CHECK_ALL_NEAR(data_of(a), std::vector<float>({-0.5f, 1.5f, 3}), 0);
  CHECK_ALL_NEAR(data_of(m), std::vector<float>({-4.5f, 1.5f, 6}), 0);
  CHECK_ALL_NEAR(data_of(q), std::vector<float>({2.25f, 0.25f, 4}), 0);
}

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

TEST(greater_equal_scalar_forward) {
  auto x = leaf({5}, {0.2f, 0.5f, 0.7f, -1.f, 0.49999f}, false);
  auto y = f::greater_equal_scalar(x, 0.5);
  CHECK(!y->need_grad());
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({0, 1, 1, 0, 0}), 0);
  auto d = f::greater_equal_scalar(x);  // default val = 1
  d->forward();
  CHECK_ALL_NEAR(data_of(d), std::vector<float>({0, 0, 0, 0, 0}), 0);
}

// --- reshape --------------------------------------------------------------------

TEST(reshape_infers_minus_one) {
  auto x = leaf({2, 3, 4}, iota(24, 0));
  auto a = f::reshape(x, {-1, 4}, false);
  CHECK(a->shape() == Shape_t({6, 4}));
  auto b = f::reshape(x, {4, -1}, true);
  CHECK(b->shape() == Shape_t({4, 6}));
  auto c = f::reshape(x, {2, -1, 2, 3}, false);
  CHECK(c->shape() == Shape_t({2, 2, 2, 3}));
  auto d = f::reshape(f::sum(x, {}, false), {1, -1}, false);
  CHECK(d->shape() == Shape_t({1, 1}));
  for (auto& y : {a, b, c}) {
    y->forward();
    CHECK_ALL_NEAR(data_of(y), iota(24, 0), 0);
    CHECK_GRADIENTS(y, {x});
  }
}

// inplace=true shares the input's buffer; inplace=false copies it.
TEST(reshape_inplace_shares_buffer) {
  auto x = leaf({2, 6}, iota(12));
  auto h = f::mul_scalar(x, 2.0);  // an intermediate, so the buffer is the engine's own
  auto shared = f::reshape(h, {3, 4}, true);
  auto copied = f::reshape(h, {3, 4}, false);
  shared->forward();
  copied->forward();
  CHECK(shared->variable()->data()->storage().get() == h->variable()->data()->storage().get());
  CHECK(copied->variable()->data()->storage().get() != h->variable()->data()->storage().get());
  std::vector<float> doubled;
  for (float v : iota(12)) doubled.push_back(2 * v);
  CHECK_ALL_NEAR(data_of(shared), doubled, 0);
  CHECK_ALL_NEAR(data_of(copied), doubled, 0);
  CHECK_GRADIENTS(shared, {x});
  CHECK_GRADIENTS(copied, {x});
  // In place, backward shares the gradient too (as NNabla's inplace reshape
  // does); the copying reshape gives its input a gradient buffer of its own.
  backward_ones(shared);
  CHECK(shared->variable()->grad()->storage().get() == h->variable()->grad()->storage().get());
  CHECK_ALL_NEAR(grad_of(h), std::vector<float>(12, 1.f), 0);
  backward_ones(copied);
  CHECK(copied->variable()->grad()->storage().get() != h->variable()->grad()->storage().get());
}

// --- sources ------------------------------------------------------------------

// N(2, 3²) over 20,000 samples: the mean's standard error is 0.021 and the
// standard deviation's 0.015, so 0.1 is about 5 standard errors.
TEST(randn_statistics) {
  auto e = f::randn(2.f, 3.f, {100, 200}, 42);
  CHECK(e->shape() == Shape_t({100, 200}));
  CHECK(!e->need_grad());
  e->forward();
  auto v = data_of(e);
  double s = 0, s2 = 0;
  for (float x : v) s += x, s2 += double(x) * x;
  double mean = s / v.size(), sd = std::sqrt(s2 / v.size() - mean * mean);
  CHECK_NEAR(mean, 2.0, 0.1);
  CHECK(std::fabs(sd - 3.0) < 0.1);
  // About 68.3% within one sigma.
  int inside = 0;
  for (float x : v) inside += std::fabs(x - 2.0) < 3.0;
  CHECK(std::fabs(inside / 20000.0 - 0.6827) < 0.015);
}

// U[-1, 3): all values in range, mean 1 (standard error 0.008), sd 4/√12.
TEST(rand_statistics) {
  auto u = f::rand(-1.f, 3.f, {20000}, 7);
  u->forward();
  auto v = data_of(u);
  double s = 0, s2 = 0;
  for (float x : v) {
    CHECK(x >= -1.f && x < 3.f);
    s += x, s2 += double(x) * x;
  }
  double mean = s / v.size(), sd = std::sqrt(s2 / v.size() - mean * mean);
  CHECK_NEAR(mean, 1.0, 0.04);
  CHECK(std::fabs(sd - 4.0 / std::sqrt(12.0)) < 0.03);
  CHECK(*std::min_element(v.begin(), v.end()) < -0.99f);
  CHECK(*std::max_element(v.begin(), v.end()) > 2.99f);
}

// A node with its own seed is seeded once: two nodes with seed 706 agree,
// and each forward of one node draws new numbers. Seed −1 draws from the
// global generator, reproducible through set_seed.
TEST(random_seeding) {
  auto a = f::randn(0.f, 1.f, {50}, 706), b = f::randn(0.f, 1.f, {50}, 706), c = f::randn(0.f, 1.f, {50}, 707);
  a->forward(), b->forward(), c->forward();
  CHECK(data_of(a) == data_of(b));
  CHECK(data_of(a) != data_of(c));
  auto first = data_of(a);
  a->forward();
  CHECK(data_of(a) != first);
  auto b2 = f::randn(0.f, 1.f, {50}, 706);
  b2->forward();
  CHECK(data_of(b2) == first);

  auto r = f::rand(0.f, 1.f, {30}, 5), r2 = f::rand(0.f, 1.f, {30}, 5);
  r->forward(), r2->forward();
  CHECK(data_of(r) == data_of(r2));

  set_seed(123);
  auto g1 = f::randn(0.f, 1.f, {40}, -1);
  g1->forward();
  auto g1v = data_of(g1);
  g1->forward();
  CHECK(data_of(g1) != g1v);
  set_seed(123);
  g1->forward();
  CHECK(data_of(g1) == g1v);
  set_seed(123);
  auto u1 = f::rand(0.f, 1.f, {40}, -1);
  u1->forward();
  auto u1v = data_of(u1);
  set_seed(123);
  u1->forward();
  CHECK(data_of(u1) == u1v);
}

TEST(constant_fills) {
  auto c = f::constant(2.5f, {2, 3});
  CHECK(c->shape() == Shape_t({2, 3}));
  CHECK(!c->need_grad());
  c->forward();
  CHECK_ALL_NEAR(data_of(c), std::vector<float>(6, 2.5f), 0);
  auto s = f::constant(-1.f, {});
  s->forward();
  CHECK(s->shape().empty());
  CHECK_NEAR(scalar_of(s), -1.0, 0);
  // Used with a variable that needs a gradient: the constant just passes values.
  auto x = leaf({2, 3}, iota(6));
  auto y = f::mul2(x, c);
  CHECK_GRADIENTS(y, {x});
  backward_ones(y);
  CHECK(!c->variable()->grad()->allocated() || grad_of(c) == std::vector<float>(6, 0.f));
}

// Inputs large enough for the multi-threaded loops (over 32,768 elements),
// against double references.
TEST(large_inputs_use_threaded_paths) {
  auto a = random_leaf({200, 250}, -1, 1, 51);
  auto b = random_leaf({200, 250}, -1, 1, 52);
  auto av = data_of(a), bv = data_of(b);
  auto e = f::exp(a);
  auto p = f::mul2(a, b);
  auto s0 = f::sum(p, {0}, false);
  auto s1 = f::mean(p, {1}, false);
  auto sce = f::sigmoid_cross_entropy(a, f::greater_equal_scalar(b, 0.0));
  for (auto& y : {e, s0, s1, sce}) y->forward();
  auto ev = data_of(e), s0v = data_of(s0), s1v = data_of(s1), sv = data_of(sce);
  for (int i = 0; i < 200; ++i) {
    double row = 0;
    for (int j = 0; j < 250; ++j) {
      int k = i * 250 + j;
      row += double(av[k]) * bv[k];
      CHECK_NEAR(ev[k], std::exp(double(av[k])), 1e-6);
      double t = bv[k] >= 0 ? 1 : 0;
      CHECK_NEAR(sv[k], std::max(double(av[k]), 0.0) - av[k] * t + std::log1p(std::exp(-std::fabs(av[k]))), 1e-6);
    }
    CHECK_NEAR(s1v[i], row / 250, 1e-5);
  }
  for (int j = 0; j < 250; ++j) {
    double col = 0;
    for (int i = 0; i < 200; ++i) col += double(av[i * 250 + j]) * bv[i * 250 + j];
    CHECK_NEAR(s0v[j], col, 1e-4);
  }
  // d Σ(a·b) / da = b, twice after two passes; d Σ exp(a) / da = exp(a).
  auto total = f::sum(p, {}, false) + f::sum(e, {}, false);
  total->forward();
  backward_ones(total);
  backward_ones(total);
  auto ga = grad_of(a), gb = grad_of(b);
  for (int k = 0; k < 50000; ++k) {
    CHECK_NEAR(ga[k], 2 * (double(bv[k]) + std::exp(double(av[k]))), 1e-5);
    CHECK_NEAR(gb[k], 2.0 * av[k], 1e-6);
  }
}

// The checker itself: a function whose backward is off by 10% fails it,
// and one that forgets to accumulate fails the doubling check.
namespace {
class Square : public Function {
 public:
  Square(float grad_scale, bool honour_accumulate) : scale_(grad_scale), acc_(honour_accumulate) {}
  std::string name() const override { return "square_for_test"; }
  Shape_t setup(const std::vector<Shape_t>& in) override { return in[0]; }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* x = in[0]->data()->read("x");
    float* y = out->data()->write();
    for (int64_t i = 0; i < out->size(); ++i) y[i] = x[i] * x[i];
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>&,
                const std::vector<bool>& acc) override {
    const float* x = in[0]->data()->read("x");
    const float* dy = out->grad()->read("dy");
    bool a = acc_ && acc[0];
    float* dx = in[0]->grad()->write_accumulate(a);
    for (int64_t i = 0; i < out->size(); ++i) dx[i] = (a ? dx[i] : 0.f) + scale_ * 2 * x[i] * dy[i];
  }

 private:
  float scale_;
  bool acc_;
};
}  // namespace

TEST(gradcheck_catches_wrong_backward) {
  auto x = leaf({4}, {-1.f, 0.5f, 1.f, 2.f});
  CHECK(gradcheck(connect(std::make_unique<Square>(1.f, true), {x}), {x}).empty());
  CHECK(gradcheck(connect(std::make_unique<Square>(1.1f, true), {x}), {x}).find("finite difference") !=
        std::string::npos);
  CHECK(gradcheck(connect(std::make_unique<Square>(1.f, false), {x}), {x}).find("second backward") !=
        std::string::npos);
}

NNVAE_TEST_MAIN()
