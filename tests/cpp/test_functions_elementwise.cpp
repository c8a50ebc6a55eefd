// The engine's functions: affine and the elementwise functions (one input, a scalar, two inputs broadcast). Forward against hand-computed values,
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

// --- affine -------------------------------------------------------------------

// x = [[1,2,3],[4,5,6]], W = [[1,0],[0,1],[1,-1]], b = [0.5,-0.5]:
// X·W = [[4,-1],[10,-1]].
TEST(affine_forward_with_and_without_bias) {
  auto x = leaf({2, 3}, iota(6));
  auto W = leaf({3, 2}, {1, 0, 0, 1, 1, -1});
  auto b = leaf({2}, {0.5f, -0.5f});
  auto y = f::affine(x, W, b, 1);
  CHECK(y->shape() == Shape_t({2, 2}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({4.5f, -1.5f, 10.5f, -1.5f}), 1e-6);
  auto y0 = f::affine(x, W, nullptr, 1);
  y0->forward();
  CHECK_ALL_NEAR(data_of(y0), std::vector<float>({4, -1, 10, -1}), 1e-6);
}

// base_axis 2 keeps two leading axes: x (2,2,3) is four rows of 3 features.
TEST(affine_forward_base_axis_2) {
  auto x = leaf({2, 2, 3}, iota(12));
  auto W = leaf({3, 2}, {1, 0, 0, 1, 1, -1});
  auto b = leaf({2}, {0.5f, -0.5f});
  auto y = f::affine(x, W, b, 2);
  CHECK(y->shape() == Shape_t({2, 2, 2}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({4.5f, -1.5f, 10.5f, -1.5f, 16.5f, -1.5f, 22.5f, -1.5f}), 1e-6);
  // base_axis 1 on the same x flattens (2,3) into 6 features.
  auto W6 = leaf({6, 1}, std::vector<float>(6, 1.f));
  auto y1 = f::affine(x, W6, nullptr, 1);
  CHECK(y1->shape() == Shape_t({2, 1}));
  y1->forward();
  CHECK_ALL_NEAR(data_of(y1), std::vector<float>({21, 57}), 1e-6);
}

// W (3, 2, 2): the output takes W's trailing shape.
TEST(affine_multi_dim_weight_shape) {
  auto x = leaf({2, 3}, iota(6));
  auto W = random_leaf({3, 2, 2}, -1, 1, 3);
  auto b = random_leaf({2, 2}, -1, 1, 4);
  auto y = f::affine(x, W, b, 1);
  CHECK(y->shape() == Shape_t({2, 2, 2}));
  CHECK_GRADIENTS(y, {x, W, b});
}

TEST(affine_gradients) {
  auto x = random_leaf({3, 4}, -1, 1, 1);
  auto W = random_leaf({4, 2}, -1, 1, 2);
  auto b = random_leaf({2}, -1, 1, 3);
  CHECK_GRADIENTS(f::affine(x, W, b, 1), {x, W, b});
  CHECK_GRADIENTS(f::affine(x, W, nullptr, 1), {x, W});
  auto x3 = random_leaf({2, 3, 4}, -1, 1, 4);
  auto W5 = random_leaf({4, 5}, -1, 1, 5);
  auto b5 = random_leaf({5}, -1, 1, 6);
  CHECK_GRADIENTS(f::affine(x3, W5, b5, 2), {x3, W5, b5});
  auto W12 = random_leaf({12, 2}, -1, 1, 7);
  CHECK_GRADIENTS(f::affine(x3, W12, b, 1), {x3, W12, b});
}

// Only W needs a gradient (x is data): W's gradient is still right and x gets none.
TEST(affine_gradient_to_weight_only) {
  auto x = random_leaf({3, 4}, -1, 1, 1, false);
  auto W = random_leaf({4, 2}, -1, 1, 2);
  auto y = f::affine(x, W, nullptr, 1);
  CHECK_GRADIENTS(y, {W});
  CHECK(!x->variable()->grad()->allocated());
}

// --- elementwise activations and maths ---------------------------------------

TEST(elu_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto y = f::elu(x, 1.5);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), map(kMixed, [](double v) { return v >= 0 ? v : 1.5 * (std::exp(v) - 1); }), 1e-6);
  CHECK_GRADIENTS(y, {x});
  CHECK_GRADIENTS(f::elu(x, 1.0), {x});
}

