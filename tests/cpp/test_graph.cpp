// The graph: shared inputs and intermediates (diamonds), which gradients
// accumulate and which are overwritten, clear_buffer and clear_no_need_grad,
// static and dynamic (auto-forward) graphs, seeds, and need_grad=false.
#include <cmath>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;
namespace pf = nnvae::parametric_functions;

namespace {

// Turns auto-forward on for a scope and always back off.
struct AutoForward {
  explicit AutoForward(bool on) { set_auto_forward(on); }
  ~AutoForward() { set_auto_forward(false); }
};

const std::vector<float> kX{-1.2f, -0.4f, 0.1f, 0.5f, 0.9f, 1.6f};

// A diamond: h = 0.5·x + 1 feeds three branches, and x feeds h and a fourth:
//   y = Σ [ tanh(h)·exp(h) + h·h + x ]
// dy/dx = 0.5·[(1 − tanh²h)·e^h + tanh(h)·e^h + 2h] + 1.
struct Diamond {
  CgVariablePtr x, h, y;
};
Diamond diamond(bool x_need_grad = true) {
  Diamond d;
  d.x = leaf({2, 3}, kX, x_need_grad);
  d.h = d.x * 0.5 + 1.0;
  d.y = f::sum(f::tanh(d.h) * f::exp(d.h) + d.h * d.h + d.x, {}, false);
  return d;
}
std::vector<double> diamond_grad() {
  std::vector<double> g;
  for (float xf : kX) {
    double h = 0.5 * xf + 1, t = std::tanh(h), e = std::exp(h);
    g.push_back(0.5 * ((1 - t * t) * e + t * e + 2 * h) + 1);
  }
  return g;
}
double diamond_value() {
  double s = 0;
  for (float xf : kX) {
    double h = 0.5 * xf + 1;
    s += std::tanh(h) * std::exp(h) + h * h + xf;
  }
  return s;
}

// A small VAE-like graph on parameters: the encoder's mu used twice (mu·mu),
// a reparameterised sample with a seeded randn, a reshape and a loss.
struct Net {
  CgVariablePtr x, loss;
  ParameterDirectory params;
};
Net small_net(int seed_for_randn = 5) {
  Net n;
  n.x = random_leaf({4, 6}, 0.f, 1.f, 21, false);
  auto h = f::elu(pf::affine(n.x, 1, 5, n.params["fc1"]), 1.0);
  auto mu = pf::affine(h, 1, 3, n.params["mu"]);
  auto logvar = pf::affine(h, 1, 3, n.params["logvar"]);
  auto sigma = f::exp(logvar * 0.5);
  auto z = mu + sigma * f::randn(0.f, 1.f, {4, 3}, seed_for_randn);
  auto logits = f::reshape(pf::affine(z, 1, 6, n.params["dec"]), {4, 2, 3}, true);
  auto target = f::reshape(f::greater_equal_scalar(n.x, 0.5), {4, 2, 3}, true);
  auto rec = f::sum(f::sigmoid_cross_entropy(logits, target), {1, 2}, false);
  auto kl = 0.5 * f::sum(mu * mu + sigma * sigma - 1.0 - logvar, {1}, false);
  n.loss = f::mean(rec + kl, {0}, false);
  return n;
}

std::vector<std::vector<float>> param_grads(const ParameterDirectory& params) {
  std::vector<std::vector<float>> out;
  for (auto& [name, v] : params.get_parameters()) {
    const float* g = v->cast_grad_and_get_pointer<float>(cpu());
    out.emplace_back(g, g + v->size());
  }
  return out;
}
void zero_param_grads(const ParameterDirectory& params) {
  for (auto& [name, v] : params.get_parameters()) v->grad()->zero();
}

}  // namespace

TEST(diamond_forward_and_backward) {
  auto d = diamond();
  d.y->forward();
  CHECK_NEAR(scalar_of(d.y), diamond_value(), 1e-6);
  backward_ones(d.y);
  CHECK_ALL_NEAR(grad_of(d.x), diamond_grad(), 1e-5);
  CHECK_GRADIENTS(d.y, {d.x});
}

