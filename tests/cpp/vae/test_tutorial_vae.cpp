// The tutorial's VAE, written with exactly the tutorial's expressions, builds,
// has the right parameters, starts near 784·ln 2 and learns a fixed batch.
#include <cmath>
#include <nnvae/nnvae.hpp>

#include "check.hpp"

using namespace nnvae;
namespace f = nnvae::functions;
namespace pf = nnvae::parametric_functions;

namespace {

struct Vae {
  CgVariablePtr x, loss;
};

Vae build(ParameterDirectory parameters, int batch) {
  Shape_t shape_x{batch, 1, 28, 28};
  std::vector<int> shape_z{batch, 50};
  std::vector<int> shape_pb{batch, 1, 28, 28};
  int n_pb = 784;
  auto xa = std::make_shared<CgVariable>(shape_x, false);

  auto h1 = f::elu(pf::affine(xa, 1, 500, parameters["fc1"]), 1.0);
  auto h2 = f::elu(pf::affine(h1, 1, 500, parameters["fc2"]), 1.0);
  auto mu = pf::affine(h2, 1, 50, parameters["fc_mu"]);
  auto logvar = pf::affine(h2, 1, 50, parameters["fc_logvar"]);
  auto sigma = f::exp(logvar * 0.5);
  auto epsilon = f::randn(0.0, 1.0, shape_z, 706);
  auto z = mu + sigma * epsilon;
  auto h3 = f::elu(pf::affine(z, 1, 500, parameters["fc3"]), 1.0);
  auto h4 = f::elu(pf::affine(h3, 1, 500, parameters["fc4"]), 1.0);
  auto h5 = pf::affine(h4, 1, n_pb, parameters["fc5"]);
  auto prob = f::reshape(h5, shape_pb, true);
  auto xb = f::greater_equal_scalar(xa, 0.5);
  auto logqz = 0.5 * f::sum(1.0 + logvar, {1}, false);
  auto logpz = 0.5 * f::sum(mu * mu + sigma * sigma, {1}, false);
  auto logpx = f::sum(f::sigmoid_cross_entropy(prob, xb), {1, 2, 3}, false);
  auto loss = f::mean(logpx + logpz - logqz, {0}, false);
  return {xa, loss};
}

// Digit-like images: a random blob of bright pixels on a dark background.
void fill_mnist_like(CgVariablePtr x, uint32_t seed) {
  Context ctx{{"cpu:float"}, "CpuCachedArray", "0"};
  float* p = x->variable()->cast_data_and_get_pointer<float>(ctx, true);
  Generator g(seed);
  int64_t n = x->variable()->size();
  for (int64_t i = 0; i < n; ++i) {
    int64_t pix = i % 784, r = pix / 28, c = pix % 28;
    bool center = r > 6 && r < 22 && c > 8 && c < 20;
    p[i] = center && g.uniform() < 0.5f ? 1.0f : (g.uniform() < 0.02f ? 0.6f : 0.0f);
  }
}

}  // namespace

TEST(parameters_in_creation_order) {
  set_seed(1);
  ParameterDirectory params;
  auto vae = build(params, 4);
  auto list = params.get_parameters();
  const std::vector<std::pair<std::string, Shape_t>> expected{
      {"fc1/affine/W", {784, 500}}, {"fc1/affine/b", {500}},      {"fc2/affine/W", {500, 500}},
      {"fc2/affine/b", {500}},      {"fc_mu/affine/W", {500, 50}}, {"fc_mu/affine/b", {50}},
      {"fc_logvar/affine/W", {500, 50}}, {"fc_logvar/affine/b", {50}}, {"fc3/affine/W", {50, 500}},
      {"fc3/affine/b", {500}},      {"fc4/affine/W", {500, 500}}, {"fc4/affine/b", {500}},
      {"fc5/affine/W", {500, 784}}, {"fc5/affine/b", {784}}};
  CHECK_EQ(list.size(), expected.size());
  int64_t total = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    CHECK_EQ(list[i].first, expected[i].first);
    CHECK(list[i].second->shape() == expected[i].second);
    total += list[i].second->size();
  }
  CHECK_EQ(total, int64_t(1361884));
  CHECK(vae.loss->shape().empty());
}

TEST(initial_loss_and_learning) {
  set_seed(313);
  Context ctx{{"cpu:float"}, "CpuCachedArray", "0"};
  ParameterDirectory params;
  auto vae = build(params, 16);
  fill_mnist_like(vae.x, 7);
  auto solver = create_AdamSolver(ctx, 3e-4f, 0.9f, 0.999f, 1e-8f);
  solver->set_parameters(params.get_parameters());

  vae.loss->forward(false, true);
  float initial = *vae.loss->variable()->cast_data_and_get_pointer<float>(ctx);
  // Reconstruction ≈ 784·ln 2 = 543.4 with logits near 0, plus a small KL.
  CHECK(initial > 520.f && initial < 600.f);

  // 200 steps; 30 under the sanitizers, which only look for memory errors.
#ifdef NNVAE_SANITIZED
  const int steps = 30;
  const float bound = 0.8f;
#else
  const int steps = 200;
  const float bound = 0.5f;
#endif
  float last = initial;
  for (int it = 0; it < steps; ++it) {
    solver->zero_grad();
    vae.loss->forward(false, true);
    vae.loss->variable()->grad()->fill(1.0);
    vae.loss->backward(nullptr, true);
    solver->update();
    last = *vae.loss->variable()->cast_data_and_get_pointer<float>(ctx);
  }
  std::printf("initial loss %.3f, after %d Adam steps %.3f\n", initial, steps, last);
  CHECK(last < bound * initial);
}

NNVAE_TEST_MAIN()
