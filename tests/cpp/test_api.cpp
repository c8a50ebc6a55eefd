// The rest of the engine's API: operators, variables and arrays, Context,
// ParameterDirectory, pf::affine's parameters, initializers and seeds.
#include <algorithm>
#include <cmath>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;
namespace pf = nnvae::parametric_functions;

namespace {
// mean and standard deviation of an array's values
std::pair<double, double> moments(const std::vector<float>& v) {
  double s = 0, s2 = 0;
  for (float x : v) s += x, s2 += double(x) * x;
  double m = s / v.size();
  return {m, std::sqrt(s2 / v.size() - m * m)};
}
std::vector<float> array_values(const NdArrayPtr& a) {
  const float* p = a->cast<float>(cpu());
  return std::vector<float>(p, p + a->size());
}
}  // namespace

// --- operators ---------------------------------------------------------------

TEST(operators_variable_with_variable) {
  auto a = leaf({3}, {1.f, -2.f, 4.f});
  auto b = leaf({3}, {2.f, 0.5f, -1.f});
  std::vector<std::pair<CgVariablePtr, std::vector<float>>> cases{
      {a + b, {3, -1.5f, 3}}, {a - b, {-1, -2.5f, 5}}, {a * b, {2, -1, -4}}, {a / b, {0.5f, -4, -4}}};
  for (auto& [y, want] : cases) {
    y->forward();
    CHECK_ALL_NEAR(data_of(y), want, 1e-7);
    CHECK_GRADIENTS(y, {a, b});
  }
  // Broadcasting through the operators: (2,3) with (3,).
  auto m = leaf({2, 3}, {1, 2, 3, 4, 5, 6});
  auto y = m * a;
  CHECK(y->shape() == Shape_t({2, 3}));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({1, -4, 12, 4, -10, 24}), 0);
  CHECK_GRADIENTS(y, {m, a});
}

TEST(operators_with_scalars_on_either_side) {
  auto a = leaf({3}, {1.f, -2.f, 4.f});
  std::vector<std::pair<CgVariablePtr, std::vector<float>>> cases{
      {a + 1.5, {2.5f, -0.5f, 5.5f}},  {a - 1.5, {-0.5f, -3.5f, 2.5f}}, {a * 3.0, {3, -6, 12}},
      {a / 4.0, {0.25f, -0.5f, 1}},    {1.5 + a, {2.5f, -0.5f, 5.5f}}, {1.5 - a, {0.5f, 3.5f, -2.5f}},
      {3.0 * a, {3, -6, 12}},          {4.0 / a, {4, -2, 1}},           {-a, {-1, 2, -4}},
      {2 * a + 1, {3, -3, 9}},  // integer scalars convert
  };
  for (auto& [y, want] : cases) {
    y->forward();
    CHECK_ALL_NEAR(data_of(y), want, 1e-7);
    CHECK_GRADIENTS(y, {a});
  }
}

// The tutorial's expressions mean what they say.
TEST(operators_tutorial_expressions) {
  auto mu = leaf({2, 2}, {0.5f, -1.f, 2.f, 0.f});
  auto logvar = leaf({2, 2}, {0.f, 0.2f, -0.4f, 1.f});
  auto sigma = f::exp(logvar * 0.5);
  auto logqz = 0.5 * f::sum(1.0 + logvar, {1}, false);
  auto logpz = 0.5 * f::sum(mu * mu + sigma * sigma, {1}, false);
  auto kl = f::mean(logpz - logqz, {0}, false);
  kl->forward();
  // KL(N(mu, sigma²) || N(0, 1)) = ½ Σ (mu² + sigma² − 1 − logvar), averaged over rows.
  double want = 0;
  std::vector<float> m{0.5f, -1.f, 2.f, 0.f}, lv{0.f, 0.2f, -0.4f, 1.f};
  for (int i = 0; i < 4; ++i) want += 0.5 * (m[i] * m[i] + std::exp(double(lv[i])) - 1 - lv[i]);
  CHECK_NEAR(scalar_of(kl), want / 2, 1e-6);
  CHECK(kl->shape().empty());
  CHECK_GRADIENTS(kl, {mu, logvar});
}

