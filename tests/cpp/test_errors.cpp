// Every class of error is an exception whose message names the function and
// the shapes or values involved; none crashes or yields garbage.
#include <nnvae/nnvae.hpp>
#include <cmath>
#include <stdexcept>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;
namespace pf = nnvae::parametric_functions;

namespace {
CgVariablePtr var(const Shape_t& shape, bool need_grad = false) {
  return std::make_shared<CgVariable>(shape, need_grad);
}
}  // namespace

// The kind of exception: std::invalid_argument (ValueError in Python).
TEST(errors_are_invalid_argument) {
  bool caught = false;
  try {
    f::add2(var({2, 3}), var({4}));
  } catch (const std::invalid_argument&) {
    caught = true;
  }
  CHECK(caught);
}

TEST(broadcast_mismatch) {
  auto a = var({2, 3}), b = var({4}), c = var({3, 3});
  CHECK_THROWS_WITH(f::add2(a, b), "add2: shapes (2, 3) and (4,) cannot be broadcast together (axis 1: 3 vs 4)");
  CHECK_THROWS_WITH(f::sub2(a, b), "sub2: shapes (2, 3) and (4,)");
  CHECK_THROWS_WITH(a * b, "mul2: shapes (2, 3) and (4,)");
  CHECK_THROWS_WITH(b / a, "div2: shapes (4,) and (2, 3)");
  CHECK_THROWS_WITH(f::add2(a, c), "add2: shapes (2, 3) and (3, 3) cannot be broadcast together (axis 0: 2 vs 3)");
}

TEST(affine_feature_mismatch) {
  auto x = var({2, 783}), W = var({784, 500}), b = var({500});
  CHECK_THROWS_WITH(f::affine(x, W, b, 1),
                    "affine: input has 783 features but W expects 784 (input shape (2, 783), base_axis 1, W shape "
                    "(784, 500))");
  CHECK_THROWS_WITH(f::affine(var({2, 784}), W, var({499}), 1), "affine: b has shape (499,) but W shape (784, 500)");
  CHECK_THROWS_WITH(f::affine(var({2, 784}), var({784}), nullptr, 1),
                    "affine: W must have at least 2 dimensions, got W shape (784,)");
  // pf::affine reusing its parameters on an input of another width.
  ParameterDirectory params;
  pf::affine(var({2, 784}), 1, 500, params["fc1"]);
  CHECK_THROWS_WITH(pf::affine(var({2, 783}), 1, 500, params["fc1"]),
                    "parameter fc1/affine/W exists with shape (784, 500) but shape (783, 500) was asked for");
  CHECK_THROWS_WITH(pf::affine(var({2, 784}), 1, 0, params["fc2"]), "pf::affine: n_out must be > 0, got 0");
}

TEST(bad_base_axis) {
  auto x = var({2, 3}), W = var({3, 4});
  CHECK_THROWS_WITH(f::affine(x, W, nullptr, 2), "affine: base_axis 2 is out of range for input shape (2, 3)");
  CHECK_THROWS_WITH(f::affine(x, W, nullptr, -3), "affine: base_axis -3 is out of range for input shape (2, 3)");
  CHECK(f::affine(x, W, nullptr, -1)->shape() == Shape_t({2, 4}));  // -1 counts from the end: base_axis 1
  CHECK_THROWS_WITH(f::affine(var({}), W, nullptr, 0), "affine: base_axis 0 is out of range for input shape ()");
  ParameterDirectory params;
  CHECK_THROWS_WITH(pf::affine(x, 3, 4, params), "pf::affine: base_axis 3 is out of range for input shape (2, 3)");
  CHECK(params.get_parameters().empty());
}

