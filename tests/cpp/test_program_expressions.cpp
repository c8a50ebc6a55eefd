// The expressions NNabla's DCGAN, Siamese and VAT programs build, through the
// engine's C++ API as the programs write them: labels filled as bytes
// (cast_data_and_get_pointer<uint8_t>) in float arithmetic, floats on the
// left of operators, sum over axis 1 kept, pow_scalar 0.5 and 2.0 (NaN for a
// negative base to 0.5, as NNabla), maximum_scalar 0, the losses against
// f::constant targets, a (B, 1, 1, 1) divisor, a second root sharing a
// variable's arrays (need_grad off) and a persistent intermediate whose
// gradient outlives backward(clear_buffer).
#include <cmath>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

// Siamese's labels: two label variables filled through uint8 pointers, and
// t[i] = (t1[i] == t2[i]) written through a third; the engine reads the
// integers 0 and 1 as floats, never the bytes reinterpreted.
TEST(bytes_written_through_uint8_pointers_read_as_their_integer_values) {
  auto t1 = std::make_shared<CgVariable>(Shape_t{4, 1}, false);
  auto t2 = std::make_shared<CgVariable>(Shape_t{4, 1}, false);
  auto t = std::make_shared<CgVariable>(Shape_t{4, 1}, false);
  const uint8_t labels1[] = {3, 7, 0, 9}, labels2[] = {3, 1, 0, 8};
  uint8_t* p1 = t1->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), true);
  uint8_t* p2 = t2->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), true);
  for (int i = 0; i < 4; ++i) p1[i] = labels1[i], p2[i] = labels2[i];
  // Read back as bytes (write_only false) as the program does, then compare.
  const uint8_t* r1 = t1->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), false);
  const uint8_t* r2 = t2->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), false);
  uint8_t* pt = t->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), true);
  for (int i = 0; i < 4; ++i) pt[i] = (r1[i] == r2[i]);
  CHECK_ALL_NEAR(data_of(t1), std::vector<float>({3, 7, 0, 9}), 0);

  // l·sd + (1 − l)·sd² with a float sd: the labels act as 1, 0, 1, 0.
  auto sd = leaf({4, 1}, {0.5f, 2.f, 3.f, 0.25f});
  auto loss = t * sd + (1 - t) * (sd * sd);
  loss->forward();
  CHECK_ALL_NEAR(data_of(loss), std::vector<float>({0.5f, 4.f, 3.f, 0.0625f}), 0);
  backward_ones(loss);
  CHECK_ALL_NEAR(grad_of(sd), std::vector<float>({1.f, 4.f, 1.f, 0.5f}), 0);

  // The next batch rewrites the bytes: the graph sees the new values.
  pt = t->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), true);
  for (int i = 0; i < 4; ++i) pt[i] = uint8_t(i % 2);
  loss->forward();
  CHECK_ALL_NEAR(data_of(loss), std::vector<float>({0.25f, 2.f, 9.f, 0.25f}), 0);
  // And float values read as bytes are the integers, not the float's bytes.
  CHECK_EQ(int(t1->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), false)[1]), 7);
}

// Siamese's contrastive loss, as the program writes it:
//   l·sd + (1 − l)·max(margin − sqrt(sd + eps), 0)², sd = Σ_axis1 (h0 − h1)² kept.
TEST(siamese_contrastive_loss_values_and_gradients) {
  auto h0 = leaf({3, 2}, {0.f, 0.f, 1.f, 1.f, 0.2f, -0.1f});
  auto h1 = leaf({3, 2}, {0.3f, 0.4f, 1.f, 1.f, 1.4f, 0.4f});
  auto l = leaf({3, 1}, {0.f, 1.f, 0.f}, false);
  auto sd = f::sum(f::squared_error(h0, h1), {1}, true);
  CHECK(sd->shape() == Shape_t({3, 1}));
  const float margin = 1.0f, eps = 1e-4f;
  auto loss = l * sd + (1 - l) * f::pow_scalar(f::maximum_scalar(margin - f::pow_scalar(sd + eps, 0.5, false), 0),
                                               2.0, false);
  loss->forward();
  // sd = 0.25, 0, 1.69: 0 → (1 − 0.5001)², 1 → 0, 0 → max(1 − 1.3000385, 0)² = 0.
  std::vector<double> want{std::pow(1.0 - std::sqrt(0.25 + 1e-4), 2), 0.0, 0.0};
  CHECK_ALL_NEAR(data_of(loss), want, 1e-6);
  CHECK_GRADIENTS(loss, {h0, h1});
}

// pow_scalar(x, 0.5) of a negative x is NaN (NNabla's value), its gradient
// too; squaring a negative is fine. Nothing throws.
TEST(pow_scalar_half_of_a_negative_is_nan_and_square_is_not) {
  auto x = leaf({3}, {-4.f, 0.f, 9.f});
  auto r = f::pow_scalar(x, 0.5, false);
  r->forward();
  auto v = data_of(r);
  CHECK(std::isnan(v[0]));
  CHECK_NEAR(v[1], 0.0, 0);
  CHECK_NEAR(v[2], 3.0, 0);
  backward_ones(r);
  CHECK(std::isnan(grad_of(x)[0]));
  auto s = f::pow_scalar(x, 2.0, false);
  s->forward();
  CHECK_ALL_NEAR(data_of(s), std::vector<float>({16.f, 0.f, 81.f}), 0);
}

