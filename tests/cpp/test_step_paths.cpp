// The training step's fast paths: lazily zeroed arrays and the first writer
// of a gradient, the cached execution plan and what invalidates it, the
// batched normal numbers, and the matrix product cut across 1-4 threads.
#include <cmath>
#include <nnvae/nnvae.hpp>
#include <nnvae/kernels/matmul.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

TEST(zero_is_lazy_but_reads_as_zeros) {
  NdArray a({5});
  CHECK(a.reads_as_zero());  // never written
  float* p = a.write();
  for (int i = 0; i < 5; ++i) p[i] = float(i + 1);
  CHECK(!a.reads_as_zero());
  const uint64_t before = a.version();
  a.zero();
  CHECK(a.reads_as_zero());
  CHECK(a.version() > before);  // the solver sees zero_grad as a write
  const float* r = a.read("a");
  for (int i = 0; i < 5; ++i) CHECK_EQ(r[i], 0.0f);
  CHECK(!a.reads_as_zero());
  // Overwriting everything skips the zeros; accumulating starts from them.
  a.write()[0] = 7;
  a.zero();
  float* acc = a.write_accumulate(true);
  CHECK_EQ(acc[0], 0.0f);
  CHECK_EQ(acc[4], 0.0f);
}

TEST(zero_of_a_shared_buffer_is_seen_at_once) {
  NdArray a({3});
  float* p = a.write();
  p[0] = p[1] = p[2] = 4.0f;
  Storage view = a.storage();  // as a numpy view holds it
  a.zero();
  CHECK(!a.reads_as_zero());
  CHECK_EQ(view.get()[0], 0.0f);
  CHECK_EQ(view.get()[2], 0.0f);
  // And a byte view of a lazily zeroed array holds zeros.
  NdArray b({2});
  b.write()[0] = 9.0f;
  b.write()[1] = 3.0f;
  b.zero();
  uint8_t* bytes = b.cast<uint8_t>(cpu());
  CHECK_EQ(int(bytes[0]), 0);
  CHECK_EQ(int(bytes[1]), 0);
}

// y = sum(x·x + 3x): dy/dx = 2x + 3, reached by two functions.
TEST(zeroed_leaf_gradient_is_written_by_its_first_writer) {
  auto x = leaf({4}, {1, -2, 0.5f, 3});
  auto y = f::sum(x * x + x * 3.0);
  y->forward();
  float* g = x->variable()->grad()->write();
  for (int i = 0; i < 4; ++i) g[i] = 100.0f;  // stale gradient
  x->variable()->grad()->zero();              // what zero_grad does
  backward_ones(y);
  const std::vector<float> expect{5, -1, 4, 9};
  auto got = grad_of(x);
  for (int i = 0; i < 4; ++i) CHECK_NEAR(got[i], expect[i], 1e-6);
  // Without zero_grad, leaves accumulate across backward calls.
  backward_ones(y);
  got = grad_of(x);
  for (int i = 0; i < 4; ++i) CHECK_NEAR(got[i], 2 * expect[i], 1e-6);
}

TEST(solver_step_without_a_stale_gradient) {
  // zero_grad, then an update from exactly this backward's gradient.
  auto w = leaf({2}, {1, 2});
  auto y = f::sum(w * w);
  auto solver = create_SgdSolver(cpu(), 0.5f);
  solver->set_parameters({{"w", w->variable()}});
  for (int step = 0; step < 2; ++step) {
    solver->zero_grad();
    y->forward();
    backward_ones(y);
    solver->update();
  }
  // w -> w − 0.5·2w = 0 after the first step, stays 0.
  auto d = data_of(w);
  CHECK_EQ(d[0], 0.0f);
  CHECK_EQ(d[1], 0.0f);
}

TEST(plan_follows_need_grad_and_rewiring) {
  auto a = leaf({2}, {1, 2});
  auto b = leaf({2}, {3, 4}, false);
  auto y = f::sum(a * b);
  y->forward();
  backward_ones(y);
  CHECK_NEAR(grad_of(a)[1], 4, 0);
  CHECK(b->variable()->grad()->reads_as_zero());  // no gradient asked for
  b->set_need_grad(true);                         // the cached plan must notice
  a->variable()->grad()->zero();
  backward_ones(y);
  CHECK_NEAR(grad_of(b)[0], 1, 0);
  CHECK_NEAR(grad_of(a)[0], 3, 0);
  // A new parent for b: y now reads 2·c through b.
  auto c = leaf({2}, {5, 6});
  auto twice = c * 2.0;
  b->set_parent(twice->parent());
  y->forward();
  CHECK_NEAR(scalar_of(y), 1 * 10 + 2 * 12, 1e-6);
  c->variable()->grad()->zero();
  backward_ones(y);
  CHECK_NEAR(grad_of(c)[1], 2 * 2, 1e-6);
}

