// What NNabla's own C++ VAE program asks of the engine beyond the tutorial's
// expressions: Shape_t from ints, strides, the uint8_t cast of a variable,
// set_parameters(params, reset, retain_state). When built with the compat
// headers (NNVAE_HAVE_NBLA_COMPAT), also what those headers map.
#include <cstdint>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

#ifdef NNVAE_HAVE_NBLA_COMPAT
#include <nbla/auto_forward.hpp>
#include <nbla/computation_graph/computation_graph.hpp>
#include <nbla/context.hpp>
#include <nbla/functions.hpp>
#include <nbla/global_context.hpp>
#include <nbla/parametric_functions.hpp>
#include <nbla/solver/adam.hpp>
#include <nbla_utils/parameters.hpp>
#include <unistd.h>
#endif

using namespace nnvae;
using namespace nnvae_test;

TEST(shape_from_ints_and_strides) {
  int batch_size = 100;
  auto x = std::make_shared<CgVariable>(Shape_t({batch_size, 1, 28, 28}), false);
  CHECK_EQ(shape_str(x->variable()->shape()), std::string("(100, 1, 28, 28)"));
  Shape_t s = x->variable()->strides();
  CHECK_EQ(shape_str(s), std::string("(784, 784, 28, 1)"));
  CHECK_EQ(shape_str(x->variable()->data()->strides()), std::string("(784, 784, 28, 1)"));
  CHECK_EQ(shape_str(shape_strides({})), std::string("()"));
  CHECK_EQ(shape_str(shape_strides({2, 0, 3})), std::string("(0, 3, 1)"));
}

// The array is cast: bytes written through the uint8_t pointer are seen as
// floats afterwards, and floats are seen as (clamped, truncated) bytes.
TEST(uint8_cast_converts_the_array) {
  auto t = std::make_shared<CgVariable>(Shape_t({4, 1}), false);
  uint8_t* b = t->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), true);
  b[0] = 0, b[1] = 7, b[2] = 200, b[3] = 255;
  float* f = t->variable()->cast_data_and_get_pointer<float>(cpu(), false);
  CHECK_EQ(f[0], 0.f);
  CHECK_EQ(f[1], 7.f);
  CHECK_EQ(f[2], 200.f);
  CHECK_EQ(f[3], 255.f);
  f[0] = -3.f, f[1] = 9.75f, f[2] = 300.f, f[3] = 42.f;
  b = t->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), false);
  CHECK_EQ(int(b[0]), 0);
  CHECK_EQ(int(b[1]), 9);
  CHECK_EQ(int(b[2]), 255);
  CHECK_EQ(int(b[3]), 42);
  // The engine reading the array (a function's forward) sees the bytes too.
  b[3] = 10;
  auto y = functions::mul_scalar(t, 2.0);
  y->forward();
  CHECK_EQ(data_of(y)[3], 20.f);
  // A never-written array reads as zero bytes.
  auto fresh = std::make_shared<CgVariable>(Shape_t({3}), false);
  uint8_t* z = fresh->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), false);
  CHECK_EQ(int(z[0]) + int(z[1]) + int(z[2]), 0);
}

namespace {
VariablePtr param1(float v) { return leaf({1}, {v})->variable(); }
void grad1(const VariablePtr& v, float g) { v->cast_grad_and_get_pointer<float>(cpu())[0] = g; }
void step(const std::shared_ptr<AdamSolver>& s, const std::vector<VariablePtr>& vs) {
  s->zero_grad();
  for (auto& v : vs) grad1(v, 1.f);
  s->update();
}
}  // namespace

// NNabla's meaning: reset clears the list; retain_state keeps the state of a
// known name (and takes the new variable); without it a known name restarts.
TEST(set_parameters_reset_and_retain_state) {
  auto a = param1(1.f), b = param1(1.f);
  auto s = create_AdamSolver(cpu(), 0.1f, 0.9f, 0.999f, 1e-8f);
  s->set_parameters({{"a", a}});
  step(s, {a});
  step(s, {a});
  CHECK_EQ(s->get_states().at("a").t, int64_t(2));
  // The dynamic-graph loop's call: known state kept, new name added.
  s->set_parameters({{"a", a}, {"b", b}}, false, true);
  CHECK_EQ(s->parameter_names().size(), size_t(2));
  CHECK_EQ(s->get_states().at("a").t, int64_t(2));
  CHECK_EQ(s->get_states().at("b").t, int64_t(0));
  step(s, {a, b});
  CHECK_EQ(s->get_states().at("a").t, int64_t(3));
  CHECK_EQ(s->get_states().at("b").t, int64_t(1));
  // A new variable under a known name: kept state, and updates go to it.
  auto a2 = param1(5.f);
  s->set_parameters({{"a", a2}}, false, true);
  step(s, {a2, b});
  CHECK_EQ(s->get_states().at("a").t, int64_t(4));
  CHECK_EQ(s->get_states().at("b").t, int64_t(2));
  CHECK(a2->cast_data_and_get_pointer<float>(cpu())[0] < 5.f);
  CHECK_THROWS_WITH(s->set_parameters({{"a", leaf({2}, {1, 2})->variable()}}, false, true),
                    "set_parameters: parameter a has shape (2,) but its kept state has shape (1,)");
  // Without retain_state a known name starts again; others stay.
  s->set_parameters({{"a", a2}}, false, false);
  CHECK_EQ(s->get_states().at("a").t, int64_t(0));
  CHECK_EQ(s->get_states().at("b").t, int64_t(2));
  // reset=true (the default) forgets everything else.
  s->set_parameters({{"b", b}});
  CHECK_EQ(s->parameter_names().size(), size_t(1));
  CHECK_EQ(s->get_states().at("b").t, int64_t(0));
}