TEST(relu_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto y = f::relu(x, false);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({0, 0, 0, 0.15f, 0.6f, 1.9f}), 0);
  CHECK_GRADIENTS(y, {x});
  // inplace=true computes the same values.
  auto yi = f::relu(x, true);
  yi->forward();
  CHECK_ALL_NEAR(data_of(yi), std::vector<float>({0, 0, 0, 0.15f, 0.6f, 1.9f}), 0);
  CHECK_GRADIENTS(yi, {x});
}

TEST(sigmoid_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto y = f::sigmoid(x);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), map(kMixed, [](double v) { return 1 / (1 + std::exp(-v)); }), 1e-6);
  CHECK_GRADIENTS(y, {x});
}

TEST(tanh_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto y = f::tanh(x);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), map(kMixed, [](double v) { return std::tanh(v); }), 1e-6);
  CHECK_GRADIENTS(y, {x});
}

// softplus(x, β) = log(1 + e^(βx)) / β, also for large |βx| where the naive
// formula overflows.
TEST(softplus_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  for (double beta : {1.0, 2.5}) {
    auto y = f::softplus(x, beta);
    y->forward();
    CHECK_ALL_NEAR(data_of(y), map(kMixed, [&](double v) { return std::log1p(std::exp(beta * v)) / beta; }), 1e-6);
    CHECK_GRADIENTS(y, {x});
  }
  auto big = leaf({3}, {-200.f, 0.f, 200.f});
  auto yb = f::softplus(big, 1.0);
  yb->forward();
  CHECK_ALL_NEAR(data_of(yb), std::vector<double>({0.0, std::log(2.0), 200.0}), 1e-6);
}

TEST(exp_log_identity_forward_and_gradient) {
  auto x = leaf({2, 3}, kMixed);
  auto e = f::exp(x);
  e->forward();
  CHECK_ALL_NEAR(data_of(e), map(kMixed, [](double v) { return std::exp(v); }), 1e-6);
  CHECK_GRADIENTS(e, {x});

  std::vector<float> pos{0.5f, 0.9f, 1.0f, 1.7f, 3.0f, 10.0f};
  auto p = leaf({2, 3}, pos);
  auto l = f::log(p);
  l->forward();
  CHECK_ALL_NEAR(data_of(l), map(pos, [](double v) { return std::log(v); }), 1e-6);
  CHECK_GRADIENTS(l, {p});

  auto id = f::identity(x);
  id->forward();
  CHECK_ALL_NEAR(data_of(id), kMixed, 0);
  CHECK_GRADIENTS(id, {x});
}

// --- two variables ------------------------------------------------------------

TEST(binary_equal_shapes) {
  auto a = leaf({2, 2}, {1, -2, 3, 4});
  auto b = leaf({2, 2}, {0.5f, 4, -1.5f, 2});
  auto add = f::add2(a, b), sub = f::sub2(a, b), mul = f::mul2(a, b), div = f::div2(a, b);
  for (auto& y : {add, sub, mul, div}) y->forward();
  CHECK_ALL_NEAR(data_of(add), std::vector<float>({1.5f, 2, 1.5f, 6}), 0);
  CHECK_ALL_NEAR(data_of(sub), std::vector<float>({0.5f, -6, 4.5f, 2}), 0);
  CHECK_ALL_NEAR(data_of(mul), std::vector<float>({0.5f, -8, -4.5f, 8}), 0);
  CHECK_ALL_NEAR(data_of(div), std::vector<float>({2, -0.5f, -2, 2}), 1e-7);
  for (auto& y : {add, sub, mul, div}) CHECK_GRADIENTS(y, {a, b});
}