// Leaves accumulate across backward passes; intermediates are overwritten.
TEST(leaves_accumulate_intermediates_overwrite) {
  auto d = diamond();
  d.y->forward();
  backward_ones(d.y);
  auto h_once = grad_of(d.h);
  auto x_once = grad_of(d.x);
  backward_ones(d.y);
  backward_ones(d.y);
  CHECK_ALL_NEAR(grad_of(d.h), h_once, 0);
  std::vector<float> x_thrice;
  for (float g : x_once) x_thrice.push_back(3 * g);
  CHECK_ALL_NEAR(grad_of(d.x), x_thrice, 1e-6);
  // dy/dh = (1 − tanh²h)·e^h + tanh(h)·e^h + 2h: the sum over its three consumers.
  auto want = diamond_grad();
  for (auto& g : want) g = (g - 1) / 0.5;
  CHECK_ALL_NEAR(h_once, want, 1e-5);
  d.x->variable()->grad()->zero();
  backward_ones(d.y);
  CHECK_ALL_NEAR(grad_of(d.x), x_once, 0);
}

// backward(grad) seeds from the given array instead of the variable's grad.
TEST(backward_with_given_grad) {
  auto x = leaf({3}, {1, 2, 3});
  auto y = x * x;
  y->forward();
  auto g = std::make_shared<NdArray>(Shape_t{3});
  float* gp = g->cast<float>(cpu(), true);
  gp[0] = 1, gp[1] = -1, gp[2] = 0.5f;
  y->backward(g);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({2, -4, 3}), 0);
}

// forward(clear_buffer=true) frees every intermediate once read, keeps leaves
// and the output, and the value is still right; running again works.
TEST(forward_clear_buffer_frees_intermediates) {
  auto d = diamond();
  for (int run = 0; run < 2; ++run) {
    d.y->forward(true);
    CHECK_NEAR(scalar_of(d.y), diamond_value(), 1e-6);
    CHECK(!d.h->variable()->data()->allocated());
    CHECK(d.h->variable()->data()->cleared());
    auto tanh_h = d.y->parent()->inputs[0];  // the sum's input
    CHECK(!tanh_h->variable()->data()->allocated());
    CHECK(d.x->variable()->data()->allocated());
    CHECK(d.y->variable()->data()->allocated());
  }
  // A persistent intermediate is kept.
  d.h->set_persistent(true);
  d.y->forward(true);
  CHECK(d.h->variable()->data()->allocated());
  CHECK_ALL_NEAR(data_of(d.h), std::vector<float>({0.4f, 0.8f, 1.05f, 1.25f, 1.45f, 1.8f}), 1e-6);
}

// An inplace reshape keeps its data alive when its input is freed.
TEST(forward_clear_buffer_with_inplace_reshape) {
  auto x = leaf({2, 3}, {1, 2, 3, 4, 5, 6});
  auto r = f::reshape(x * 2.0, {3, 2}, true);
  auto y = f::sum(r * r, {1}, false);
  y->forward(true);
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({20, 100, 244}), 0);
}

// forward(false, true) frees only what backward does not read; then
// backward(nullptr, true) gives the plain path's gradients, run after run.
TEST(clear_no_need_grad_and_backward_clear_buffer_match_plain_path) {
  auto d = diamond();
  d.y->forward();
  backward_ones(d.y);
  auto plain = grad_of(d.x);

  auto e = diamond();
  for (int run = 0; run < 2; ++run) {
    e.x->variable()->grad()->zero();
    e.y->forward(false, true);
    CHECK_NEAR(scalar_of(e.y), diamond_value(), 1e-6);
    // h is read by backward (mul2 and tanh/exp chains need it) and stays.
    CHECK(e.h->variable()->data()->allocated());
    // The sum's input: sum's backward does not read it, so it is freed.
    CHECK(!e.y->parent()->inputs[0]->variable()->data()->allocated());
    backward_ones(e.y, true);
    CHECK_ALL_NEAR(grad_of(e.x), plain, 0);
    // backward(clear_buffer) freed the intermediates' data and gradients.
    CHECK(!e.h->variable()->data()->allocated());
    CHECK(!e.h->variable()->grad()->allocated());
  }
}