// --- variables, arrays, Context -------------------------------------------------

TEST(context_and_pointers) {
  Context ctx{{"cpu:float"}, "CpuCachedArray", "0"};
  Context def;
  CHECK_EQ(def.backend.size(), size_t(1));
  CHECK_EQ(def.backend[0], std::string("cpu:float"));
  CHECK_EQ(def.array_class, std::string("CpuCachedArray"));
  CHECK_EQ(def.device_id, std::string("0"));
  check_context(Context{{"cpu"}, "CpuArray", "0"});

  auto v = std::make_shared<CgVariable>(Shape_t{2, 3}, true);
  CHECK(v->need_grad());
  CHECK(v->shape() == Shape_t({2, 3}));
  CHECK_EQ(v->variable()->size(), int64_t(6));
  CHECK_EQ(v->variable()->ndim(), 2);
  // A never-written array reads as zeros.
  CHECK_ALL_NEAR(data_of(v), std::vector<float>(6, 0.f), 0);
  float* p = v->variable()->cast_data_and_get_pointer<float>(ctx, true);
  for (int i = 0; i < 6; ++i) p[i] = float(i);
  CHECK(v->variable()->cast_data_and_get_pointer<float>(ctx) == p);
  CHECK_ALL_NEAR(data_of(v), std::vector<float>({0, 1, 2, 3, 4, 5}), 0);
  v->variable()->data()->fill(2.5f);
  CHECK_ALL_NEAR(data_of(v), std::vector<float>(6, 2.5f), 0);
  v->variable()->data()->zero();
  CHECK_ALL_NEAR(data_of(v), std::vector<float>(6, 0.f), 0);
  v->variable()->grad()->fill(-1.f);
  CHECK_ALL_NEAR(grad_of(v), std::vector<float>(6, -1.f), 0);
  float* g = v->variable()->cast_grad_and_get_pointer<float>(ctx);
  g[5] = 7.f;
  CHECK_NEAR(grad_of(v)[5], 7.0, 0);
  // Data and grad are separate buffers.
  CHECK(v->variable()->data()->storage().get() != v->variable()->grad()->storage().get());
  // A graph built on a variable reads the values written through the pointer.
  auto y = f::sum(v, {}, false);
  p = v->variable()->cast_data_and_get_pointer<float>(ctx, true);
  for (int i = 0; i < 6; ++i) p[i] = 1.f;
  y->forward();
  CHECK_NEAR(scalar_of(y), 6.0, 0);
  // A 0-dim variable holds one value.
  auto s = std::make_shared<CgVariable>(Shape_t{}, false);
  CHECK_EQ(s->variable()->size(), int64_t(1));
  CHECK(!s->need_grad());
}

TEST(threads) {
  int before = get_num_threads();
  CHECK(before >= 1);
  set_num_threads(1);
  CHECK_EQ(get_num_threads(), 1);
  // Results do not depend on the thread count.
  auto x = random_leaf({64, 300}, -1, 1, 5, false);
  auto W = random_leaf({300, 40}, -1, 1, 6, false);
  auto y = f::sum(f::tanh(f::affine(x, W, nullptr, 1)), {0}, false);
  y->forward();
  auto one = data_of(y);
  set_num_threads(2);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), one, 1e-5);
  set_num_threads(before);
}

// --- ParameterDirectory ------------------------------------------------------------