// (2,3) with (3,): the row is added to each row.
TEST(binary_broadcast_row) {
  auto a = leaf({2, 3}, iota(6));
  auto b = leaf({3}, {10, 20, 30});
  auto y = f::add2(a, b);
  CHECK(y->shape() == Shape_t({2, 3}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({11, 22, 33, 14, 25, 36}), 0);
  // The broadcast operand on the left.
  auto z = f::sub2(b, a);
  z->forward();
  CHECK_ALL_NEAR(data_of(z), std::vector<float>({9, 18, 27, 6, 15, 24}), 0);
  for (auto& r : {f::add2(a, b), f::sub2(b, a), f::mul2(a, b), f::div2(a, b), f::div2(b, a)})
    CHECK_GRADIENTS(r, {a, b});
}

// (2,1,3) with (4,1) broadcast both ways to (2,4,3): y[i,j,k] = a[i,0,k]·b[j,0].
TEST(binary_broadcast_both_sides) {
  auto a = random_leaf({2, 1, 3}, 0.5f, 2.f, 11);
  auto b = random_leaf({4, 1}, 0.5f, 2.f, 12);
  auto y = f::mul2(a, b);
  CHECK(y->shape() == Shape_t({2, 4, 3}));
  y->forward();
  auto av = data_of(a), bv = data_of(b), yv = data_of(y);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) CHECK_NEAR(yv[(i * 4 + j) * 3 + k], av[i * 3 + k] * bv[j], 1e-6);
  for (auto& r : {f::add2(a, b), f::sub2(a, b), f::mul2(a, b), f::div2(a, b)}) CHECK_GRADIENTS(r, {a, b});
}

// A 0-dim operand broadcasts against anything.
TEST(binary_broadcast_scalar_variable) {
  auto a = leaf({2, 3}, iota(6));
  auto s = leaf({}, {2.f});
  auto y = f::mul2(a, s);
  CHECK(y->shape() == Shape_t({2, 3}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({2, 4, 6, 8, 10, 12}), 0);
  CHECK_GRADIENTS(y, {a, s});
  // ds = Σ a·r: a gradient reduced over every broadcast element.
  CHECK_GRADIENTS(f::div2(s, a), {a, s});
}

// The same variable on both sides: d(x·x)/dx = 2x, d(x/x)/dx = 0.
TEST(binary_same_input_twice) {
  auto x = leaf({3}, {-1.5f, 0.5f, 2.f});
  auto y = f::mul2(x, x);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({2.25f, 0.25f, 4}), 0);
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({-3, 1, 4}), 1e-6);
  CHECK_GRADIENTS(y, {x});
  CHECK_GRADIENTS(f::add2(x, x), {x});
  CHECK_GRADIENTS(f::sub2(x, x), {x});
  CHECK_GRADIENTS(f::div2(x, x), {x});
}

// --- a variable and a scalar --------------------------------------------------

TEST(scalar_functions_forward_and_gradient) {
  std::vector<float> xs{-1.5f, 0.5f, 2.f};
  std::vector<float> pos{0.5f, 1.25f, 2.f};
  auto x = leaf({3}, xs);
  auto p = leaf({3}, pos);
  struct Case {
    CgVariablePtr y, in;
    std::vector<double> want;
  };
  std::vector<Case> cases{
      {f::add_scalar(x, 2.5), x, {1.0, 3.0, 4.5}},
      {f::mul_scalar(x, -2.0), x, {3.0, -1.0, -4.0}},
      {f::pow_scalar(x, 2.0), x, {2.25, 0.25, 4.0}},
      {f::pow_scalar(x, 3.0), x, {-3.375, 0.125, 8.0}},
      {f::pow_scalar(p, 0.5), p, {std::sqrt(0.5), std::sqrt(1.25), std::sqrt(2.0)}},
      {f::pow_scalar(p, -1.0), p, {2.0, 0.8, 0.5}},
      {f::r_sub_scalar(x, 1.0), x, {2.5, 0.5, -1.0}},
      {f::r_div_scalar(p, 3.0), p, {6.0, 2.4, 1.5}},
  };
  for (auto& c : cases) {
    c.y->forward();
    CHECK_ALL_NEAR(data_of(c.y), c.want, 1e-6);
    CHECK_GRADIENTS(c.y, {c.in});
  }
  // The inplace flag does not change values.
  auto a = f::add_scalar(x, 1.0, true), m = f::mul_scalar(x, 3.0, true), q = f::pow_scalar(x, 2.0, true);
  for (auto& y : {a, m, q}) y->forward();
  CHECK_ALL_NEAR(data_of(a), std::vector<float>({-0.5f, 1.5f, 3}), 0);
  CHECK_ALL_NEAR(data_of(m), std::vector<float>({-4.5f, 1.5f, 6}), 0);
  CHECK_ALL_NEAR(data_of(q), std::vector<float>({2.25f, 0.25f, 4}), 0);
}

