// squared_error and kl_multinomial: values against hand-computed ones (and
// NNabla 1.39's, where noted), gradients against finite differences with
// accumulation (gradcheck.hpp), NNabla's shape rules, zeros in kl_multinomial,
// and the errors, naming the function, the argument and the shapes.
#include <cmath>
#include <limits>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

// --- squared_error -----------------------------------------------------------------

// x0 = 0..5, x1 = 2: y = (x0 − 2)², dx0 = 2(x0 − 2)·dy, dx1 = −dx0 (NNabla's values).
TEST(squared_error_values_and_gradients_to_both_inputs) {
  auto x0 = leaf({2, 3}, iota(6, 0));
  auto x1 = leaf({2, 3}, std::vector<float>(6, 2.f));
  auto y = f::squared_error(x0, x1);
  CHECK(y->shape() == Shape_t({2, 3}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({4, 1, 0, 1, 4, 9}), 0);
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(x0), std::vector<float>({-4, -2, 0, 2, 4, 6}), 0);
  CHECK_ALL_NEAR(grad_of(x1), std::vector<float>({4, 2, 0, -2, -4, -6}), 0);
  auto a = random_leaf({3, 4}, -2, 2, 1), b = random_leaf({3, 4}, -2, 2, 2);
  CHECK_GRADIENTS(f::squared_error(a, b), {a, b});
}

// Axes of size 1 repeat, on either side; their gradients sum over the repeats.
TEST(squared_error_broadcasts_axes_of_size_one) {
  auto x0 = leaf({2, 3}, iota(6, 0));
  auto x1 = leaf({2, 1}, {1.f, 4.f});
  auto y = f::squared_error(x0, x1);
  CHECK(y->shape() == Shape_t({2, 3}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({1, 0, 1, 1, 0, 1}), 0);
  backward_ones(y);
  // dx1[i] = Σ_j −2(x0[i, j] − x1[i]): −2(−1 + 0 + 1) = 0, −2(−1 + 0 + 1) = 0.
  CHECK_ALL_NEAR(grad_of(x1), std::vector<float>({0, 0}), 0);
  auto a = random_leaf({2, 1, 4}, -2, 2, 3), b = random_leaf({2, 3, 1}, -2, 2, 4);
  auto both = f::squared_error(a, b);
  CHECK(both->shape() == Shape_t({2, 3, 4}));
  CHECK_GRADIENTS(both, {a, b});
}

// NNabla broadcasts only between inputs with the same number of axes.
TEST(squared_error_refuses_other_numbers_of_axes_and_sizes) {
  auto x0 = leaf({2, 3}, iota(6));
  CHECK_THROWS_WITH(f::squared_error(x0, leaf({3}, iota(3))),
                    "squared_error: x0 has shape (2, 3) and x1 has shape (3,); they must have the same number of "
                    "axes (2 vs 1)");
  CHECK_THROWS_WITH(f::squared_error(x0, leaf({3, 2}, iota(6))), "squared_error: shapes (2, 3) and (3, 2) cannot");
  CHECK_THROWS_WITH(f::squared_error(x0, nullptr), "squared_error: an input is null");
}

// --- kl_multinomial --------------------------------------------------------------------

namespace {
// Σ_k p (log(p + 1e-8) − log(q + 1e-8)) over rows of k, in double.
std::vector<double> kl_rows(const std::vector<float>& p, const std::vector<float>& q, size_t k) {
  std::vector<double> out;
  for (size_t i = 0; i < p.size(); i += k) {
    double s = 0;
    for (size_t j = i; j < i + k; ++j) s += p[j] * (std::log(p[j] + 1e-8) - std::log(q[j] + 1e-8));
    out.push_back(s);
  }
  return out;
}
}  // namespace

// NNabla 1.39 gives y = [0.03047875, 0.419034] and the gradients below for
// these p, q with dy = [1, 2].
TEST(kl_multinomial_values_and_gradients_to_both_inputs) {
  const std::vector<float> pv{0.2f, 0.3f, 0.5f, 0.1f, 0.6f, 0.3f}, qv{0.3f, 0.3f, 0.4f, 0.5f, 0.25f, 0.25f};
  auto p = leaf({2, 3}, pv), q = leaf({2, 3}, qv);
  auto y = f::kl_multinomial(p, q, 1);
  CHECK(y->shape() == Shape_t({2, 1}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), kl_rows(pv, qv, 3), 1e-6);
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({0.03047875f, 0.419034f}), 1e-6);
  auto dy = std::make_shared<NdArray>(Shape_t{2, 1});
  float* d = dy->cast<float>(cpu(), true);
  d[0] = 1.f, d[1] = 2.f;
  y->backward(dy);
  CHECK_ALL_NEAR(grad_of(p), std::vector<float>({0.594535f, 1.f, 1.2231436f, -1.2188754f, 3.7509375f, 2.364643f}),
                 1e-6);
  CHECK_ALL_NEAR(grad_of(q), std::vector<float>({-0.6666666f, -1.f, -1.25f, -0.4f, -4.8f, -2.4f}), 1e-6);
  auto a = random_leaf({4, 5}, 0.05f, 0.95f, 5), b = random_leaf({4, 5}, 0.05f, 0.95f, 6);
  CHECK_GRADIENTS(f::kl_multinomial(a, b, 1), {a, b});
}

