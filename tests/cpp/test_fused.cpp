// The optimised paths give what the plain ones give, within float tolerance:
// the vectorisable exp/log1p (vmath) against libm over the whole float range,
// and the activations and losses that use them against double references.
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <nnvae/nnvae.hpp>
#include <vector>

#include <nnvae/kernels/vmath.hpp>
#include "check.hpp"

using namespace nnvae;
namespace f = nnvae::functions;

namespace {

Context ctx() { return Context{{"cpu:float"}, "CpuCachedArray", "0"}; }

// Relative error in units of float epsilon (2^-23), against a double reference.
double rel_eps(float got, double want) {
  return std::fabs(double(got) - want) / std::fabs(want) / std::numeric_limits<float>::epsilon();
}

CgVariablePtr input(const std::vector<float>& values) {
  auto x = std::make_shared<CgVariable>(Shape_t{int64_t(values.size())}, true);
  std::copy(values.begin(), values.end(), x->variable()->cast_data_and_get_pointer<float>(ctx(), true));
  return x;
}

std::vector<float> data_of(const CgVariablePtr& v) {
  const float* p = v->variable()->cast_data_and_get_pointer<float>(ctx());
  return std::vector<float>(p, p + v->variable()->size());
}

// n values spread over [lo, hi], including both ends.
std::vector<float> spread(float lo, float hi, int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = lo + (hi - lo) * float(i) / float(n - 1);
  return v;
}

}  // namespace

// --- vmath --------------------------------------------------------------------

// Over the normal range e^x agrees with exp in double to 2 float ulps (about
// 1.2e-7 relative); a loop as the kernels write it (omp simd) gives the same.
TEST(vmath_exp_matches_libm) {
  auto xs = spread(-87.0f, 88.5f, 200001);
  std::vector<float> ys(xs.size());
#pragma omp simd
  for (size_t i = 0; i < xs.size(); ++i) ys[i] = vmath::exp(xs[i]);
  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) worst = std::max(worst, rel_eps(ys[i], std::exp(double(xs[i]))));
  std::printf("vmath::exp: worst %.2f eps over [-87, 88.5]\n", worst);
  CHECK(worst < 2.0);
  CHECK_EQ(vmath::exp(0.0f), 1.0f);
  CHECK_NEAR(vmath::exp(1.0f), 2.718281828, 2e-7);
  CHECK_NEAR(vmath::exp(-1.0f), 0.3678794412, 2e-7);
}

// The edges: subnormal results, underflow to 0, overflow to inf, inf, NaN.
TEST(vmath_exp_edges) {
  // e^-100 is subnormal: only a few bits are left, so a loose check.
  CHECK_NEAR(vmath::exp(-100.0f) / 3.720075976e-44, 1.0, 0.05);
  CHECK_EQ(vmath::exp(-110.0f), 0.0f);
  CHECK_EQ(vmath::exp(-std::numeric_limits<float>::infinity()), 0.0f);
  CHECK(std::isinf(vmath::exp(89.0f)));
  CHECK(std::isinf(vmath::exp(std::numeric_limits<float>::infinity())));
  CHECK(rel_eps(vmath::exp(88.7f), std::exp(double(88.7f))) < 2.0);
  CHECK(std::isnan(vmath::exp(std::numeric_limits<float>::quiet_NaN())));
}

// elu's e^x (x <= 0): the same values as exp over [−87, 0] (same
// polynomial, one scaling), e^−87 below, 1 for positive x, NaN kept; and
// elu through it agrees with expm1 near 0 and is −alpha far below.
TEST(vmath_exp_nonpositive_for_elu) {
  auto xs = spread(-87.0f, 0.0f, 200001);
  std::vector<float> ys(xs.size());
#pragma omp simd
  for (size_t i = 0; i < xs.size(); ++i) ys[i] = vmath::exp_nonpositive(xs[i]);
  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) worst = std::max(worst, rel_eps(ys[i], std::exp(double(xs[i]))));
  CHECK(worst < 2.0);
  CHECK_EQ(vmath::exp_nonpositive(0.0f), 1.0f);
  CHECK_EQ(vmath::exp_nonpositive(3.0f), 1.0f);
  CHECK_EQ(vmath::exp_nonpositive(-200.0f), vmath::exp_nonpositive(-87.0f));
  CHECK(vmath::exp_nonpositive(-std::numeric_limits<float>::infinity()) < 2e-38f);
  CHECK(std::isnan(vmath::exp_nonpositive(std::numeric_limits<float>::quiet_NaN())));
  auto elu = data_of([] { auto y = f::elu(input({-1e-4f, -1.0f, -30.0f, -1000.0f}), 2.0); y->forward(); return y; }());
  CHECK_NEAR(elu[0], 2.0 * std::expm1(-1e-4), 2e-7);
  CHECK_NEAR(elu[1], 2.0 * std::expm1(-1.0), 3e-7);
  CHECK_EQ(elu[2], -2.0f);
  CHECK_EQ(elu[3], -2.0f);
}