TEST(greater_equal_scalar_forward) {
  auto x = leaf({5}, {0.2f, 0.5f, 0.7f, -1.f, 0.49999f}, false);
  auto y = f::greater_equal_scalar(x, 0.5);
  CHECK(!y->need_grad());
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({0, 1, 1, 0, 0}), 0);
  auto d = f::greater_equal_scalar(x);  // default val = 1
  d->forward();
  CHECK_ALL_NEAR(data_of(d), std::vector<float>({0, 0, 0, 0, 0}), 0);
}

// Inputs large enough for the multi-threaded loops (over 32,768 elements),
// against double references.
TEST(large_inputs_use_threaded_paths) {
  auto a = random_leaf({200, 250}, -1, 1, 51);
  auto b = random_leaf({200, 250}, -1, 1, 52);
  auto av = data_of(a), bv = data_of(b);
  auto e = f::exp(a);
  auto p = f::mul2(a, b);
  auto s0 = f::sum(p, {0}, false);
  auto s1 = f::mean(p, {1}, false);
  auto sce = f::sigmoid_cross_entropy(a, f::greater_equal_scalar(b, 0.0));
  for (auto& y : {e, s0, s1, sce}) y->forward();
  auto ev = data_of(e), s0v = data_of(s0), s1v = data_of(s1), sv = data_of(sce);
  for (int i = 0; i < 200; ++i) {
    double row = 0;
    for (int j = 0; j < 250; ++j) {
      int k = i * 250 + j;
      row += double(av[k]) * bv[k];
      CHECK_NEAR(ev[k], std::exp(double(av[k])), 1e-6);
      double t = bv[k] >= 0 ? 1 : 0;
      CHECK_NEAR(sv[k], std::max(double(av[k]), 0.0) - av[k] * t + std::log1p(std::exp(-std::fabs(av[k]))), 1e-6);
    }
    CHECK_NEAR(s1v[i], row / 250, 1e-5);
  }
  for (int j = 0; j < 250; ++j) {
    double col = 0;
    for (int i = 0; i < 200; ++i) col += double(av[i * 250 + j]) * bv[i * 250 + j];
    CHECK_NEAR(s0v[j], col, 1e-4);
  }
  // d Σ(a·b) / da = b, twice after two passes; d Σ exp(a) / da = exp(a).
  auto total = f::sum(p, {}, false) + f::sum(e, {}, false);
  total->forward();
  backward_ones(total);
  backward_ones(total);
  auto ga = grad_of(a), gb = grad_of(b);
  for (int k = 0; k < 50000; ++k) {
    CHECK_NEAR(ga[k], 2 * (double(bv[k]) + std::exp(double(av[k]))), 1e-5);
    CHECK_NEAR(gb[k], 2.0 * av[k], 1e-6);
  }
}

