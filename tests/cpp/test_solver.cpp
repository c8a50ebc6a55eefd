// Solvers: Adam against its update written out in double, SGD,
// weight_decay, learning-rate access, skipping parameters without a gradient,
// and saving/restoring solver states.
#include <cmath>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

namespace {

VariablePtr param(const std::vector<float>& values) { return leaf({int64_t(values.size())}, values)->variable(); }

void set_grad(const VariablePtr& v, const std::vector<float>& g) {
  float* p = v->cast_grad_and_get_pointer<float>(cpu());
  for (size_t i = 0; i < g.size(); ++i) p[i] = g[i];
}
std::vector<float> values(const VariablePtr& v) {
  const float* p = v->cast_data_and_get_pointer<float>(cpu());
  return std::vector<float>(p, p + v->size());
}

// Adam (m = b1·m + (1−b1)·g, v = b2·v + (1−b2)·g², alpha_t = alpha·sqrt(1−b2^t)/(1−b1^t),
// w −= alpha_t·m/(sqrt(v) + eps)), one parameter element at a time, in double.
struct AdamRef {
  double alpha, b1, b2, eps;
  std::vector<double> w, m, v;
  int t = 0;
  void step(const std::vector<float>& g) {
    ++t;
    double alpha_t = alpha * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (size_t i = 0; i < w.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * double(g[i]) * g[i];
      w[i] -= alpha_t * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
};

std::vector<float> array_copy(const NdArrayPtr& a) {
  const float* p = a->cast<float>(cpu());
  return std::vector<float>(p, p + a->size());
}

}  // namespace

// Step 1 by hand: alpha_1 = α·sqrt(1 − β2)/(1 − β1), m = (1 − β1)g,
// v = (1 − β2)g², so the step is α·sign(g) (up to eps): w = [1, −2] with
// g = [0.5, −1] and α = 0.1 becomes [0.9, −1.9]. Steps 2 and 3 follow the
// reference in double.
TEST(adam_matches_hand_computed_steps) {
  auto w = param({1.f, -2.f, 0.25f});
  auto solver = create_AdamSolver(cpu(), 0.1f, 0.9f, 0.999f, 1e-8f);
  solver->set_parameters({{"w", w}});
  AdamRef ref{0.1, 0.9, 0.999, 1e-8, {1.0, -2.0, 0.25}, {0, 0, 0}, {0, 0, 0}};
  const std::vector<std::vector<float>> grads{{0.5f, -1.f, 0.f}, {0.1f, 2.f, 0.3f}, {-0.4f, 0.5f, 0.3f}};
  for (size_t s = 0; s < grads.size(); ++s) {
    solver->zero_grad();
    set_grad(w, grads[s]);
    solver->update();
    ref.step(grads[s]);
    if (s == 0) CHECK_ALL_NEAR(values(w), std::vector<float>({0.9f, -1.9f, 0.25f}), 1e-6);
    CHECK_ALL_NEAR(values(w), ref.w, 1e-6);
  }
  // Step 2 written out: alpha_2 = 0.1·sqrt(1 − 0.999²)/(1 − 0.9²).
  {
    double a2 = 0.1 * std::sqrt(1 - 0.999 * 0.999) / (1 - 0.81);
    double m = 0.9 * 0.05 + 0.1 * 0.1, v = 0.999 * 0.001 * 0.25 + 0.001 * 0.01;
    double w0_after_2 = 0.9 - a2 * m / (std::sqrt(v) + 1e-8);
    AdamRef r2{0.1, 0.9, 0.999, 1e-8, {1.0}, {0}, {0}};
    r2.step({0.5f});
    r2.step({0.1f});
    CHECK_NEAR(r2.w[0], w0_after_2, 1e-6);
  }
  auto states = solver->get_states();
  CHECK_EQ(states.at("w").t, int64_t(3));
  const float* m = states.at("w").arrays.at("mean")->cast<float>(cpu());
  const float* v = states.at("w").arrays.at("var")->cast<float>(cpu());
  for (int i = 0; i < 3; ++i) {
    CHECK_NEAR(m[i], ref.m[i], 1e-6);
    CHECK_NEAR(v[i], ref.v[i], 1e-6);
  }
}

TEST(sgd_step_and_learning_rate) {
  auto w = param({1.f, -2.f});
  auto solver = create_SgdSolver(cpu(), 0.5f);
  CHECK_NEAR(solver->learning_rate(), 0.5, 0);
  solver->set_parameters({{"w", w}});
  solver->zero_grad();
  set_grad(w, {0.2f, -4.f});
  solver->update();
  CHECK_ALL_NEAR(values(w), std::vector<float>({0.9f, 0.f}), 1e-7);
  solver->set_learning_rate(0.25f);
  CHECK_NEAR(solver->learning_rate(), 0.25, 0);
  solver->zero_grad();
  set_grad(w, {0.4f, 1.f});
  solver->update();
  CHECK_ALL_NEAR(values(w), std::vector<float>({0.8f, -0.25f}), 1e-7);
}

// Adam's α is its learning rate: halving it halves the first step.
TEST(adam_learning_rate_access) {
  auto w = param({0.f});
  auto solver = create_AdamSolver(cpu(), 0.01f, 0.9f, 0.999f, 1e-8f);
  CHECK_NEAR(solver->learning_rate(), 0.01, 1e-9);
  solver->set_learning_rate(0.005f);
  CHECK_NEAR(solver->learning_rate(), 0.005, 1e-9);
  solver->set_parameters({{"w", w}});
  solver->zero_grad();
  set_grad(w, {3.f});
  solver->update();
  CHECK_NEAR(values(w)[0], -0.005, 1e-7);
}

// weight_decay(rate) adds rate·w to each gradient before the update.
TEST(weight_decay_adds_rate_times_w) {
  auto w = param({2.f, -1.f});
  auto solver = create_SgdSolver(cpu(), 0.1f);
  solver->set_parameters({{"w", w}});
  solver->zero_grad();
  set_grad(w, {1.f, 1.f});
  solver->weight_decay(0.5f);
  CHECK_ALL_NEAR(grad_of(std::make_shared<CgVariable>(w, true)), std::vector<float>({2.f, 0.5f}), 0);
  solver->update();
  CHECK_ALL_NEAR(values(w), std::vector<float>({1.8f, -1.05f}), 1e-7);
  // rate 0 changes nothing.
  solver->zero_grad();
  set_grad(w, {1.f, 1.f});
  solver->weight_decay(0.f);
  solver->update();
  CHECK_ALL_NEAR(values(w), std::vector<float>({1.7f, -1.15f}), 1e-6);
}

// NNabla 1.39's numbers: weight_decay(0.1) on w = [1, −2, 3] with g = 0.5
// gives g = [0.6, 0.3, 0.8] under SGD and Adam alike; Adam(0.1) from
// g = [0.3, 0.1] decayed by 0.01 ([0.31, 0.08]) moves w = [1, −2] to
// [0.9000001, −2.0999997].
TEST(weight_decay_matches_nnabla) {
  for (auto solver : {SolverPtr(create_SgdSolver(cpu(), 0.1f)), SolverPtr(create_AdamSolver(cpu(), 0.01f))}) {
    auto w = param({1.f, -2.f, 3.f});
    solver->set_parameters({{"w", w}});
    set_grad(w, {0.5f, 0.5f, 0.5f});
    solver->weight_decay(0.1f);
    CHECK_ALL_NEAR(grad_of(std::make_shared<CgVariable>(w, true)), std::vector<float>({0.6f, 0.3f, 0.8f}), 1e-7);
  }
  auto w = param({1.f, -2.f});
  auto adam = create_AdamSolver(cpu(), 0.1f);
  adam->set_parameters({{"w", w}});
  adam->zero_grad();
  set_grad(w, {0.3f, 0.1f});
  adam->weight_decay(0.01f);
  CHECK_ALL_NEAR(grad_of(std::make_shared<CgVariable>(w, true)), std::vector<float>({0.31f, 0.08f}), 1e-7);
  adam->update();
  CHECK_ALL_NEAR(values(w), std::vector<float>({0.9000001f, -2.0999997f}), 1e-7);
}

// As NNabla: weight_decay leaves a parameter without a gradient since
// zero_grad alone, so update() still skips it (w2 keeps [3, 4]); a parameter
// never zeroed is decayed and updated (NNabla: g = [0.5, 1], w = [0.95, 1.9]);
// a solver without parameters does nothing.
TEST(weight_decay_decays_only_what_update_updates) {
  auto w1 = std::make_shared<CgVariable>(param({1.f, 2.f}), true);
  auto w2 = std::make_shared<CgVariable>(param({3.f, 4.f}), true);
  auto sgd = create_SgdSolver(cpu(), 0.1f);
  sgd->set_parameters({{"w1", w1->variable()}, {"w2", w2->variable()}});
  sgd->zero_grad();
  auto loss = f::sum(w1 * w1, {}, false);
  loss->forward();
  backward_ones(loss);
  sgd->weight_decay(0.5f);
  CHECK_ALL_NEAR(grad_of(w1), std::vector<float>({2.5f, 5.f}), 0);
  CHECK_ALL_NEAR(grad_of(w2), std::vector<float>({0.f, 0.f}), 0);
  sgd->update();
  CHECK_ALL_NEAR(values(w1->variable()), std::vector<float>({0.75f, 1.5f}), 1e-7);
  CHECK_ALL_NEAR(values(w2->variable()), std::vector<float>({3.f, 4.f}), 0);

  auto w3 = param({1.f, 2.f});
  auto fresh = create_SgdSolver(cpu(), 0.1f);
  fresh->set_parameters({{"w3", w3}});
  fresh->weight_decay(0.5f);
  CHECK_ALL_NEAR(grad_of(std::make_shared<CgVariable>(w3, true)), std::vector<float>({0.5f, 1.f}), 0);
  fresh->update();
  CHECK_ALL_NEAR(values(w3), std::vector<float>({0.95f, 1.9f}), 1e-7);

  auto empty = create_AdamSolver(cpu());
  empty->weight_decay(0.5f);
  empty->zero_grad();
  empty->update();
  CHECK(empty->parameter_names().empty());
}

// In the training loop a parameter the loss does not reach keeps its value
// (and Adam's state), while the others move.
TEST(update_skips_parameters_without_gradient) {
  ParameterDirectory params;
  ConstantInitializer one(1.f);
  auto a = params.get_parameter_or_create("a", {2}, &one);
  auto unused = params.get_parameter_or_create("unused", {2}, &one);
  auto never = params.get_parameter_or_create("never", {3}, &one);  // grad never touched at all
  auto solver = create_AdamSolver(cpu(), 0.1f, 0.9f, 0.999f, 1e-8f);
  solver->set_parameters(params.get_parameters());
  CHECK_EQ(solver->parameter_names().size(), size_t(3));

  auto x = leaf({2}, {3.f, -3.f}, false);
  auto loss = f::sum(a * x, {}, false);
  for (int step = 0; step < 2; ++step) {
    solver->zero_grad();
    loss->forward();
    backward_ones(loss);
    solver->update();
  }
  // a moved by about α·sign(x) per step; unused did not move at all.
  CHECK_ALL_NEAR(values(a->variable()), std::vector<float>({0.8f, 1.2f}), 1e-4);
  CHECK_ALL_NEAR(values(unused->variable()), std::vector<float>({1.f, 1.f}), 0);
  CHECK_ALL_NEAR(values(never->variable()), std::vector<float>({1.f, 1.f, 1.f}), 0);
  auto states = solver->get_states();
  CHECK_EQ(states.at("a").t, int64_t(2));
  CHECK_EQ(states.at("unused").t, int64_t(0));

  // SGD skips the same way (a zero gradient would not move it anyway, but a
  // parameter untouched since zero_grad is not even visited).
  auto sgd = create_SgdSolver(cpu(), 1.f);
  sgd->set_parameters(params.get_parameters());
  sgd->zero_grad();
  loss->forward();
  backward_ones(loss);
  sgd->update();
  CHECK_ALL_NEAR(values(a->variable()), std::vector<float>({-2.2f, 4.2f}), 1e-4);
  CHECK_ALL_NEAR(values(unused->variable()), std::vector<float>({1.f, 1.f}), 0);
}

// get_states/set_states: a second solver given the first one's states (and
// the same weights) continues exactly as the first does.
TEST(states_round_trip) {
  auto w1 = param({0.5f, -0.5f, 2.f});
  auto w2 = param({0.f, 0.f, 0.f});
  auto s1 = create_AdamSolver(cpu(), 0.05f, 0.8f, 0.99f, 1e-6f);
  s1->set_parameters({{"w", w1}});
  const std::vector<std::vector<float>> grads{{1.f, -2.f, 0.5f}, {0.3f, 0.1f, -1.f}, {-0.7f, 0.2f, 0.4f}};
  for (int s = 0; s < 2; ++s) {
    s1->zero_grad();
    set_grad(w1, grads[s]);
    s1->update();
  }
  auto saved = s1->get_states();
  // Copy the weights, restore the states into a fresh solver.
  float* p2 = w2->cast_data_and_get_pointer<float>(cpu());
  auto v1 = values(w1);
  for (int i = 0; i < 3; ++i) p2[i] = v1[i];
  auto s2 = create_AdamSolver(cpu(), 0.05f, 0.8f, 0.99f, 1e-6f);
  s2->set_parameters({{"w", w2}});
  s2->set_states(saved);
  CHECK_EQ(s2->get_states().at("w").t, int64_t(2));
  for (auto& [s, w] : {std::make_pair(s1, w1), std::make_pair(s2, w2)}) {
    s->zero_grad();
    set_grad(w, grads[2]);
    s->update();
  }
  CHECK_ALL_NEAR(values(w2), values(w1), 0);
  // The states are copies: updating s1 further does not change s2's.
  auto m2_before = s2->get_states().at("w").arrays.at("mean");
  std::vector<float> m2(m2_before->cast<float>(cpu()), m2_before->cast<float>(cpu()) + 3);
  s1->zero_grad();
  set_grad(w1, grads[0]);
  s1->update();
  CHECK_ALL_NEAR(std::vector<float>(m2_before->cast<float>(cpu()), m2_before->cast<float>(cpu()) + 3), m2, 0);
}

// get_states is a snapshot: later updates change neither its arrays nor its
// step count (a checkpoint taken now and written later stays consistent).
TEST(states_are_a_snapshot) {
  auto w = param({1.f, 2.f});
  auto solver = create_AdamSolver(cpu(), 0.1f, 0.9f, 0.999f, 1e-8f);
  solver->set_parameters({{"w", w}});
  solver->zero_grad();
  set_grad(w, {1.f, -1.f});
  solver->update();
  auto saved = solver->get_states();
  auto m_saved = array_copy(saved.at("w").arrays.at("mean"));
  auto v_saved = array_copy(saved.at("w").arrays.at("var"));
  CHECK_ALL_NEAR(m_saved, std::vector<float>({0.1f, -0.1f}), 1e-7);
  solver->zero_grad();
  set_grad(w, {3.f, 3.f});
  solver->update();
  CHECK_EQ(saved.at("w").t, int64_t(1));
  CHECK_ALL_NEAR(array_copy(saved.at("w").arrays.at("mean")), m_saved, 0);
  CHECK_ALL_NEAR(array_copy(saved.at("w").arrays.at("var")), v_saved, 0);
  // Writing into a snapshot does not reach the solver either.
  saved.at("w").arrays.at("mean")->fill(100.f);
  CHECK_NEAR(array_copy(solver->get_states().at("w").arrays.at("mean"))[0], 0.9 * 0.1 + 0.1 * 3, 1e-6);
}

// set_parameters with reset=false, retain_state=true adds new names and keeps existing states.
TEST(set_parameters_without_reset_keeps_states) {
  auto a = param({1.f}), b = param({1.f});
  auto solver = create_AdamSolver(cpu(), 0.1f, 0.9f, 0.999f, 1e-8f);
  solver->set_parameters({{"a", a}});
  solver->zero_grad();
  set_grad(a, {1.f});
  solver->update();
  solver->set_parameters({{"a", a}, {"b", b}}, false, true);
  CHECK_EQ(solver->parameter_names().size(), size_t(2));
  CHECK_EQ(solver->get_states().at("a").t, int64_t(1));
  CHECK_EQ(solver->get_states().at("b").t, int64_t(0));
  solver->set_parameters({{"b", b}});
  CHECK_EQ(solver->parameter_names().size(), size_t(1));
}

// SGD on a least-squares fit converges to the solution.
TEST(sgd_fits_a_line) {
  auto x = leaf({4, 1}, {0, 1, 2, 3}, false);
  auto t = leaf({4, 1}, {1, 3, 5, 7}, false);  // t = 2x + 1
  ParameterDirectory params;
  auto W = params.get_parameter_or_create("W", {1, 1});
  auto b = params.get_parameter_or_create("b", {1});
  auto d = f::affine(x, W, b, 1) - t;
  auto loss = f::mean(d * d, {}, false);
  auto solver = create_SgdSolver(cpu(), 0.1f);
  solver->set_parameters(params.get_parameters());
  for (int it = 0; it < 500; ++it) {
    solver->zero_grad();
    loss->forward();
    backward_ones(loss);
    solver->update();
  }
  CHECK_NEAR(scalar_of(W), 2.0, 1e-3);
  CHECK_NEAR(scalar_of(b), 1.0, 1e-3);
}

NNVAE_TEST_MAIN()