TEST(bad_reduce_axis) {
  auto x = var({2, 3, 4});
  CHECK_THROWS_WITH(f::sum(x, {3}, false), "sum: axis 3 is out of range for input shape (2, 3, 4) (3 dimensions)");
  CHECK_THROWS_WITH(f::mean(x, {-4}, false), "mean: axis -4 is out of range for input shape (2, 3, 4)");
  CHECK_THROWS_WITH(f::sum(x, {1, -2}, true), "sum: axis -2 is given twice");
  CHECK_THROWS_WITH(f::sum(var({}), {0}, false), "sum: axis 0 is out of range for input shape ()");
}

TEST(reshape_size_mismatch) {
  auto x = var({2, 3, 4});
  CHECK_THROWS_WITH(f::reshape(x, {5, 5}, true),
                    "reshape: input shape (2, 3, 4) has 24 elements but the target shape (5, 5) has 25");
  CHECK_THROWS_WITH(f::reshape(x, {5, -1}, false),
                    "reshape: cannot infer the -1 entry: input shape (2, 3, 4) has 24 elements, not a multiple of 5");
  CHECK_THROWS_WITH(f::reshape(x, {-1, -1}, false), "reshape: more than one -1");
  CHECK_THROWS_WITH(f::reshape(x, {-2, 12}, false), "reshape: target shape entry 0 is -2");
}

TEST(sigmoid_cross_entropy_shape_mismatch) {
  CHECK_THROWS_WITH(f::sigmoid_cross_entropy(var({4, 784}), var({4, 1, 28, 28})),
                    "sigmoid_cross_entropy: x has shape (4, 784) but target has shape (4, 1, 28, 28)");
}

// A function without a gradient on the path from the loss to a variable that
// needs one: backward says which function, which input and its shape.
TEST(backward_through_greater_equal_scalar) {
  auto x = leaf({2, 2}, {0.1f, 0.6f, 0.4f, 0.9f}, true);
  auto y = f::sum(f::greater_equal_scalar(x, 0.5) * x, {}, false);
  y->forward();
  CHECK_NEAR(scalar_of(y), 1.5, 1e-6);
  y->variable()->grad()->fill(1);
  CHECK_THROWS_WITH(y->backward(),
                    "greater_equal_scalar has no gradient with respect to input 0 (shape (2, 2)), but that input "
                    "needs one");
  // With the comparison fed from a copy that needs no gradient it works:
  // this is how the tutorial builds its target.
  auto data = leaf({2, 2}, {0.1f, 0.6f, 0.4f, 0.9f}, false);
  auto z = f::sum(f::greater_equal_scalar(data, 0.5) * x, {}, false);
  z->forward();
  x->variable()->grad()->zero();
  backward_ones(z);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({0, 1, 0, 1}), 0);
}

TEST(gradient_to_sigmoid_cross_entropy_target) {
  auto x = leaf({3}, {0.f, 1.f, -1.f}, true);
  auto t = leaf({3}, {0.f, 1.f, 1.f}, true);
  auto y = f::sum(f::sigmoid_cross_entropy(x, t), {}, false);
  y->forward();
  y->variable()->grad()->fill(1);
  CHECK_THROWS_WITH(y->backward(), "sigmoid_cross_entropy has no gradient with respect to input 1 (shape (3,))");
  t->set_need_grad(false);
  y->backward();
  CHECK_NEAR(grad_of(x)[0], 0.5, 1e-6);
}

TEST(backward_without_root_grad) {
  auto x = leaf({2, 3}, std::vector<float>(6, 1.f));
  auto y = f::sum(x * 2.0, {1}, false);
  y->forward();
  CHECK_THROWS_WITH(y->backward(), "backward: the grad of the variable of shape (2,) was never set");
  auto wrong = std::make_shared<NdArray>(Shape_t{3});
  wrong->fill(1);
  CHECK_THROWS_WITH(y->backward(wrong), "backward: grad of shape (3,) does not fit the variable's shape (2,)");
  CHECK(!x->variable()->grad()->allocated());
}