TEST(parameter_directory_scopes_and_order) {
  ParameterDirectory params;
  CHECK_EQ(params.scope(), std::string(""));
  CHECK_EQ(params["enc"]["fc1"].scope(), std::string("enc/fc1"));
  auto w = params["enc"]["fc1"].get_parameter_or_create("W", {3, 2});
  auto b = params["enc"].get_parameter_or_create("b", {2});
  auto top = params.get_parameter_or_create("top", {1}, nullptr, false);
  auto list = params.get_parameters();
  CHECK_EQ(list.size(), size_t(3));
  CHECK_EQ(list[0].first, std::string("enc/fc1/W"));
  CHECK_EQ(list[1].first, std::string("enc/b"));
  CHECK_EQ(list[2].first, std::string("top"));
  CHECK(list[0].second == w->variable());
  CHECK(list[2].second->shape() == Shape_t({1}));
  CHECK(w->need_grad());
  CHECK(!top->need_grad());
  // Without an initializer a parameter starts at zero.
  CHECK_ALL_NEAR(data_of(w), std::vector<float>(6, 0.f), 0);
  // Lookups: by name under the scope, or null.
  CHECK(params["enc"]["fc1"].get_parameter("W") == w);
  CHECK(params.get_parameter("enc/fc1/W") == w);
  CHECK(params.get_parameter("W") == nullptr);
  CHECK(params["dec"].get_parameter("b") == nullptr);
  auto cg = params.get_cg_parameters();
  CHECK(cg[1].second == b);
}

// NNabla's order when a scope is revisited: scope by scope, each scope's
// children (parameters and sub-scopes) in the order they first appeared.
TEST(parameter_directory_order_follows_the_scope_tree) {
  ParameterDirectory params;
  for (const char* name : {"a/x", "b/y", "a/z", "a/s/p", "c", "b/t/q", "a/w", "a/s/r", "d/e/f", "b/u"})
    params.get_parameter_or_create(name, {1});
  std::vector<std::string> names;
  for (auto& [name, var] : params.get_parameters()) names.push_back(name);
  const std::vector<std::string> nnabla = {"a/x", "a/z", "a/s/p", "a/s/r", "a/w", "b/y",
                                           "b/t/q", "b/u", "c", "d/e/f"};
  CHECK(names == nnabla);
  // Every name still finds its own variable, and the graph variables follow the same order.
  for (size_t i = 0; i < nnabla.size(); ++i) {
    CHECK(params.get_parameter(nnabla[i])->variable() == params.get_parameters()[i].second);
    CHECK_EQ(params.get_cg_parameters()[i].first, nnabla[i]);
  }
}

// Copies and views share the storage; an existing parameter is reused as is.
TEST(parameter_directory_sharing_and_reuse) {
  ParameterDirectory params;
  ParameterDirectory copy = params;
  ParameterDirectory view = params["net"];
  ConstantInitializer three(3.f);
  auto w = view.get_parameter_or_create("W", {2, 2}, &three);
  CHECK_EQ(copy.get_parameters().size(), size_t(1));
  CHECK_EQ(copy.get_parameters()[0].first, std::string("net/W"));
  ConstantInitializer nine(9.f);
  auto again = copy["net"].get_parameter_or_create("W", {2, 2}, &nine);
  CHECK(again == w);
  CHECK_ALL_NEAR(data_of(w), std::vector<float>(4, 3.f), 0);  // not re-initialised
  // A separate directory is separate.
  ParameterDirectory other;
  CHECK(other.get_parameters().empty());
  copy.clear();
  CHECK(params.get_parameters().empty());
  CHECK(params.get_parameter("net/W") == nullptr);
}

// get_parameters() on a scoped view gives that scope's parameters only
// (nested ones included, "genx/..." not), with their full names, as NNabla's
// does: two solvers over params["gen"] and params["dis"] share nothing.
TEST(parameter_directory_scoped_get_parameters) {
  ParameterDirectory params;
  for (const char* name : {"gen/W", "dis/W", "gen/inner/b", "genx/W", "top"}) params.get_parameter_or_create(name, {1});
  auto names = [](const auto& list) {
    std::string s;
    for (auto& [name, var] : list) s += name + " ";
    return s;
  };
  CHECK_EQ(names(params["gen"].get_parameters()), std::string("gen/W gen/inner/b "));
  CHECK_EQ(names(params["gen"].get_cg_parameters()), std::string("gen/W gen/inner/b "));
  CHECK_EQ(names(params["dis"].get_parameters()), std::string("dis/W "));
  CHECK_EQ(names(params["gen"]["inner"].get_parameters()), std::string("gen/inner/b "));
  CHECK(params["nothing"].get_parameters().empty());
  CHECK_EQ(params.get_parameters().size(), size_t(5));
  CHECK(params["gen"].get_parameters()[0].second == params.get_parameter("gen/W")->variable());
}