// The checker itself: a function whose backward is off by 10% fails it,
// and one that forgets to accumulate fails the doubling check.
namespace {
class Square : public Function {
 public:
  Square(float grad_scale, bool honour_accumulate) : scale_(grad_scale), acc_(honour_accumulate) {}
  std::string name() const override { return "square_for_test"; }
  Shape_t setup(const std::vector<Shape_t>& in) override { return in[0]; }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* x = in[0]->data()->read("x");
    float* y = out->data()->write();
    for (int64_t i = 0; i < out->size(); ++i) y[i] = x[i] * x[i];
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>&,
                const std::vector<bool>& acc) override {
    const float* x = in[0]->data()->read("x");
    const float* dy = out->grad()->read("dy");
    bool a = acc_ && acc[0];
    float* dx = in[0]->grad()->write_accumulate(a);
    for (int64_t i = 0; i < out->size(); ++i) dx[i] = (a ? dx[i] : 0.f) + scale_ * 2 * x[i] * dy[i];
  }

 private:
  float scale_;
  bool acc_;
};
}  // namespace

TEST(gradcheck_catches_wrong_backward) {
  auto x = leaf({4}, {-1.f, 0.5f, 1.f, 2.f});
  CHECK(gradcheck(connect(std::make_unique<Square>(1.f, true), {x}), {x}).empty());
  CHECK(gradcheck(connect(std::make_unique<Square>(1.1f, true), {x}), {x}).find("finite difference") !=
        std::string::npos);
  CHECK(gradcheck(connect(std::make_unique<Square>(1.f, false), {x}), {x}).find("second backward") !=
        std::string::npos);
}

// --- elementwise, one input ------------------------------------------------------

TEST(leaky_relu_abs_sqrt) {
  auto x = leaf({2, 3}, kMixed);
  auto lr = f::leaky_relu(x, 0.2);
  auto ab = f::abs(x);
  auto lr_default = f::leaky_relu(x);
  for (auto& y : {lr, ab, lr_default}) y->forward();
  CHECK_ALL_NEAR(data_of(lr), map(kMixed, [](double v) { return v > 0 ? v : 0.2 * v; }), 1e-6);
  CHECK_ALL_NEAR(data_of(lr_default), map(kMixed, [](double v) { return v > 0 ? v : 0.1 * v; }), 1e-6);
  CHECK_ALL_NEAR(data_of(ab), map(kMixed, [](double v) { return std::fabs(v); }), 0);
  for (auto& y : {lr, ab, lr_default}) CHECK_GRADIENTS(y, {x});

  std::vector<float> pos{0.25f, 0.5f, 1.f, 2.f, 4.f, 9.f};
  auto p = leaf({6}, pos);
  auto s = f::sqrt(p);
  s->forward();
  CHECK_ALL_NEAR(data_of(s), std::vector<float>({0.5f, std::sqrt(0.5f), 1, std::sqrt(2.f), 2, 3}), 1e-6);
  CHECK_GRADIENTS(s, {p});
}

// abs at exactly 0 passes the gradient unchanged (sign taken as +1).
TEST(abs_gradient_at_zero) {
  auto x = leaf({3}, {-1.f, 0.f, 1.f});
  auto y = f::abs(x);
  y->forward();
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({-1, 1, 1}), 0);
}