// The same on a network with parameters, a seeded randn and reshapes.
TEST(net_clear_paths_match_plain_path) {
  set_seed(3);
  auto a = small_net();
  set_seed(3);
  auto b = small_net();
  a.loss->forward();
  backward_ones(a.loss);
  b.loss->forward(false, true);
  backward_ones(b.loss, true);
  CHECK_NEAR(scalar_of(a.loss), scalar_of(b.loss), 0);
  auto ga = param_grads(a.params), gb = param_grads(b.params);
  CHECK_EQ(ga.size(), size_t(8));
  for (size_t k = 0; k < ga.size(); ++k) CHECK_ALL_NEAR(gb[k], ga[k], 0);
}

// Reading a freed buffer is an error naming what was freed, not garbage.
TEST(reading_a_freed_buffer_is_an_error) {
  auto d = diamond();
  d.y->forward(true);
  CHECK_THROWS_WITH(d.h->variable()->cast_data_and_get_pointer<float>(cpu()), "freed by clear_buffer");
  CHECK_THROWS_WITH(d.h->variable()->data()->read("h"), "h (shape (2, 3)) was freed");
  // Backward needs the freed data: the gradients that depend on it are
  // lost (freed), and reading one is an error.
  d.y->variable()->grad()->fill(1);
  d.y->backward();
  CHECK_THROWS_WITH(grad_of(d.x), "was freed by clear_buffer");
  // Asking for it write-only is allowed (it is about to be overwritten).
  float* p = d.h->variable()->cast_data_and_get_pointer<float>(cpu(), true);
  CHECK(p != nullptr);
  // After a new forward everything is readable and right again.
  d.y->forward();
  backward_ones(d.y);
  d.x->variable()->grad()->zero();
  backward_ones(d.y);
  CHECK_ALL_NEAR(grad_of(d.x), diamond_grad(), 1e-5);
}

// Two losses over a shared part: the first loss's backward(clear_buffer)
// frees the shared intermediates; a second loss built on its persistent
// output (auto-forward, as a dynamic GAN's discriminator loss on the
// generator's output) still gets the gradients that do not read them, and
// loses those that do, until zero_grad() and a new forward and backward.
TEST(backward_loses_only_the_gradients_that_read_freed_data) {
  auto g = leaf({2, 3}, std::vector<float>(6, 1.f));
  auto d = leaf({2, 3}, std::vector<float>(6, 2.f));
  auto e = f::exp(g);
  auto fake = f::tanh(e);
  fake->set_persistent(true);
  auto loss_gen = f::sum(fake * d, {}, false);
  loss_gen->forward();
  backward_ones(loss_gen, true);
  CHECK(e->variable()->data()->cleared());
  d->variable()->grad()->zero();
  g->variable()->grad()->zero();
  CgVariablePtr loss_dis;
  {
    ThreadAutoForwardScope dynamic(true);
    loss_dis = f::sum(fake * fake * d, {}, false);
  }
  backward_ones(loss_dis);
  const double t = std::tanh(std::exp(1.0));
  CHECK_ALL_NEAR(grad_of(d), std::vector<double>(6, t * t), 1e-6);
  CHECK_THROWS_WITH(grad_of(g), "was freed by clear_buffer");
  g->variable()->grad()->zero();
  loss_gen->forward();
  backward_ones(loss_gen);
  CHECK_ALL_NEAR(grad_of(g), std::vector<double>(6, 2 * (1 - t * t) * std::exp(1.0)), 1e-5);
}