// clear() on a scoped view removes that scope's parameters only (nested
// ones included, "netx/..." kept) and leaves the others findable.
TEST(parameter_directory_scoped_clear) {
  ParameterDirectory params;
  for (const char* name : {"net/W", "net/inner/W", "netx/W", "b/W"}) params.get_parameter_or_create(name, {1});
  params["net"]["inner"].clear();
  CHECK_EQ(params.get_parameters().size(), size_t(3));
  params["net"].clear();
  auto left = params.get_parameters();
  CHECK_EQ(left.size(), size_t(2));
  CHECK_EQ(left[0].first, std::string("netx/W"));
  CHECK_EQ(left[1].first, std::string("b/W"));
  CHECK(params.get_parameter("b/W") != nullptr && params.get_parameter("net/W") == nullptr);
  params["nothing"].clear();
  CHECK_EQ(params.get_parameters().size(), size_t(2));
  params.clear();
  CHECK(params.get_parameters().empty());
}

// pf::affine: names, shapes, Glorot-uniform W, zero b, options, reuse.
TEST(pf_affine_parameters) {
  set_seed(313);
  ParameterDirectory params;
  auto x = random_leaf({4, 2, 30}, 0, 1, 3, false);
  auto y = pf::affine(x, 1, 40, params["fc1"]);
  CHECK(y->shape() == Shape_t({4, 40}));
  auto list = params.get_parameters();
  CHECK_EQ(list.size(), size_t(2));
  CHECK_EQ(list[0].first, std::string("fc1/affine/W"));
  CHECK(list[0].second->shape() == Shape_t({60, 40}));
  CHECK_EQ(list[1].first, std::string("fc1/affine/b"));
  CHECK(list[1].second->shape() == Shape_t({40}));
  float lim = std::sqrt(6.f / (60 + 40));
  auto W = params.get_parameter("fc1/affine/W");
  auto wv = data_of(W);
  CHECK(std::all_of(wv.begin(), wv.end(), [&](float w) { return std::fabs(w) <= lim; }));
  CHECK(*std::max_element(wv.begin(), wv.end()) > 0.95f * lim);
  CHECK(*std::min_element(wv.begin(), wv.end()) < -0.95f * lim);
  auto [m, sd] = moments(wv);
  CHECK(std::fabs(m) < 0.02);
  CHECK(std::fabs(sd - lim / std::sqrt(3.0)) < 0.01);  // uniform's sd = lim/√3
  CHECK_ALL_NEAR(data_of(params.get_parameter("fc1/affine/b")), std::vector<float>(40, 0.f), 0);

  // Calling again on the same scope reuses W and b.
  auto y2 = pf::affine(x, 1, 40, params["fc1"]);
  CHECK_EQ(params.get_parameters().size(), size_t(2));
  CHECK(y2->parent()->inputs[1] == W);

  // base_axis 2: n_in from the last axis only.
  auto y3 = pf::affine(x, 2, 5, params["fc2"]);
  CHECK(y3->shape() == Shape_t({4, 2, 5}));
  CHECK(params.get_parameter("fc2/affine/W")->shape() == Shape_t({30, 5}));

  // Options: no bias; given initializers.
  ConstantInitializer half(0.5f), minus(-1.f);
  auto y4 = pf::affine(x, 1, 3, params["nob"], pf::AffineOpts().with_bias(false));
  CHECK(params.get_parameter("nob/affine/b") == nullptr);
  CHECK_EQ(y4->parent()->inputs.size(), size_t(2));
  pf::affine(x, 1, 3, params["init"], pf::AffineOpts().w_init(&half).b_init(&minus));
  CHECK_ALL_NEAR(data_of(params.get_parameter("init/affine/W")), std::vector<float>(180, 0.5f), 0);
  CHECK_ALL_NEAR(data_of(params.get_parameter("init/affine/b")), std::vector<float>(3, -1.f), 0);
  // y = x·W + b with those: each output is 0.5·Σx − 1.
  auto y5 = pf::affine(x, 1, 3, params["init"]);
  y5->forward();
  auto xv = data_of(x);
  double row0 = 0;
  for (int i = 0; i < 60; ++i) row0 += xv[i];
  CHECK_NEAR(data_of(y5)[0], 0.5 * row0 - 1, 1e-5);
  CHECK(pf::AffineOpts().with_bias());
  CHECK(pf::AffineOpts().w_init() == nullptr);
}

