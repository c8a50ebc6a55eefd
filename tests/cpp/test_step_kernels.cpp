// The training step's non-product kernels on long inputs (both the one-thread
// and the threaded paths, lengths that leave vector tails): vmath::log1p_unit
// against libm, sigmoid_cross_entropy against double references, Adam on
// several parameters split between threads against its update in double,
// the same on 1 and 2 threads; the binary functions' backward.
#include <cmath>
#include <limits>
#include <nnvae/nnvae.hpp>
#include <vector>

#include <nnvae/kernels/vmath.hpp>
#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

namespace {

// Relative error in units of float epsilon (2^-23), against a double reference.
double rel_eps(float got, double want) {
  return std::fabs(double(got) - want) / std::fabs(want) / std::numeric_limits<float>::epsilon();
}

// n values lo + (hi − lo)·u, u uniform from `seed`.
std::vector<float> uniform(int64_t n, float lo, float hi, uint32_t seed) {
  Generator g(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = lo + (hi - lo) * g.uniform();
  return v;
}

}  // namespace

// log1p(u) for u in [0, 1], to 2 ulps; tiny and subnormal u give u itself.
TEST(vmath_log1p_unit_matches_libm) {
  std::vector<float> us;
  for (int i = 1; i <= 200000; ++i) us.push_back(float(i) / 200000.0f);
  for (int e = 1; e <= 149; ++e) us.push_back(std::ldexp(1.0f, -e));
  std::vector<float> ys(us.size());
#pragma omp simd simdlen(16)
  for (size_t i = 0; i < us.size(); ++i) ys[i] = vmath::log1p_unit(us[i]);
  double worst = 0;
  for (size_t i = 0; i < us.size(); ++i) worst = std::max(worst, rel_eps(ys[i], std::log1p(double(us[i]))));
  std::printf("vmath::log1p_unit: worst %.2f eps\n", worst);
  CHECK(worst <= 2.0);
  CHECK_EQ(vmath::log1p_unit(0.0f), 0.0f);
  CHECK_EQ(vmath::log1p_unit(1e-30f), 1e-30f);
  CHECK_EQ(vmath::log1p_unit(std::numeric_limits<float>::denorm_min()), std::numeric_limits<float>::denorm_min());
  CHECK(std::isnan(vmath::log1p_unit(std::numeric_limits<float>::quiet_NaN())));
}

// sigmoid_cross_entropy over 300,001 logits in [−40, 40] with targets 0, ½
// and 1 (the threaded path with a tail) and over 1,001 (one thread), forward
// and accumulated backward, against the loss and σ(x) − t in double.
TEST(sigmoid_cross_entropy_long_inputs_match_double) {
  for (int64_t n : {int64_t(1001), int64_t(300001)}) {
    auto xs = uniform(n, -40.f, 40.f, 11);
    std::vector<float> ts(xs.size());
    for (size_t i = 0; i < ts.size(); ++i) ts[i] = float(i % 3) * 0.5f;
    auto x = leaf({n}, xs);
    auto t = leaf({n}, ts, false);
    auto y = f::sigmoid_cross_entropy(x, t);
    y->forward();
    auto yv = data_of(y);
    double worst = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double v = xs[i];
      const double want = std::max(v, 0.0) - v * ts[i] + std::log1p(std::exp(-std::fabs(v)));
      worst = std::max(worst, std::fabs(yv[i] - want) / std::max(1.0, std::fabs(want)));
    }
    std::printf("sigmoid_cross_entropy n=%lld: worst relative error %.3g\n", (long long)n, worst);
    CHECK(worst < 5e-7);
    // The gradient accumulates onto 0.5 already there.
    x->variable()->grad()->fill(0.5f);
    y->variable()->grad()->fill(2.0f);
    y->backward(nullptr, false);
    auto gv = grad_of(x);
    worst = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double want = 0.5 + 2.0 * (1.0 / (1.0 + std::exp(-double(xs[i]))) - ts[i]);
      worst = std::max(worst, std::fabs(gv[i] - want));
    }
    CHECK(worst < 1e-6);
  }
}