TEST(batched_normals_agree_with_one_at_a_time) {
  for (int64_t n : {1, 2, 7, 600, 1001}) {
    Generator one(11), many(11);
    std::vector<float> y(static_cast<size_t>(n));
    // An odd count leaves a spare value: the next call starts with it.
    many.normals(y.data(), n, 0.5f, 2.0f);
    for (int64_t i = 0; i < n; ++i) CHECK_NEAR(y[i], 0.5f + 2.0f * one.normal(), 4e-6);
    std::vector<float> z(3);
    many.normals(z.data(), 3, 0.0f, 1.0f);
    for (int i = 0; i < 3; ++i) CHECK_NEAR(z[i], one.normal(), 2e-6);
  }
  // Tails of the distribution (u1 near 0 and near 1) over many draws.
  Generator one(3), many(3);
  std::vector<float> y(200000);
  many.normals(y.data(), int64_t(y.size()), 0.0f, 1.0f);
  double worst = 0;
  for (float v : y) worst = std::max(worst, std::fabs(double(v) - one.normal()) / std::fmax(1.0, std::fabs(v)));
  CHECK(worst < 2e-6);
}

namespace {
// C = op(A)·op(B) in double, the reference for the engine's product.
std::vector<double> reference_product(const std::vector<float>& a, bool ta, const std::vector<float>& b, bool tb,
                                      int64_t m, int64_t k, int64_t n) {
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t l = 0; l < k; ++l) s += double(ta ? a[l * m + i] : a[i * k + l]) * (tb ? b[j * k + l] : b[l * n + j]);
      c[i * n + j] = s;
    }
  return c;
}
}  // namespace

TEST(product_cut_across_threads_matches_the_reference) {
  struct Shape {
    int64_t m, k, n;
    bool ta, tb;
  };
  // The step's shapes at batch 10 and a wide and a tall one, in every
  // transposition affine uses.
  const Shape shapes[] = {{10, 784, 500, false, false}, {10, 500, 784, false, true}, {784, 10, 500, true, false},
                          {300, 64, 70, false, false},  {70, 300, 260, false, true}};
  Generator g(5);
  for (const Shape& s : shapes) {
    std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n));
    for (auto& v : a) v = g.uniform() - 0.5f;
    for (auto& v : b) v = g.uniform() - 0.5f;
    const auto ref = reference_product(a, s.ta, b, s.tb, s.m, s.k, s.n);
    for (int threads : {1, 2, 3, 4}) {
      set_num_threads(threads);
      std::vector<float> c(static_cast<size_t>(s.m * s.n), 1.0f);
      kernels::matmul(a.data(), s.ta, b.data(), s.tb, c.data(), s.m, s.k, s.n, true);  // adds to the ones
      for (size_t i = 0; i < c.size(); ++i) CHECK_NEAR(c[i], ref[i] + 1.0, 1e-4);
    }
  }
  set_num_threads(1);
}

// Affine's backward computes dX and dW together: compare with 1 thread.
TEST(affine_backward_same_on_any_thread_count) {
  std::vector<std::vector<float>> grads;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    auto x = random_leaf({40, 300}, -1, 1, 1);
    auto w = random_leaf({300, 120}, -1, 1, 2);
    auto b = random_leaf({120}, -1, 1, 3);
    auto y = f::sum(f::affine(x, w, b) * f::affine(x, w, b));
    y->forward();
    backward_ones(y);
    auto gx = grad_of(x), gw = grad_of(w), gb = grad_of(b);
    gx.insert(gx.end(), gw.begin(), gw.end());
    gx.insert(gx.end(), gb.begin(), gb.end());
    grads.push_back(gx);
  }
  set_num_threads(1);
  for (size_t t = 1; t < grads.size(); ++t)
    for (size_t i = 0; i < grads[0].size(); ++i) CHECK_NEAR(grads[t][i], grads[0][i], 1e-4);
}

NNVAE_TEST_MAIN()