TEST(using_a_buffer_freed_by_clear_buffer) {
  auto x = leaf({2, 3}, std::vector<float>(6, 1.f));
  auto h = f::exp(x);
  auto y = f::sum(h * h, {}, false);
  y->forward(true);
  CHECK_THROWS_WITH(h->variable()->cast_data_and_get_pointer<float>(cpu()),
                    "array of shape (2, 3) was freed by clear_buffer");
  // Backward cannot compute x's gradient without h: it loses it, and
  // reading it, or a solver updating from it, is an error.
  y->variable()->grad()->fill(1);
  y->backward();
  CHECK_THROWS_WITH(grad_of(x), "array of shape (2, 3) was freed by clear_buffer");
  auto solver = create_SgdSolver(cpu(), 0.1f);
  solver->set_parameters({{"x", x->variable()}});
  CHECK_THROWS_WITH(solver->update(), "update: the gradient of parameter x (shape (2, 3)) was lost");
  CHECK_THROWS_WITH(solver->weight_decay(0.1f), "weight_decay: the gradient of parameter x (shape (2, 3)) was lost");
  CHECK_EQ(data_of(x)[0], 1.f);
  // A later backward does not bring a lost gradient back from zero: it stays
  // lost until zero_grad().
  y->forward();
  backward_ones(y);
  CHECK_THROWS_WITH(grad_of(x), "was freed by clear_buffer");
  solver->zero_grad();
  backward_ones(y);
  CHECK_NEAR(grad_of(x)[0], 2 * std::exp(2.0), 1e-4);
  // Forward from a graph that contains h recomputes it: no error there.
  auto z = f::exp(h);
  z->forward();
  CHECK_NEAR(data_of(z)[0], std::exp(std::exp(1.0)), 1e-6);
  // Freed by backward(clear_buffer): a second backward needs forward again.
  solver->zero_grad();
  y->forward();
  backward_ones(y, true);
  backward_ones(y);
  CHECK_THROWS_WITH(grad_of(x), "was freed by clear_buffer");
  // Asking for it write-only is allowed: it is about to be overwritten.
  CHECK(h->variable()->cast_data_and_get_pointer<float>(cpu(), true) != nullptr);
}

TEST(unknown_context_backend) {
  Context cuda{{"cuda:float"}, "CudaCachedArray", "0"};
  CHECK_THROWS_WITH(check_context(cuda), "context: backend [\"cuda:float\"] is not available");
  CHECK_THROWS_WITH(create_AdamSolver(cuda), "\"cuda:float\"");
  CHECK_THROWS_WITH(create_SgdSolver(cuda, 0.1f), "\"cuda:float\"");
  auto x = leaf({2}, {1, 2});
  CHECK_THROWS_WITH(x->variable()->cast_data_and_get_pointer<float>(cuda), "cpu:float");
  CHECK_THROWS_WITH(x->variable()->cast_grad_and_get_pointer<float>(Context{{"cudnn:float", "cuda:float"}, "x", "0"}),
                    "backend [\"cudnn:float\", \"cuda:float\"]");
  // A list naming the CPU among others is accepted.
  check_context(Context{{"cudnn:float", "cpu:float"}, "CpuCachedArray", "0"});
}

TEST(parameter_recreated_with_other_shape) {
  ParameterDirectory params;
  params["enc"].get_parameter_or_create("W", {4, 3});
  CHECK_THROWS_WITH(params["enc"].get_parameter_or_create("W", {3, 4}),
                    "parameter enc/W exists with shape (4, 3) but shape (3, 4) was asked for");
  CHECK_EQ(params.get_parameters().size(), size_t(1));
  CHECK_THROWS_WITH(params[""], "ParameterDirectory: a scope name must not be empty");
}