// Adam over parameters of 70,001, 33, 1 and 40,000 elements (together past
// the threaded threshold; split between threads inside a parameter): each
// element follows the update in double, and 1 and 2 threads give the same bits.
TEST(adam_many_parameters_threads_match_double) {
  const std::vector<int64_t> sizes{70001, 33, 1, 40000};
  const double alpha = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::vector<std::vector<float>> results;
  const int before = get_num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<std::pair<std::string, VariablePtr>> params;
    std::vector<std::vector<double>> w, m, v;
    for (size_t p = 0; p < sizes.size(); ++p) {
      auto init = uniform(sizes[p], -1.f, 1.f, 100 + uint32_t(p));
      params.push_back({"p" + std::to_string(p), leaf({sizes[p]}, init)->variable()});
      w.emplace_back(init.begin(), init.end());
      m.emplace_back(init.size(), 0.0);
      v.emplace_back(init.size(), 0.0);
    }
    auto solver = create_AdamSolver(cpu(), float(alpha), float(b1), float(b2), float(eps));
    solver->set_parameters(params);
    for (int step = 1; step <= 3; ++step) {
      solver->zero_grad();
      const double alpha_t = alpha * std::sqrt(1 - std::pow(b2, step)) / (1 - std::pow(b1, step));
      for (size_t p = 0; p < sizes.size(); ++p) {
        auto g = uniform(sizes[p], -2.f, 2.f, 1000 * step + uint32_t(p));
        float* gp = params[p].second->cast_grad_and_get_pointer<float>(cpu());
        std::copy(g.begin(), g.end(), gp);
        for (size_t i = 0; i < g.size(); ++i) {
          m[p][i] = b1 * m[p][i] + (1 - b1) * g[i];
          v[p][i] = b2 * v[p][i] + (1 - b2) * double(g[i]) * g[i];
          w[p][i] -= alpha_t * m[p][i] / (std::sqrt(v[p][i]) + eps);
        }
      }
      solver->update();
    }
    std::vector<float> all;
    double worst = 0;
    for (size_t p = 0; p < sizes.size(); ++p) {
      const float* got = params[p].second->cast_data_and_get_pointer<float>(cpu());
      for (int64_t i = 0; i < sizes[p]; ++i) worst = std::max(worst, std::fabs(got[i] - w[p][i]));
      all.insert(all.end(), got, got + sizes[p]);
    }
    std::printf("Adam, %d thread(s): worst absolute error %.3g\n", threads, worst);
    CHECK(worst < 1e-6);
    results.push_back(all);
  }
  set_num_threads(before);
  CHECK(results[0] == results[1]);
}

// add2, sub2, mul2, div2 on equal shapes of 300,001 elements (the threaded
// path, with a tail): the gradients to both inputs, first assigned (fresh
// intermediates), then accumulated onto what a second backward finds there.
TEST(binary_backward_long_inputs) {
  const int64_t n = 300001;
  auto av = uniform(n, 0.5f, 2.f, 21), bv = uniform(n, -2.f, -0.5f, 22);
  auto a = leaf({n}, av), b = leaf({n}, bv);
  // Through mul_scalar(·, 1) so that a2, b2 are intermediates (their
  // gradients are assigned first, then accumulated from the second function).
  auto a2 = f::mul_scalar(a, 1.0), b2 = f::mul_scalar(b, 1.0);
  struct Case {
    const char* name;
    CgVariablePtr y;
    double (*da)(double, double), (*db)(double, double);
  };
  const std::vector<Case> cases{
      {"add2", f::add2(a2, b2), [](double, double) { return 1.0; }, [](double, double) { return 1.0; }},
      {"sub2", f::sub2(a2, b2), [](double, double) { return 1.0; }, [](double, double) { return -1.0; }},
      {"mul2", f::mul2(a2, b2), [](double, double y) { return y; }, [](double x, double) { return x; }},
      {"div2", f::div2(a2, b2), [](double, double y) { return 1 / y; }, [](double x, double y) { return -x / (y * y); }},
  };
  for (const Case& c : cases) {
    // y2 = y + y: y's gradient is written by one consumer and added to by the other.
    auto y2 = f::add2(c.y, c.y);
    auto total = f::sum(y2, {}, false);
    a->variable()->grad()->zero();
    b->variable()->grad()->zero();
    total->forward();
    backward_ones(total);
    auto ga = grad_of(a), gb = grad_of(b);
    double worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::fabs(ga[i] - 2 * c.da(av[i], bv[i])) / std::max(1.0, std::fabs(2 * c.da(av[i], bv[i]))));
      worst = std::max(worst, std::fabs(gb[i] - 2 * c.db(av[i], bv[i])) / std::max(1.0, std::fabs(2 * c.db(av[i], bv[i]))));
    }
    std::printf("%s backward, n=%lld: worst relative error %.3g\n", c.name, (long long)n, worst);
    CHECK(worst < 1e-6);
  }
}

NNVAE_TEST_MAIN()