TEST(maximum_minimum_scalar_and_clip_by_value) {
  auto x = leaf({2, 3}, kMixed);
  auto mx = f::maximum_scalar(x, 0.3);
  auto mn = f::minimum_scalar(x, -0.4);
  auto cl = f::clip_by_value(x, -0.5, 1.0);
  for (auto& y : {mx, mn, cl}) y->forward();
  CHECK_ALL_NEAR(data_of(mx), std::vector<float>({0.3f, 0.3f, 0.3f, 0.3f, 0.6f, 1.9f}), 0);
  CHECK_ALL_NEAR(data_of(mn), std::vector<float>({-2.f, -0.7f, -0.4f, -0.4f, -0.4f, -0.4f}), 0);
  CHECK_ALL_NEAR(data_of(cl), std::vector<float>({-0.5f, -0.5f, -0.1f, 0.15f, 0.6f, 1.f}), 0);
  for (auto& y : {mx, mn, cl}) CHECK_GRADIENTS(y, {x});
  x->variable()->grad()->zero();
  backward_ones(cl);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({0, 0, 1, 1, 1, 0}), 0);

  // Bounds as variables: minimum2(maximum2(x, lo), hi), gradients to all three.
  auto lo = leaf({2, 3}, {-1.f, -1.f, 0.2f, -1.f, -1.f, -1.f});
  auto hi = leaf({2, 3}, {1.f, 1.f, 1.f, 1.f, 0.3f, 1.f});
  auto cv = f::clip_by_value(x, lo, hi);
  cv->forward();
  CHECK_ALL_NEAR(data_of(cv), std::vector<float>({-1.f, -0.7f, 0.2f, 0.15f, 0.3f, 1.f}), 0);
  CHECK_GRADIENTS(cv, {x, lo, hi});
  CHECK_THROWS_WITH(f::clip_by_value(x, leaf({3}, {0, 0, 0}), hi), "clip_by_value: min (shape (3,))");
}

// --- elementwise, two inputs ------------------------------------------------------------

TEST(pow2_forward_and_gradient) {
  auto a = leaf({2, 2}, {0.5f, 1.5f, 2.f, 3.f});
  auto b = leaf({2, 2}, {2.f, -1.f, 0.5f, 1.5f});
  auto y = f::pow2(a, b);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<double>({0.25, 1 / 1.5, std::sqrt(2.0), std::pow(3.0, 1.5)}), 1e-6);
  CHECK_GRADIENTS(y, {a, b});
  // Broadcast: (2,2) ^ (2,) and (2,1) ^ (2,2).
  auto e = leaf({2}, {2.f, 0.5f});
  auto yb = f::pow2(a, e);
  yb->forward();
  CHECK_ALL_NEAR(data_of(yb), std::vector<double>({0.25, std::sqrt(1.5), 4, std::sqrt(3.0)}), 1e-6);
  CHECK_GRADIENTS(yb, {a, e});
  auto c = leaf({2, 1}, {1.5f, 2.5f});
  CHECK_GRADIENTS(f::pow2(c, b), {c, b});
}

TEST(maximum2_minimum2) {
  auto a = leaf({2, 3}, {1, -2, 3, 0.5f, 7, -1});
  auto b = leaf({2, 3}, {0, 4, 3, 0.25f, -7, 2});
  auto mx = f::maximum2(a, b), mn = f::minimum2(a, b);
  mx->forward();
  mn->forward();
  CHECK_ALL_NEAR(data_of(mx), std::vector<float>({1, 4, 3, 0.5f, 7, 2}), 0);
  CHECK_ALL_NEAR(data_of(mn), std::vector<float>({0, -2, 3, 0.25f, -7, -1}), 0);
  // Ties (element 2) send the gradient to x1.
  backward_ones(mx);
  CHECK_ALL_NEAR(grad_of(a), std::vector<float>({1, 0, 0, 1, 1, 0}), 0);
  CHECK_ALL_NEAR(grad_of(b), std::vector<float>({0, 1, 1, 0, 0, 1}), 0);
  // Away from ties: finite differences, and broadcasting a row against the matrix.
  auto c = leaf({2, 3}, {1, -2, 3.5f, 0.5f, 7, -1});
  auto row = leaf({3}, {0.f, 0.2f, 3.f});
  CHECK_GRADIENTS(f::maximum2(c, row), {c, row});
  CHECK_GRADIENTS(f::minimum2(row, c), {row, c});
  CHECK_GRADIENTS(f::maximum2(c, b), {c, b});
  CHECK_GRADIENTS(f::minimum2(c, b), {c, b});
  CHECK(f::maximum2(c, row)->shape() == Shape_t({2, 3}));
  CHECK_THROWS_WITH(f::maximum2(c, leaf({2}, {1, 2})), "maximum2: shapes (2, 3) and (2,) cannot be broadcast");
}

NNVAE_TEST_MAIN()