// base_axis splits the shape: the axes before it are samples, those from it
// on one distribution; a negative base_axis counts from the end, 0 (or
// −ndim) makes the whole input one distribution.
TEST(kl_multinomial_base_axis_sets_the_distributions) {
  auto p = random_leaf({2, 3, 4}, 0.05f, 0.95f, 7), q = random_leaf({2, 3, 4}, 0.05f, 0.95f, 8);
  const auto pv = data_of(p), qv = data_of(q);
  struct Case {
    int base_axis;
    Shape_t shape;
    size_t k;
  };
  for (const Case& c : {Case{1, {2, 1}, 12}, Case{2, {2, 3, 1}, 4}, Case{-1, {2, 3, 1}, 4}, Case{-2, {2, 1}, 12},
                        Case{0, {1}, 24}, Case{-3, {1}, 24}}) {
    auto y = f::kl_multinomial(p, q, c.base_axis);
    CHECK(y->shape() == c.shape);
    y->forward();
    CHECK_ALL_NEAR(data_of(y), kl_rows(pv, qv, c.k), 1e-6);
    CHECK_GRADIENTS(y, {p, q});
  }
}

// Zeros, as NNabla 1.39 computes them: p = 0 adds nothing (its gradient to p
// is log(1e-8) − log(q + 1e-8) + 1); q = 0 < p gives p·(log(p) − log(1e-8))
// and −inf to q; p = q = 0 gives NaN to q. Nothing crashes.
TEST(kl_multinomial_zeros_give_nnablas_values) {
  auto p = leaf({2, 3}, {0.f, 0.5f, 0.5f, 0.f, 1.f, 0.f});
  auto q = leaf({2, 3}, {0.f, 0.5f, 0.5f, 0.5f, 0.f, 0.5f});
  auto y = f::kl_multinomial(p, q, 1);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({0.f, 18.420681f}), 1e-6);
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(p), std::vector<float>({1.f, 1.f, 1.f, -16.727533f, 19.420681f, -16.727533f}), 1e-6);
  auto gq = grad_of(q);
  CHECK(std::isnan(gq[0]));
  CHECK(std::isinf(gq[4]) && gq[4] < 0);
  CHECK_ALL_NEAR(std::vector<float>({gq[1], gq[2], gq[3], gq[5]}), std::vector<float>({-1.f, -1.f, 0.f, 0.f}), 0);
}

// Empty sample axes give an empty output; empty distributions give 0.
TEST(kl_multinomial_empty_inputs) {
  auto p = leaf({0, 3}, {}), q = leaf({0, 3}, {});
  auto y = f::kl_multinomial(p, q, 1);
  CHECK(y->shape() == Shape_t({0, 1}));
  y->forward();
  auto p2 = leaf({2, 0}, {}), q2 = leaf({2, 0}, {});
  auto y2 = f::kl_multinomial(p2, q2, 1);
  y2->forward();
  CHECK_ALL_NEAR(data_of(y2), std::vector<float>({0.f, 0.f}), 0);
}

TEST(kl_multinomial_errors_name_the_argument_and_shapes) {
  auto p = leaf({2, 3}, iota(6)), q = leaf({2, 3}, iota(6));
  CHECK_THROWS_WITH(f::kl_multinomial(p, q, 2),
                    "kl_multinomial: base_axis 2 is out of range for p of shape (2, 3) (it must be in [-2, 2))");
  CHECK_THROWS_WITH(f::kl_multinomial(p, q, -3), "kl_multinomial: base_axis -3 is out of range for p of shape (2, 3)");
  CHECK_THROWS_WITH(f::kl_multinomial(p, leaf({1, 3}, iota(3)), 1),
                    "kl_multinomial: p has shape (2, 3) but q has shape (1, 3); they must be equal");
  CHECK_THROWS_WITH(f::kl_multinomial(leaf({}, {1.f}), leaf({}, {1.f}), 0),
                    "kl_multinomial: base_axis 0 is out of range for p of shape ()");
}

NNVAE_TEST_MAIN()