// Dynamic graph: values exist as soon as each node is built, and equal the
// static graph's, forward and backward.
TEST(static_and_dynamic_graphs_agree) {
  set_seed(11);
  auto s = small_net(9);
  s.loss->forward();
  backward_ones(s.loss);
  float static_loss = scalar_of(s.loss);
  auto static_grads = param_grads(s.params);

  Net d;
  {
    AutoForward on(true);
    set_seed(11);
    d = small_net(9);
  }
  // No forward() call: the value is already there.
  CHECK(d.loss->variable()->data()->allocated());
  CHECK_NEAR(scalar_of(d.loss), static_loss, 0);
  backward_ones(d.loss);
  auto dynamic_grads = param_grads(d.params);
  for (size_t k = 0; k < static_grads.size(); ++k) CHECK_ALL_NEAR(dynamic_grads[k], static_grads[k], 0);

  // Values of intermediates are available while building.
  AutoForward on(true);
  auto x = leaf({3}, {1, 2, 3});
  auto y = f::exp(x);
  CHECK_ALL_NEAR(data_of(y), std::vector<double>({std::exp(1.0), std::exp(2.0), std::exp(3.0)}), 1e-6);
  auto z = f::sum(y * x, {}, false);
  CHECK_NEAR(scalar_of(z), std::exp(1.0) + 2 * std::exp(2.0) + 3 * std::exp(3.0), 1e-6);
}

// The same seed gives the same parameters, noise, loss and gradients.
TEST(same_seed_same_numbers) {
  auto run = [](uint32_t seed) {
    set_seed(seed);
    auto n = small_net(-1);  // randn from the global generator too
    n.loss->forward();
    backward_ones(n.loss);
    auto g = param_grads(n.params);
    g.push_back({scalar_of(n.loss)});
    return g;
  };
  auto a = run(42), b = run(42), c = run(43);
  CHECK_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) CHECK(a[k] == b[k]);
  CHECK(a.back() != c.back());
}

// need_grad=false leaves get no gradient, and cut the graph below them.
TEST(need_grad_false_leaves_get_no_gradient) {
  auto a = leaf({3}, {1, 2, 3}, true);
  auto b = leaf({3}, {4, 5, 6}, false);
  auto y = f::sum(a * b + f::exp(b), {}, false);
  CHECK(y->need_grad());
  y->forward();
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(a), std::vector<float>({4, 5, 6}), 0);
  CHECK(!b->variable()->grad()->allocated());
  // exp(b) depends only on b, so it needs no gradient either.
  auto eb = f::exp(b);
  CHECK(!eb->need_grad());
  // A graph with no variable needing a gradient: backward is a no-op.
  auto z = f::sum(f::exp(b), {}, false);
  CHECK(!z->need_grad());
  z->forward();
  backward_ones(z);
  CHECK(!b->variable()->grad()->allocated());
  // Turning need_grad off after building is honoured by the next backward.
  a->variable()->grad()->zero();
  a->set_need_grad(false);
  b->set_need_grad(true);
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(a), std::vector<float>({0, 0, 0}), 0);
  CHECK_ALL_NEAR(grad_of(b), std::vector<double>({1 + std::exp(4.0), 2 + std::exp(5.0), 3 + std::exp(6.0)}), 1e-6);
}

// A variable used as both inputs of one function and again elsewhere.
TEST(intermediate_used_twice_mu_times_mu) {
  auto w = leaf({2}, {0.5f, -1.5f});
  auto mu = w * 3.0;                        // mu = 3w
  auto y = f::sum(mu * mu + mu, {}, false);  // dy/dmu = 2mu + 1, dy/dw = 3(6w + 1)
  y->forward();
  CHECK_NEAR(scalar_of(y), 1.5 * 1.5 + 1.5 + 4.5 * 4.5 - 4.5, 1e-6);
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(mu), std::vector<float>({4, -8}), 1e-6);
  CHECK_ALL_NEAR(grad_of(w), std::vector<float>({12, -24}), 1e-6);
  CHECK_GRADIENTS(y, {w});
}