TEST(bad_solver_arguments) {
  CHECK_THROWS_WITH(create_AdamSolver(cpu(), 0.001f, 1.0f, 0.999f, 1e-8f),
                    "Adam: beta1 and beta2 must be in [0, 1), got 1.000000 and 0.999000");
  CHECK_THROWS_WITH(create_AdamSolver(cpu(), 0.001f, 0.9f, -0.1f, 1e-8f), "got 0.900000 and -0.100000");
  CHECK_THROWS_WITH(create_AdamSolver(cpu(), 0.001f, 0.9f, 0.999f, 0.f), "Adam: eps must be > 0, got 0");
  CHECK_THROWS_WITH(create_AdamSolver(cpu(), -1e-3f), "Adam: learning rate must be a finite number > 0, got -0.001");
  CHECK_THROWS_WITH(create_SgdSolver(cpu(), 0.f), "Sgd: learning rate must be a finite number > 0, got 0");
  auto sgd = create_SgdSolver(cpu(), 0.1f);
  CHECK_THROWS_WITH(sgd->set_learning_rate(std::nanf("")),
                    "Sgd.set_learning_rate: learning rate must be a finite number > 0, got nan");
  CHECK_THROWS_WITH(sgd->set_learning_rate(-0.5f), "Sgd.set_learning_rate: learning rate must be a finite number > 0, "
                                                   "got -0.5");
  CHECK_THROWS_WITH(sgd->set_learning_rate(INFINITY), "got inf");
  CHECK_NEAR(sgd->learning_rate(), 0.1, 1e-7);  // unchanged by the refused calls
  CHECK_THROWS_WITH(sgd->weight_decay(std::nanf("")), "Sgd.weight_decay: decay_rate must be a finite number, got nan");
  auto adam = create_AdamSolver(cpu());
  CHECK_THROWS_WITH(adam->set_learning_rate(0.f), "Adam.set_learning_rate: learning rate must be a finite number > 0");
  CHECK_THROWS_WITH(adam->weight_decay(-INFINITY), "Adam.weight_decay: decay_rate must be a finite number, got -inf");
}

TEST(bad_solver_states) {
  auto w = leaf({3}, {1, 2, 3})->variable();
  auto adam = create_AdamSolver(cpu());
  adam->set_parameters({{"w", w}});
  CHECK_THROWS_WITH(adam->set_states({}), "set_states: no state for parameter w");
  auto other = create_AdamSolver(cpu());
  other->set_parameters({{"w", leaf({4}, {1, 2, 3, 4})->variable()}});
  CHECK_THROWS_WITH(adam->set_states(other->get_states()), "set_states: state mean of parameter w is missing or has shape (4,) instead of (3,)");
  CHECK_THROWS_WITH(adam->set_parameters({{"p", nullptr}}), "set_parameters: parameter p is null");
}

TEST(bad_function_arguments) {
  CHECK_THROWS_WITH(f::randn(0.f, -1.f, {2}, -1), "randn: sigma must be >= 0, got -1");
  CHECK_THROWS_WITH(f::rand(1.f, 0.f, {2}, -1), "rand: high (0.000000) must be >= low (1.000000)");
  CHECK_THROWS_WITH(f::randn(0.f, 1.f, {2, -3}, -1), "randn: shape (2, -3) has a negative entry (entry 1 is -3)");
  CHECK_THROWS_WITH(f::constant(0.f, {-1}), "constant: shape (-1,) has a negative entry (entry 0 is -1)");
  CHECK_THROWS_WITH(f::softplus(var({2}), 0.0), "softplus: beta must be > 0, got 0");
  CHECK_THROWS_WITH(f::exp(nullptr), "exp: input 0 is null");
  CHECK_THROWS_WITH(f::add2(var({2}), nullptr), "add2: input 1 is null");
  CHECK_THROWS_WITH(UniformInitializer(1.f, -1.f), "UniformInitializer: upper (-1.000000) must be >= lower (1.000000)");
  CHECK_THROWS_WITH(set_num_threads(0), "set_num_threads: the thread count must be >= 1, got 0");
  CHECK_THROWS_WITH(var({2, -1}), "shape (2, -1) has a negative dimension");
  auto v = var({2, 3});
  CHECK_THROWS_WITH(v->variable()->set_data(std::make_shared<NdArray>(Shape_t{3, 2})),
                    "set_data: array shape (3, 2) differs from the variable's (2, 3)");
}

NNVAE_TEST_MAIN()