// log1p(u) for u in [0, 1] (what e^−|x| gives) and beyond, to a few ulps;
// tiny u gives u itself rather than 0.
TEST(vmath_log1p_matches_libm) {
  auto us = spread(0.0f, 1.0f, 100001);
  for (float u : spread(1.0f, 1e6f, 1001)) us.push_back(u);
  double worst = 0;
  for (float u : us) {
    if (u == 0.0f) continue;
    worst = std::max(worst, rel_eps(vmath::log1p_nonneg(u), std::log1p(double(u))));
  }
  std::printf("vmath::log1p_nonneg: worst %.2f eps\n", worst);
  CHECK(worst < 6.0);
  CHECK_EQ(vmath::log1p_nonneg(0.0f), 0.0f);
  CHECK_EQ(vmath::log1p_nonneg(1e-30f), 1e-30f);
  CHECK(std::isinf(vmath::log1p_nonneg(std::numeric_limits<float>::infinity())));
  CHECK(std::isnan(vmath::log1p_nonneg(std::numeric_limits<float>::quiet_NaN())));
}

// --- functions that use vmath ------------------------------------------------

// elu, exp, sigmoid and softplus over a wide range of inputs, long enough
// (70,000 values) to take the threaded path too, against double references.
TEST(vectorised_activations_match_references) {
  auto xs = spread(-30.0f, 30.0f, 70001);
  auto x = input(xs);
  auto elu = data_of([&] { auto y = f::elu(x, 1.3); y->forward(); return y; }());
  auto ex = data_of([&] { auto y = f::exp(x); y->forward(); return y; }());
  auto sig = data_of([&] { auto y = f::sigmoid(x); y->forward(); return y; }());
  auto sp = data_of([&] { auto y = f::softplus(x, 0.5); y->forward(); return y; }());
  for (size_t i = 0; i < xs.size(); ++i) {
    double v = xs[i];
    CHECK_NEAR(elu[i], v >= 0 ? v : 1.3 * std::expm1(v), 3e-7);
    CHECK(rel_eps(ex[i], std::exp(v)) < 2.0);
    CHECK_NEAR(sig[i], 1 / (1 + std::exp(-v)), 2e-7);
    CHECK_NEAR(sp[i], std::log1p(std::exp(0.5 * v)) / 0.5, 4e-7);
  }
}

// elu's gradient: 1 for x >= 0, alpha·e^x below.
TEST(vectorised_elu_gradient) {
  auto xs = spread(-20.0f, 20.0f, 40001);
  auto x = input(xs);
  auto y = f::elu(x, 0.7);
  y->forward();
  y->variable()->grad()->fill(1.0f);
  x->variable()->grad()->zero();
  y->backward();
  const float* g = x->variable()->cast_grad_and_get_pointer<float>(ctx());
  for (size_t i = 0; i < xs.size(); ++i) {
    double v = xs[i];
    CHECK_NEAR(g[i], v >= 0 ? 1.0 : 0.7 * std::exp(v), 2e-7);
  }
}

// sigmoid_cross_entropy and its gradient sigmoid(x) − t, over large |x| too.
TEST(vectorised_sigmoid_cross_entropy) {
  auto xs = spread(-60.0f, 60.0f, 60001);
  std::vector<float> ts(xs.size());
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = float(i % 2);
  auto x = input(xs);
  auto t = input(ts);
  t->set_need_grad(false);
  auto y = f::sigmoid_cross_entropy(x, t);
  y->forward();
  y->variable()->grad()->fill(1.0f);
  x->variable()->grad()->zero();
  y->backward();
  auto ys = data_of(y);
  const float* g = x->variable()->cast_grad_and_get_pointer<float>(ctx());
  for (size_t i = 0; i < xs.size(); ++i) {
    double v = xs[i], tv = ts[i];
    double want = std::max(v, 0.0) - v * tv + std::log1p(std::exp(-std::fabs(v)));
    CHECK_NEAR(ys[i], want, 3e-7);
    CHECK_NEAR(g[i], 1 / (1 + std::exp(-v)) - tv, 2e-7);
  }
}

// --- threaded products --------------------------------------------------------