#ifdef NNVAE_HAVE_NBLA_COMPAT
// The compat headers map NNabla's names onto nnvae's.
TEST(nbla_names_map_onto_nnvae) {
  nbla::Context ctx{{"cpu:float"}, "CpuCachedArray", "0"};
  nbla::SingletonManager::get<nbla::GlobalContext>()->set_current_context(ctx);
  CHECK_EQ(nbla::SingletonManager::get<nbla::GlobalContext>()->get_current_context().backend[0],
           std::string("cpu:float"));
  nbla::SingletonManager::get<nbla::AutoForward>()->set_auto_forward(true);
  CHECK(nnvae::get_auto_forward());
  CHECK(nbla::SingletonManager::get<nbla::AutoForward>()->get_auto_forward());
  nbla::SingletonManager::get<nbla::AutoForward>()->set_auto_forward(false);
  CHECK(!nnvae::get_auto_forward());
  nbla::float_t one = 1;
  CHECK_EQ(sizeof(one), sizeof(float));

  nbla::ParameterDirectory params;
  auto x = std::make_shared<nbla::CgVariable>(nbla::Shape_t({2, 3}), false);
  nbla::parametric_functions::affine(x, 1, 4, params["fc"]);
  std::string path = "/tmp/nnvae_test_compat_" + std::to_string(::getpid()) + ".protobuf";
  nbla::utils::save_parameters(params, path);
  nbla::ParameterDirectory loaded;
  CHECK(nbla::utils::load_parameters(loaded, path));
  CHECK_EQ(loaded.get_parameters().size(), size_t(2));
  std::remove(path.c_str());
  // A missing file: a message and false, not an exception.
  CHECK(!nbla::utils::load_parameters(loaded, path));
  auto adam = nbla::create_AdamSolver(ctx, 1e-3f, 0.9f, 0.999f, 1e-8f);
  adam->set_parameters(loaded.get_parameters(), false, true);
  CHECK_EQ(adam->parameter_names().size(), size_t(2));
}

// The classifiers' calls: pf::batch_normalization's running statistics go
// through NNabla's parameter files as need_grad false parameters, and
// top_n_error and image_augmentation take NNabla's argument lists.
TEST(nbla_classifier_calls) {
  namespace f = nbla::functions;
  namespace pf = nbla::parametric_functions;
  nbla::ParameterDirectory params;
  auto x = std::make_shared<nbla::CgVariable>(nbla::Shape_t({4, 1, 28, 28}), false);
  auto a = f::image_augmentation(x, {1, 28, 28}, {0, 0}, 0.9, 1.1, 0.3, 1.3, 0.1, false, false, 0.5, false, 1.5, 0.5,
                                 false, 0.1, 0);
  auto h = f::elu(pf::batch_normalization(x * (1.0 / 255.0), true, params["conv1"]), 1.0);
  auto t = std::make_shared<nbla::CgVariable>(nbla::Shape_t({4, 1}), false);
  auto err = f::mean(f::top_n_error(pf::affine(h, 1, 10, params["classifier"]), t, 1, 1), {0, 1}, false);
  err->forward();
  a->forward();
  CHECK_EQ(nnvae::shape_str(a->shape()), std::string("(4, 1, 28, 28)"));
  std::string path = "/tmp/nnvae_test_compat_bn_" + std::to_string(::getpid()) + ".protobuf";
  CHECK(nbla::utils::save_parameters(params, path));
  nbla::ParameterDirectory loaded;
  CHECK(nbla::utils::load_parameters(loaded, path));
  std::remove(path.c_str());
  auto ps = loaded.get_parameters();
  CHECK_EQ(ps.size(), size_t(6));
  CHECK_EQ(ps[3].first, std::string("conv1/bn/variance"));
  CHECK(!loaded.get_parameter("conv1/bn/variance")->need_grad());
  CHECK(loaded.get_parameter("conv1/bn/gamma")->need_grad());
}

// What the convolutional programs reach through the compat names: the
// parametric functions with their option structs, and the short forms of
// pooling with NNabla's PoolingOpts.
TEST(compat_convolution_and_pooling_names) {
  namespace f = nbla::functions;
  namespace pf = nbla::parametric_functions;
  nbla::ParameterDirectory params;
  auto x = std::make_shared<nbla::CgVariable>(nbla::Shape_t({2, 1, 8, 8}), false);
  pf::ConvolutionOpts opts = pf::ConvolutionOpts().with_bias(false).pad({1, 1}).stride({1, 1}).dilation({1, 1});
  auto c = pf::convolution(x, 1, 4, {3, 3}, params["conv1"], opts);
  auto m = f::max_pooling(c, {2, 2}, {2, 2});
  auto a = f::average_pooling(f::max_pooling(c, {2, 2}, {2, 2}, true, {0, 0}, false), {2, 2}, {2, 2});
  pf::DeconvolutionOpts dopts = pf::DeconvolutionOpts().with_bias(false).pad({1, 1}).stride({2, 2});
  auto d = pf::deconvolution(m, 1, 3, {4, 4}, params["deconv1"], dopts);
  CHECK_EQ(shape_str(m->shape()), std::string("(2, 4, 4, 4)"));
  CHECK_EQ(shape_str(a->shape()), std::string("(2, 4, 2, 2)"));
  CHECK_EQ(shape_str(d->shape()), std::string("(2, 3, 8, 8)"));
  CHECK_EQ(params.get_parameters()[0].first, std::string("conv1/conv/W"));
  CHECK_EQ(params.get_parameters()[1].first, std::string("deconv1/deconv/W"));
}
#endif

NNVAE_TEST_MAIN()
