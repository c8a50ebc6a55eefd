// The engine's functions: the shape functions, the products over batches, dropout, one_hot and the sources. Forward against hand-computed values,
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