// randn has no inputs, so nothing flows "through" it; its output's own
// gradient, when asked for with set_need_grad(true), is dL/deps (not zeros).
TEST(source_output_marked_need_grad_gets_its_gradient) {
  auto x = leaf({2, 3}, {1, 2, 3, 4, 5, 6});
  auto eps = f::randn(0.f, 1.f, {2, 3}, 706);
  CHECK(!eps->need_grad());
  auto y = f::sum(x * eps, {}, false);
  y->forward();
  backward_ones(y);
  // dy/dx = eps; eps (not asked for) gets nothing.
  CHECK_ALL_NEAR(grad_of(x), data_of(eps), 0);
  CHECK(!eps->variable()->grad()->allocated());

  eps->set_need_grad(true);
  auto z = f::sum(x * eps * eps, {}, false);
  z->forward();
  backward_ones(z);
  auto e = data_of(eps);
  std::vector<float> want;
  for (int i = 0; i < 6; ++i) want.push_back(2.f * float(i + 1) * e[i]);
  CHECK_ALL_NEAR(grad_of(eps), want, 1e-6);
}

// Intermediates that receive gradients from several kinds of consumer
// (reductions, broadcasts, reshapes, affine) still get the right total.
TEST(composite_gradients_through_shared_intermediates) {
  auto x = random_leaf({2, 3}, -1, 1, 31);
  auto h = x * 2.0 + 0.5;
  auto col = f::sum(h, {0}, false);       // (3,), broadcast back against h
  auto row = f::mean(h, {1}, true);       // (2, 1)
  auto flat = f::reshape(h, {6}, true);   // shares h's buffer
  auto copy = f::reshape(h, {3, 2}, false);
  auto W = random_leaf({3, 2}, -1, 1, 32);
  auto a = f::affine(h, W, nullptr, 1);   // (2, 2)
  auto y = f::sum(h * col, {}, false) + f::sum(row * h, {}, false) + f::sum(flat * flat, {}, false) +
           f::sum(f::tanh(copy), {}, false) + f::sum(a * a, {}, false) + f::sum(h, {}, false);
  CHECK_GRADIENTS(y, {x, W});
}

// The VAE's shape of graph (two heads on one hidden layer, mu·mu, a
// reparameterised sample, reshapes, a cross-entropy against a comparison of
// the input), checked against finite differences in every parameter.
TEST(vae_like_graph_gradients) {
  set_seed(8);
  ParameterDirectory params;
  auto x = random_leaf({3, 6}, 0.f, 1.f, 41, false);
  auto eps = random_leaf({3, 2}, -1.f, 1.f, 42, false);
  auto h = f::elu(pf::affine(x, 1, 4, params["fc1"]), 1.0);
  auto mu = pf::affine(h, 1, 2, params["mu"]);
  auto logvar = pf::affine(h, 1, 2, params["logvar"]);
  auto sigma = f::exp(logvar * 0.5);
  auto z = mu + sigma * eps;
  auto logits = f::reshape(pf::affine(z, 1, 6, params["dec"]), {3, 2, 3}, true);
  auto target = f::reshape(f::greater_equal_scalar(x, 0.5), {3, 2, 3}, false);
  auto rec = f::sum(f::sigmoid_cross_entropy(logits, target), {1, 2}, false);
  auto kl = 0.5 * f::sum(mu * mu + sigma * sigma - 1.0 - logvar, {1}, false);
  auto loss = f::mean(rec + kl, {0}, false);
  std::vector<CgVariablePtr> ps;
  for (auto& [name, p] : params.get_cg_parameters()) ps.push_back(p);
  CHECK_EQ(ps.size(), size_t(8));
  CHECK_GRADIENTS(loss, ps);
}

NNVAE_TEST_MAIN()