namespace {
// y = x·W + b, and with dy = 1/(1 + index) the gradients dx = dy·Wᵀ,
// dW = xᵀ·dy, db = Σ_rows dy, on `threads` threads.
struct AffineRun {
  std::vector<float> y, dx, dw, db;
};
AffineRun run_affine(int threads, int64_t rows, int64_t k, int64_t n) {
  set_num_threads(threads);
  auto x = std::make_shared<CgVariable>(Shape_t{rows, k}, true);
  auto w = std::make_shared<CgVariable>(Shape_t{k, n}, true);
  auto b = std::make_shared<CgVariable>(Shape_t{n}, true);
  Generator g(11);
  for (auto& v : {x, w, b}) {
    float* p = v->variable()->cast_data_and_get_pointer<float>(ctx(), true);
    for (int64_t i = 0; i < v->variable()->size(); ++i) p[i] = g.uniform() - 0.5f;
    v->variable()->grad()->zero();
  }
  auto y = f::affine(x, w, b, 1);
  y->forward();
  float* dy = y->variable()->cast_grad_and_get_pointer<float>(ctx(), true);
  for (int64_t i = 0; i < rows * n; ++i) dy[i] = 1.0f / float(1 + i % 97);
  y->backward();
  auto grad = [](const CgVariablePtr& v) {
    const float* p = v->variable()->cast_grad_and_get_pointer<float>(ctx());
    return std::vector<float>(p, p + v->variable()->size());
  };
  AffineRun r{data_of(y), grad(x), grad(w), grad(b)};
  set_num_threads(1);
  return r;
}
}  // namespace

// Products big enough to be cut into per-thread blocks (by rows: 300 x 37;
// by columns: 37 x 301, neither a multiple of 16) give, on 2 threads, what
// they give on 1, and both match a double-precision reference.
TEST(threaded_affine_matches_single_thread_and_reference) {
  for (auto [rows, k, n] : {std::tuple<int64_t, int64_t, int64_t>{300, 129, 37}, {37, 300, 301}}) {
    AffineRun one = run_affine(1, rows, k, n), two = run_affine(2, rows, k, n);
    // The reference, from the same inputs.
    set_num_threads(1);
    Generator g(11);
    std::vector<double> x(rows * k), w(k * n), b(n);
    for (auto* v : {&x, &w, &b})
      for (auto& e : *v) e = g.uniform() - 0.5f;
    auto dy = [&](int64_t r, int64_t j) { return 1.0 / double(1 + (r * n + j) % 97); };
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        double s = b[j];
        for (int64_t i = 0; i < k; ++i) s += x[r * k + i] * w[i * n + j];
        CHECK_NEAR(one.y[r * n + j], s, 1e-5);
        CHECK_NEAR(two.y[r * n + j], one.y[r * n + j], 1e-5);
      }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < k; ++i) {
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += dy(r, j) * w[i * n + j];
        CHECK_NEAR(one.dx[r * k + i], s, 1e-5);
        CHECK_NEAR(two.dx[r * k + i], one.dx[r * k + i], 1e-5);
      }
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t r = 0; r < rows; ++r) s += x[r * k + i] * dy(r, j);
        CHECK_NEAR(one.dw[i * n + j], s, 1e-5);
        CHECK_NEAR(two.dw[i * n + j], one.dw[i * n + j], 1e-5);
      }
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t r = 0; r < rows; ++r) s += dy(r, j);
      CHECK_NEAR(one.db[j], s, 1e-5);
      CHECK_EQ(two.db[j], one.db[j]);
    }
  }
}

// --- the profiling hook ------------------------------------------------------

// Off: nothing is recorded. On: each function's forward and backward calls
// are counted under its name, and solver updates too.
TEST(profiling_counts_calls_by_function) {
  profiling::reset();
  auto x = input({1.f, -2.f, 3.f});
  auto y = f::sum(f::elu(x * 2.0, 1.0));
  y->forward();
  CHECK(profiling::report().empty());

  auto solver = create_SgdSolver(ctx(), 0.1f);
  std::vector<std::pair<std::string, VariablePtr>> params{{"x", x->variable()}};
  solver->set_parameters(params);
  profiling::set_enabled(true);
  solver->zero_grad();
  y->forward();
  y->variable()->grad()->fill(1.0f);
  y->backward();
  solver->update();
  profiling::set_enabled(false);
  y->forward();  // not counted

  std::map<std::string, profiling::Entry> by_name;
  for (auto& e : profiling::report()) by_name[e.name] = e;
  CHECK_EQ(by_name.size(), size_t(5));
  for (const char* name : {"mul_scalar", "elu", "sum"}) {
    CHECK_EQ(by_name[name].forward_calls, int64_t(1));
    CHECK_EQ(by_name[name].backward_calls, int64_t(1));
    CHECK(by_name[name].forward_seconds >= 0.0);
  }
  CHECK_EQ(by_name["solver update"].forward_calls, int64_t(1));
  CHECK_EQ(by_name["solver zero_grad"].forward_calls, int64_t(1));
  profiling::reset();
  CHECK(profiling::report().empty());
}

NNVAE_TEST_MAIN()