// --- initializers and seeds ----------------------------------------------------

TEST(initializers) {
  set_seed(2);
  auto a = std::make_shared<NdArray>(Shape_t{20000});
  UniformInitializer(-2.f, 3.f).initialize(a);
  auto v = array_values(a);
  CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x >= -2.f && x < 3.f; }));
  auto [m, sd] = moments(v);
  CHECK_NEAR(m, 0.5, 0.05);                          // standard error 0.01
  CHECK(std::fabs(sd - 5 / std::sqrt(12.0)) < 0.03);
  UniformInitializer unit;  // default [-1, 1)
  unit.initialize(a);
  v = array_values(a);
  CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x >= -1.f && x < 1.f; }));

  NormalInitializer(1.f, 2.f).initialize(a);
  std::tie(m, sd) = moments(array_values(a));
  CHECK_NEAR(m, 1.0, 0.07);  // standard error 0.014
  CHECK(std::fabs(sd - 2.0) < 0.05);
  NormalInitializer().initialize(a);
  std::tie(m, sd) = moments(array_values(a));
  CHECK_NEAR(m, 0.0, 0.04);
  CHECK(std::fabs(sd - 1.0) < 0.03);

  ConstantInitializer(7.f).initialize(a);
  CHECK_ALL_NEAR(array_values(a), std::vector<float>(20000, 7.f), 0);
  ConstantInitializer().initialize(a);
  CHECK_ALL_NEAR(array_values(a), std::vector<float>(20000, 0.f), 0);

  CHECK_NEAR(calc_uniform_lim_glorot(784, 500), std::sqrt(6.0 / 1284), 1e-7);
  CHECK_NEAR(calc_uniform_lim_glorot(3, 5, 9), std::sqrt(6.0 / 32), 1e-7);
}

// The global seed fixes initializers and randn(…, −1); generators are
// reproducible from their seed and from a saved state.
TEST(seeds_and_generator_state) {
  auto draw = [](uint32_t seed) {
    set_seed(seed);
    auto a = std::make_shared<NdArray>(Shape_t{100});
    UniformInitializer(-1, 1).initialize(a);
    auto v = array_values(a);
    NormalInitializer().initialize(a);
    auto w = array_values(a);
    v.insert(v.end(), w.begin(), w.end());
    return v;
  };
  CHECK(draw(7) == draw(7));
  CHECK(draw(7) != draw(8));

  Generator g1(99), g2(99);
  for (int i = 0; i < 10; ++i) CHECK_EQ(g1.uniform(), g2.uniform());
  float n1 = g1.normal();  // leaves a spare normal in g1
  std::string saved = g1.state();
  std::vector<float> after;
  for (int i = 0; i < 5; ++i) after.push_back(g1.normal());
  after.push_back(g1.uniform());
  Generator g3(1);
  g3.set_state(saved);
  std::vector<float> again;
  for (int i = 0; i < 5; ++i) again.push_back(g3.normal());
  again.push_back(g3.uniform());
  CHECK(after == again);
  CHECK(std::isfinite(n1));
  CHECK_THROWS_WITH(g3.set_state("not a state"), "random generator state is corrupt");
  // The global generator is the one set_seed seeds.
  set_seed(5);
  float u = global_generator().uniform();
  Generator g5(5);
  CHECK_EQ(u, g5.uniform());
}

NNVAE_TEST_MAIN()