// VAT's perturbation: r = noise / sqrt(Σ_{1,2,3} noise²) has unit norm per
// sample (the divisor (B, 1, 1, 1) broadcast); x + xi·r with xi on the left.
TEST(vat_noise_scaled_per_sample_by_a_broadcast_divisor) {
  auto noise = random_leaf({2, 1, 3, 3}, -1.f, 1.f, 11);
  auto x = random_leaf({2, 1, 3, 3}, 0.f, 1.f, 12, false);
  auto norm = f::pow_scalar(f::sum(f::pow_scalar(noise, 2, false), {1, 2, 3}, true), 0.5, false);
  CHECK(norm->shape() == Shape_t({2, 1, 1, 1}));
  auto r = noise / norm;
  auto moved = x + 10.0f * r;
  moved->forward();
  auto rv = data_of(r);
  for (int b = 0; b < 2; ++b) {
    double s = 0;
    for (int i = 0; i < 9; ++i) s += double(rv[b * 9 + i]) * rv[b * 9 + i];
    CHECK_NEAR(s, 1.0, 1e-6);
  }
  auto xv = data_of(x), mv = data_of(moved);
  for (int i = 0; i < 18; ++i) CHECK_NEAR(mv[i], xv[i] + 10.0 * rv[i], 1e-5);
  CHECK_GRADIENTS(moved, {noise});
}

// VAT's power iteration: y1 is a second root over yu's arrays, need_grad
// off, so the divergence's gradient reaches only the perturbed branch; r is
// persistent, so its gradient is still there after backward(clear_buffer).
TEST(vat_shared_root_and_persistent_noise_gradient) {
  auto xu = random_leaf({3, 4}, -1.f, 1.f, 21, false);
  auto w = random_leaf({4, 5}, -1.f, 1.f, 22);
  auto yu = f::affine(xu, w, nullptr, 1);
  auto y1 = std::make_shared<CgVariable>(yu->variable(), true);
  y1->set_need_grad(false);
  auto noise = random_leaf({3, 4}, -1.f, 1.f, 23);
  auto r = noise / f::pow_scalar(f::sum(f::pow_scalar(noise, 2, false), {1}, true), 0.5, false);
  r->set_persistent(true);
  auto y2 = f::affine(xu + 10.0f * r, w, nullptr, 1);
  auto loss = f::mean(f::kl_multinomial(f::softmax(y1, 1), f::softmax(y2, 1), 1), {0}, false);
  yu->forward();
  CHECK(y1->parent() == nullptr);
  CHECK_ALL_NEAR(data_of(y1), data_of(yu), 0);

  // The gradient to r without clearing anything, then with the buffers freed.
  r->variable()->grad()->fill(0.f);
  loss->forward();
  backward_ones(loss);
  auto kept = grad_of(r);
  r->variable()->grad()->fill(0.f);
  loss->forward(false, true);
  backward_ones(loss, true);
  CHECK(r->variable()->grad()->allocated());
  CHECK_ALL_NEAR(grad_of(r), kept, 1e-6);
  CHECK(!y1->variable()->grad()->allocated() || grad_of(y1) == std::vector<float>(15, 0.f));
  float s = 0;
  for (float g : kept) s += std::fabs(g);
  CHECK(s > 0);
}

// DCGAN's losses: sigmoid_cross_entropy against f::constant(1 or 0, {B, 1}),
// whose gradient to the logits is sigmoid(x) − t.
TEST(dcgan_losses_against_constant_targets) {
  auto x = leaf({3, 1}, {-1.f, 0.f, 2.f});
  auto ones = f::sigmoid_cross_entropy(x, f::constant(1, {3, 1}));
  auto zeros = f::sigmoid_cross_entropy(x, f::constant(0, {3, 1}));
  auto loss = f::mean(ones, {0, 1}, false) + f::mean(zeros, {0, 1}, false);
  loss->forward();
  auto o = data_of(ones), z = data_of(zeros);
  const float xs[] = {-1.f, 0.f, 2.f};
  for (int i = 0; i < 3; ++i) {
    CHECK_NEAR(o[i], std::log1p(std::exp(-double(xs[i]))), 1e-6);
    CHECK_NEAR(z[i], std::log1p(std::exp(double(xs[i]))), 1e-6);
  }
  backward_ones(loss);
  for (int i = 0; i < 3; ++i) {
    const double sig = 1 / (1 + std::exp(-double(xs[i])));
    CHECK_NEAR(grad_of(x)[i], ((sig - 1) + sig) / 3, 1e-6);
  }
}

// f::constant refuses a negative or overflowing shape, naming itself, the
// argument and the shape.
TEST(constant_refuses_bad_shapes_by_name) {
  CHECK_THROWS_WITH(f::constant(1, {-1, 2}), "constant: shape (-1, 2) has a negative entry (entry 0 is -1)");
  CHECK_THROWS_WITH(f::constant(1, {2147483647, 2147483647, 4}),
                    "constant: shape (2147483647, 2147483647, 4) has more elements than an array can hold");
  CHECK(f::constant(1, {0, 3})->shape() == Shape_t({0, 3}));
}

NNVAE_TEST_MAIN()
