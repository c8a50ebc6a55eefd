// batch_normalization and pf::batch_normalization: NNabla's values for small
// cases, a naive reference on odd sizes, finite differences with
// accumulation, the running statistics (their update, batch 1 with them, the
// parameter file), the activation after it fused into its forward, and the
// errors for bad input.
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;
namespace pf = nnvae::parametric_functions;

namespace {

// ((i·mul) mod m − off)/div for i < n: exact small floats, shared with the
// script that computed NNabla's values below.
std::vector<float> pattern(int n, int mul, int m, int off, float div) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = float((i * mul) % m - off) / div;
  return v;
}

struct Bn {
  CgVariablePtr x, beta, gamma, mean, variance, dy;
};

// The inputs of the NNabla cases: x and dy patterns, four channels' worth of
// beta, gamma, running mean and variance (the first C used).
Bn nnabla_inputs(const Shape_t& xs, int axis) {
  const int n = static_cast<int>(shape_size(xs)), C = static_cast<int>(xs[axis]);
  Shape_t ps(xs.size(), 1);
  ps[axis] = C;
  auto take = [C](std::vector<float> v) { return std::vector<float>(v.begin(), v.begin() + C); };
  return {leaf(xs, pattern(n, 7, 11, 5, 4.f)),
          leaf(ps, take({0.1f, -0.2f, 0.3f, 0.05f})),
          leaf(ps, take({1.5f, 0.5f, -1.f, 2.f})),
          leaf(ps, take({0.2f, -0.1f, 0.f, 0.4f}), false),
          leaf(ps, take({1.f, 2.f, 0.5f, 1.5f}), false),
          leaf(xs, pattern(n, 5, 7, 3, 4.f), false)};
}

struct Expected {
  std::vector<float> y, mean, var, dx, dbeta, dgamma;
};

// Forward, then backward of Σ y·dy from zeroed gradients, against `want`.
void check_case(const Shape_t& xs, int axis, bool batch_stat, const Expected& want) {
  Bn in = nnabla_inputs(xs, axis);
  auto y = f::batch_normalization(in.x, in.beta, in.gamma, in.mean, in.variance, {axis}, 0.9f, 1e-5f, batch_stat);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), want.y, 2e-6);
  if (batch_stat) {
    CHECK_ALL_NEAR(data_of(in.mean), want.mean, 1e-6);
    CHECK_ALL_NEAR(data_of(in.variance), want.var, 1e-6);
  }
  y->backward(in.dy->variable()->data());
  CHECK_ALL_NEAR(grad_of(in.x), want.dx, 2e-6);
  CHECK_ALL_NEAR(grad_of(in.beta), want.dbeta, 1e-6);
  CHECK_ALL_NEAR(grad_of(in.gamma), want.dgamma, 2e-6);
}

// The naive definition in double: y, and the running statistics after one
// forward with batch statistics. x: (outer, C, inner).
struct Naive {
  std::vector<double> y, mean, var;
};
Naive naive_bn(const std::vector<float>& x, const std::vector<float>& beta, const std::vector<float>& gamma,
               const std::vector<float>& rmean, const std::vector<float>& rvar, int64_t outer, int64_t C,
               int64_t inner, bool batch_stat, double decay, double eps) {
  Naive r{std::vector<double>(x.size()), {}, {}};
  const double M = double(outer * inner);
  for (int64_t c = 0; c < C; ++c) {
    double mu = rmean[c], var = rvar[c];
    if (batch_stat) {
      double s = 0, s2 = 0;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < inner; ++j) s += x[(o * C + c) * inner + j];
      mu = s / M;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < inner; ++j) s2 += std::pow(x[(o * C + c) * inner + j] - mu, 2);
      var = s2 / M;
      r.mean.push_back(decay * rmean[c] + (1 - decay) * mu);
      r.var.push_back(decay * rvar[c] + (1 - decay) * var * M / (M - 1));
    }
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t i = (o * C + c) * inner + j;
        r.y[i] = (x[i] - mu) / std::sqrt(var + eps) * gamma[c] + beta[c];
      }
  }
  return r;
}

}  // namespace

// Reference values computed with NNabla 1.39.0 on CPU:
// F.batch_normalization(x, beta, gamma, mean, variance, axes=[axis],
// decay_rate=0.9, eps=1e-5, batch_stat) on the inputs of nnabla_inputs,
// then F.sum(y * dy).backward(); mean and variance read after the forward.
TEST(batch_normalization_matches_nnabla_4d) {
  check_case({2, 3, 2, 2}, 1, true,
             {{-2.507936f, 0.6669426f, -1.1472737f, 2.0276046f, -0.005449906f, -0.69718361f, 0.51335037f,
               -0.17838332f, 1.2370353f, -0.94938034f, 0.30000001f, 1.5493803f, 0.6669426f, -1.1472737f, 2.0276046f,
               0.21338852f, -0.69718361f, 0.51335037f, -0.17838332f, -0.87011701f, -0.94938034f, 0.30000001f,
               1.5493803f, -0.63703519f},
              {0.19874999f, -0.093125001f, -0.025000006f},
              {0.97812498f, 1.8597097f, 0.52321428f},
              {-1.0444715f, 1.1144474f, 0.26954007f, -0.74641943f, 0.52138531f, 0.012608606f, -0.048165981f,
               -0.55694264f, -0.24283463f, -0.4180401f, 0.6637333f, -0.44090885f, 0.66089332f, -0.18401399f,
               -1.1999733f, 1.1299976f, -0.16032481f, -0.22109939f, 0.48065785f, -0.028118853f, -0.105695f,
               0.97607833f, -0.12856382f, -0.30376929f},
              {-1.f, 0.5f, 0.25f},
              {0.22677699f, -1.3618507f, -2.3425879f}});
  check_case({2, 3, 2, 2}, 1, false,
             {{-2.0749893f, 0.54999775f, -0.94999468f, 1.6749921f, -0.076256633f, -0.42980912f, 0.18890776f,
               -0.16464475f, 1.7141993f, -0.7606495f, 0.65354985f, 2.0677493f, 0.54999775f, -0.94999468f, 1.6749921f,
               0.17499962f, -0.42980912f, 0.18890776f, -0.16464475f, -0.51819724f, -0.7606495f, 0.65354985f,
               2.0677493f, -0.40709966f},
              {},
              {},
              {-1.1249944f, 0.74999624f, 0.f, -0.74999624f, 0.26516438f, 0.08838813f, -0.08838813f, -0.26516438f,
               -0.70709968f, -0.f, 0.70709968f, -1.0606495f, 0.37499812f, -0.37499812f, -1.1249944f, 0.74999624f, 0.f,
               -0.17677626f, 0.26516438f, 0.08838813f, 0.35354984f, 1.0606495f, -0.70709968f, -0.f},
              {-1.f, 0.5f, 0.25f},
              {0.19999906f, -0.67174983f, -2.7400112f}});
}

TEST(batch_normalization_matches_nnabla_2d_and_last_axis) {
  check_case({5, 3}, 1, true,
             {{-2.7780786f, 0.50707847f, 0.35643291f, 1.4543898f, 0.15353923f, 0.63859749f, 1.031143f, -0.2f,
               0.920762f, 0.60789621f, -0.55353922f, 1.2029265f, 0.18464938f, -0.90707844f, -1.6187189f},
              {0.22499999f, -0.089999996f, -0.045000009f},
              {0.99812502f, 1.815625f, 0.54812503f},
              {-0.29654935f, 6.2152743e-05f, 0.20128894f, -0.68204415f, 0.74246347f, 0.07907553f, -0.17792317f,
               -0.98990983f, -0.043137908f, 0.3261978f, -0.24750854f, -0.16535133f, 0.83031875f, 0.49489278f,
               -0.071875274f},
              {-1.25f, -0.25f, 0.75f},
              {0.84649378f, 1.9444658f, -2.5112643f}});
  check_case({5, 3}, 1, false,
             {{-2.0749893f, 0.012131512f, 1.0070996f, 1.6749921f, -0.076256633f, 1.3606496f, 1.2999941f, -0.16464475f,
               1.7141993f, 0.92499596f, -0.25303289f, 2.0677493f, 0.54999775f, -0.34142101f, -1.4677494f},
              {},
              {},
              {-1.1249944f, 0.17677626f, -0.f, -0.74999624f, 0.26516438f, -0.35354984f, -0.37499812f, -0.26516438f,
               -0.70709968f, 0.f, -0.17677626f, -1.0606495f, 0.37499812f, -0.08838813f, 1.0606495f},
              {-1.25f, -0.25f, 0.75f},
              {0.43749791f, 0.46845707f, -3.6238856f}});
  check_case({2, 3, 4}, 2, true,
             {{-1.8297865f, 0.085172608f, 0.93058842f, 3.0574212f, 1.0648932f, -0.86540276f, -0.81565636f,
               0.1470136f, -1.3473399f, 0.27528769f, 0.63954759f, -2.7633944f, 1.5473399f, -0.67528772f, -1.1066971f,
               0.72909516f, -0.86489326f, 0.46540278f, 0.34850681f, -2.1813128f, 2.0297866f, -0.48517263f,
               1.8037107f, 1.3111768f},
              {0.15499999f, -0.077499993f, 0.0041666678f, 0.35583332f},
              {0.97249997f, 1.8518749f, 0.53854167f, 1.4385417f},
              {-1.2421676f, 0.47872344f, 0.19037169f, -0.12191021f, 1.1035303f, 0.27715591f, -0.18009712f,
               -1.8065077f, 1.0785686f, 0.10078377f, 0.66220158f, 0.58346558f, 0.047140136f, -0.10078376f,
               0.29173279f, 1.3244032f, 0.022178411f, -0.27715591f, -0.90325385f, -0.36019427f, -1.0092502f,
               -0.47872341f, -0.060955096f, 0.38074335f},
              {0.5f, -0.75f, -0.25f, 0.25f},
              {0.88448548f, -0.047528744f, -1.9523985f, -1.9523985f}});
}

// Odd sizes, several channels and threads' worth of values, against the
// naive definition; then two forwards move the running statistics twice.
TEST(batch_normalization_matches_naive_reference_on_odd_sizes) {
  struct Case {
    Shape_t shape;
    int64_t outer, C, inner;
  };
  for (const Case& c : {Case{{3, 5, 7}, 3, 5, 7}, Case{{7, 5}, 7, 5, 1}, Case{{2, 3, 33, 35}, 2, 3, 33 * 35},
                        Case{{129, 67}, 129, 67, 1}}) {
    for (bool batch_stat : {true, false}) {
      Shape_t ps = c.shape;
      for (size_t d = 0; d < ps.size(); ++d) ps[d] = d == 1 ? c.C : 1;
      auto x = random_leaf(c.shape, -3.f, 5.f, 3);
      auto beta = random_leaf(ps, -1.f, 1.f, 4), gamma = random_leaf(ps, 0.5f, 2.f, 5);
      auto mean = random_leaf(ps, -1.f, 1.f, 6, false), var = random_leaf(ps, 0.5f, 3.f, 7, false);
      auto m0 = data_of(mean), v0 = data_of(var);
      auto y = f::batch_normalization(x, beta, gamma, mean, var, {1}, 0.8f, 1e-3f, batch_stat);
      y->forward();
      Naive want = naive_bn(data_of(x), data_of(beta), data_of(gamma), m0, v0, c.outer, c.C, c.inner, batch_stat,
                            0.8f, 1e-3f);
      CHECK_ALL_NEAR(data_of(y), want.y, 1e-5);
      if (!batch_stat) {
        CHECK_ALL_NEAR(data_of(mean), m0, 0);
        CHECK_ALL_NEAR(data_of(var), v0, 0);
        continue;
      }
      CHECK_ALL_NEAR(data_of(mean), want.mean, 1e-6);
      CHECK_ALL_NEAR(data_of(var), want.var, 1e-6);
      y->forward();  // the same batch again: the running values move towards it again
      Naive again = naive_bn(data_of(x), data_of(beta), data_of(gamma), data_of(mean), data_of(var), c.outer, c.C,
                             c.inner, true, 0.8f, 1e-3f);
      CHECK_ALL_NEAR(data_of(y), again.y, 1e-5);
    }
  }
}

// elu or relu after batch_normalization runs as its forward's epilogue (ResNet's
// bn → elu): y, the activation, the running statistics and every gradient
// are those of separate calls, with batch statistics and the running ones,
// on the (outer, C, inner) and (outer, C) layouts, on 1 and 2 threads.
TEST(batch_normalization_fuses_the_activation_after_it) {
  using Activation = std::function<CgVariablePtr(CgVariablePtr)>;
  const std::vector<std::pair<std::string, Activation>> activations{
      {"elu", [](CgVariablePtr v) { return f::elu(v, 1.0); }},
      {"relu", [](CgVariablePtr v) { return f::relu(v, false); }}};
  const int saved_threads = get_num_threads();
  for (const Shape_t& xs : {Shape_t{3, 5, 7}, Shape_t{7, 5}, Shape_t{16, 8, 20, 20}})
    for (bool batch_stat : {true, false})
      for (const auto& [name, act] : activations)
        for (int threads : {1, 2}) {
          set_num_threads(threads);
          Shape_t ps(xs.size(), 1);
          ps[1] = xs[1];
          // One step on a graph built afresh (the running statistics move).
          auto run = [&, act = act](bool fused) {
            set_fusion(fused);
            auto x = random_leaf(xs, -3.f, 5.f, 3);
            auto beta = random_leaf(ps, -1.f, 1.f, 4), gamma = random_leaf(ps, 0.5f, 2.f, 5);
            auto mean = random_leaf(ps, -1.f, 1.f, 6, false), var = random_leaf(ps, 0.5f, 3.f, 7, false);
            auto y = f::batch_normalization(x, beta, gamma, mean, var, {1}, 0.8f, 1e-3f, batch_stat);
            auto z = act(y);
            auto dz = random_leaf(xs, -1.f, 1.f, 8, false);
            z->forward();
            z->backward(dz->variable()->data());
            set_fusion(true);
            return std::vector<std::vector<float>>{data_of(y),     data_of(z),    data_of(mean),  data_of(var),
                                                   grad_of(x),     grad_of(beta), grad_of(gamma)};
          };
          auto plain = run(false);
          profiling::reset();
          profiling::set_enabled(true);
          auto fused = run(true);
          profiling::set_enabled(false);
          for (size_t i = 0; i < plain.size(); ++i) CHECK_ALL_NEAR(fused[i], plain[i], 0);
          int64_t fused_calls = 0;
          for (auto& e : profiling::report())
            if (e.name == "batch_normalization+" + name) fused_calls = e.forward_calls;
          CHECK_EQ(fused_calls, int64_t(1));
        }
  set_num_threads(saved_threads);
}

// Values far from zero and close together (a channel with a large offset):
// the statistics keep their precision.
TEST(batch_normalization_statistics_of_offset_values) {
  auto x = random_leaf({64, 2, 9}, 999.f, 1001.f, 51);
  auto ones = leaf({1, 2, 1}, {1.f, 1.f}), zeros = leaf({1, 2, 1}, {0.f, 0.f});
  auto mean = leaf({1, 2, 1}, {0.f, 0.f}, false), var = leaf({1, 2, 1}, {1.f, 1.f}, false);
  auto y = f::batch_normalization(x, zeros, ones, mean, var, {1}, 0.f, 0.f);
  y->forward();
  Naive want = naive_bn(data_of(x), {0, 0}, {1, 1}, {0, 0}, {1, 1}, 64, 2, 9, true, 0.0, 0.0);
  CHECK_ALL_NEAR(data_of(y), want.y, 2e-4);
  CHECK_ALL_NEAR(data_of(mean), want.mean, 1e-6);
  CHECK_ALL_NEAR(data_of(var), want.var, 1e-4);
  // Rows longer than the runs summed in float (4096 values), offset too:
  // the statistics and the gradient sums stay as precise.
  auto xl = random_leaf({2, 2, 30001}, 999.f, 1001.f, 52);
  auto ml = leaf({1, 2, 1}, {0.f, 0.f}, false), vl = leaf({1, 2, 1}, {1.f, 1.f}, false);
  auto yl = f::batch_normalization(xl, zeros, ones, ml, vl, {1}, 0.f, 0.f);
  yl->forward();
  Naive wl = naive_bn(data_of(xl), {0, 0}, {1, 1}, {0, 0}, {1, 1}, 2, 2, 30001, true, 0.0, 0.0);
  CHECK_ALL_NEAR(data_of(ml), wl.mean, 1e-6);
  CHECK_ALL_NEAR(data_of(vl), wl.var, 1e-4);
  CHECK_ALL_NEAR(data_of(yl), wl.y, 2e-4);
  auto ol = leaf({1, 2, 1}, {1.f, 1.f}), zl = leaf({1, 2, 1}, {0.f, 0.f});
  auto yg = f::batch_normalization(xl, zl, ol, ml, vl, {1}, 0.f, 0.f);
  yg->forward();
  auto dy = random_leaf(xl->shape(), -1.f, 1.f, 53, false);
  yg->backward(dy->variable()->data());
  const std::vector<float> xv = data_of(xl), dv = data_of(dy);
  std::vector<double> dbeta(2, 0.0), dgamma(2, 0.0);
  for (int64_t o = 0; o < 2; ++o)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t j = 0; j < 30001; ++j) {
        const int64_t i = (o * 2 + c) * 30001 + j;
        dbeta[c] += dv[i];
        dgamma[c] += dv[i] * (xv[i] - wl.mean[c]) / std::sqrt(wl.var[c]);
      }
  CHECK_ALL_NEAR(grad_of(zl), dbeta, 1e-4);
  CHECK_ALL_NEAR(grad_of(ol), dgamma, 1e-3);
}

TEST(batch_normalization_gradients_by_finite_differences) {
  // Batch statistics: the gradient runs through the mean and variance too.
  for (const Shape_t& s : {Shape_t{3, 4, 5}, Shape_t{5, 3}, Shape_t{1, 2, 3, 3}}) {
    Shape_t ps(s.size(), 1);
    ps[1] = s[1];
    auto x = random_leaf(s, -2.f, 2.f, 11);
    auto beta = random_leaf(ps, -1.f, 1.f, 12), gamma = random_leaf(ps, 0.5f, 1.5f, 13);
    auto mean = random_leaf(ps, -1.f, 1.f, 14, false), var = random_leaf(ps, 0.5f, 2.f, 15, false);
    auto y = f::batch_normalization(x, beta, gamma, mean, var);
    CHECK_GRADIENTS(y, {x, beta, gamma});
    auto z = f::batch_normalization(x, beta, gamma, mean, var, {1}, 0.9f, 1e-5f, false);
    CHECK_GRADIENTS(z, {x, beta, gamma});
  }
  // Last axis, and without scale or bias.
  auto x = random_leaf({4, 3}, -2.f, 2.f, 21);
  auto mean = leaf({1, 3}, {0, 0, 0}, false), var = leaf({1, 3}, {1, 1, 1}, false);
  auto beta = random_leaf({1, 3}, -1.f, 1.f, 22);
  auto y = f::batch_normalization(x, beta, nullptr, mean, var, {-1}, 0.9f, 1e-5f, true, true, false);
  CHECK_GRADIENTS(y, {x, beta});
  auto gamma = random_leaf({1, 3}, 0.5f, 1.5f, 23);
  auto z = f::batch_normalization(x, nullptr, gamma, mean, var, {1}, 0.9f, 1e-5f, true, false, true);
  CHECK_GRADIENTS(z, {x, gamma});
}

// One sample goes through with the running statistics (test time), and with
// batch statistics when it has several values per channel (an image).
TEST(batch_normalization_one_sample) {
  auto x = leaf({1, 3}, {1.f, 2.f, 3.f});
  auto beta = leaf({1, 3}, {0.5f, 0.f, -0.5f}), gamma = leaf({1, 3}, {2.f, 1.f, 1.f});
  auto mean = leaf({1, 3}, {1.f, 0.f, 1.f}, false), var = leaf({1, 3}, {4.f, 1.f, 0.25f}, false);
  auto y = f::batch_normalization(x, beta, gamma, mean, var, {1}, 0.9f, 0.f, false);
  y->forward();
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({0.5f, 2.f, 3.5f}), 1e-6);
  backward_ones(y);
  CHECK_ALL_NEAR(grad_of(x), std::vector<float>({1.f, 1.f, 2.f}), 1e-6);
  CHECK_ALL_NEAR(grad_of(gamma), std::vector<float>({0.f, 2.f, 4.f}), 1e-6);

  auto img = leaf({1, 1, 2, 2}, {1.f, 3.f, 1.f, 3.f});
  auto m1 = leaf({1, 1, 1, 1}, {0.f}, false), v1 = leaf({1, 1, 1, 1}, {1.f}, false);
  auto b1 = leaf({1, 1, 1, 1}, {0.f}), g1 = leaf({1, 1, 1, 1}, {1.f});
  auto yi = f::batch_normalization(img, b1, g1, m1, v1, {1}, 0.5f, 0.f, true);
  yi->forward();
  CHECK_ALL_NEAR(data_of(yi), std::vector<float>({-1.f, 1.f, -1.f, 1.f}), 1e-6);
  // Running variance: the unbiased 4/3 of the batch's 1.
  CHECK_ALL_NEAR(data_of(m1), std::vector<float>({1.f}), 1e-6);
  CHECK_ALL_NEAR(data_of(v1), std::vector<float>({0.5f + 0.5f * 4.f / 3.f}), 1e-6);
}

TEST(batch_normalization_bad_input_names_function_argument_and_shapes) {
  auto p3 = [](float v, bool g = true) { return leaf({1, 3}, {v, v, v}, g); };
  auto x = random_leaf({1, 3}, -1.f, 1.f, 1);
  CHECK_THROWS_WITH(f::batch_normalization(x, p3(0), p3(1), p3(0, false), p3(1, false)),
                    "batch_normalization: batch statistics need at least 2 values per channel, but x of shape (1, 3) "
                    "has 1");
  auto x4 = random_leaf({2, 3, 2, 2}, -1.f, 1.f, 2);
  auto ok = [](float v, bool g = true) { return leaf({1, 3, 1, 1}, {v, v, v}, g); };
  CHECK_THROWS_WITH(f::batch_normalization(x4, p3(0), ok(1), ok(0, false), ok(1, false)),
                    "batch_normalization: beta has shape (1, 3) but x of shape (2, 3, 2, 2) normalised over axis 1 "
                    "needs (1, 3, 1, 1)");
  CHECK_THROWS_WITH(f::batch_normalization(x4, ok(0), leaf({1, 2, 1, 1}, {1, 1}), ok(0, false), ok(1, false)),
                    "gamma has shape (1, 2, 1, 1)");
  CHECK_THROWS_WITH(f::batch_normalization(x4, ok(0), ok(1), leaf({3}, {0, 0, 0}, false), ok(1, false)),
                    "mean has shape (3,)");
  CHECK_THROWS_WITH(f::batch_normalization(x4, ok(0), ok(1), ok(0, false), leaf({1, 3, 2, 1}, iota(6), false)),
                    "variance has shape (1, 3, 2, 1)");
  CHECK_THROWS_WITH(f::batch_normalization(x4, ok(0), ok(1), ok(0, false), ok(1, false), {1, 2}),
                    "batch_normalization: axes must name exactly one axis (the channel axis), got {1, 2}");
  CHECK_THROWS_WITH(f::batch_normalization(x4, ok(0), ok(1), ok(0, false), ok(1, false), {4}),
                    "batch_normalization: axis 4 is out of range for shape (2, 3, 2, 2)");
  CHECK_THROWS_WITH(f::batch_normalization(x4, nullptr, ok(1), ok(0, false), ok(1, false)),
                    "batch_normalization: beta is null (pass no_bias = true");
  CHECK_THROWS_WITH(f::batch_normalization(x4, ok(0), ok(1), nullptr, ok(1, false)), "the running mean is null");
  CHECK_THROWS_WITH(f::batch_normalization(x4, ok(0), ok(1), ok(0, false), ok(1, false), {1}, 0.9f, -1.f),
                    "eps must be >= 0");
  // The running statistics take no gradient.
  auto y = f::batch_normalization(x4, ok(0), ok(1), ok(0, true), ok(1, false));
  y->forward();
  CHECK_THROWS_WITH(backward_ones(y), "batch_normalization has no gradient with respect to input 3");

  // pf: parameters of another shape already under the name, one sample.
  ParameterDirectory params;
  pf::batch_normalization(x4, true, params["bn1"]);
  auto x5 = random_leaf({2, 5, 2, 2}, -1.f, 1.f, 3);
  CHECK_THROWS_WITH(pf::batch_normalization(x5, true, params["bn1"]),
                    "pf::batch_normalization: parameter bn1/bn/beta exists with shape (1, 3, 1, 1) but shape "
                    "(1, 5, 1, 1) was asked for (input shape (2, 5, 2, 2), channel axis 1)");
  CHECK_THROWS_WITH(pf::batch_normalization(x, true, params["bn2"]),
                    "batch statistics need at least 2 values per channel");
  CHECK_THROWS_WITH(pf::batch_normalization(x4, true, params, pf::BatchNormalizationOpts().axes({-5})),
                    "pf::batch_normalization: axis -5 is out of range for input shape (2, 3, 2, 2)");
}

// pf::batch_normalization: NNabla's C++ names, shapes, initial values and
// need_grad; the running statistics are parameters a solver leaves alone and
// the parameter file keeps.
TEST(pf_batch_normalization_parameters) {
  ParameterDirectory params;
  auto x = random_leaf({4, 3, 2, 2}, -1.f, 3.f, 8);
  auto y = pf::batch_normalization(x, true, params["conv1"]);
  auto ps = params.get_parameters();
  CHECK_EQ(ps.size(), size_t(4));
  const char* names[] = {"conv1/bn/beta", "conv1/bn/gamma", "conv1/bn/mean", "conv1/bn/variance"};
  const float init[] = {0.f, 1.f, 0.f, 1.f};
  for (int i = 0; i < 4; ++i) {
    CHECK_EQ(ps[i].first, std::string(names[i]));
    CHECK_EQ(shape_str(ps[i].second->shape()), std::string("(1, 3, 1, 1)"));
    CHECK_EQ(params.get_parameter(names[i])->need_grad(), i < 2);
    const float* d = ps[i].second->data()->cast<float>(cpu());
    for (int c = 0; c < 3; ++c) CHECK_EQ(d[c], init[i]);
  }
  // A second call reuses them.
  auto y2 = pf::batch_normalization(x, false, params["conv1"]);
  CHECK_EQ(params.get_parameters().size(), size_t(4));

  // One Adam step: beta and gamma move, the running statistics only by the forward.
  auto adam = create_AdamSolver(cpu(), 0.1f);
  adam->set_parameters(params.get_parameters());
  adam->zero_grad();
  auto loss = f::sum(f::pow_scalar(y - 1.0, 2.0));
  loss->forward();
  auto after_forward = data_of(params.get_parameter("conv1/bn/mean"));
  auto var_after_forward = data_of(params.get_parameter("conv1/bn/variance"));
  backward_ones(loss);
  adam->update();
  CHECK_ALL_NEAR(data_of(params.get_parameter("conv1/bn/mean")), after_forward, 0);
  CHECK_ALL_NEAR(data_of(params.get_parameter("conv1/bn/variance")), var_after_forward, 0);
  for (float b : data_of(params.get_parameter("conv1/bn/beta"))) CHECK(std::fabs(b) > 0.05f);

  // Saved and loaded with the others, need_grad included.
  const std::string path = "/tmp/nnvae_test_bn_" + std::to_string(::getpid()) + ".protobuf";
  save_parameters(params, path);
  ParameterDirectory loaded;
  load_parameters(loaded, path);
  std::remove(path.c_str());
  for (int i = 0; i < 4; ++i) {
    auto v = loaded.get_parameter(names[i]);
    CHECK(v != nullptr);
    CHECK_EQ(v->need_grad(), i < 2);
    CHECK_ALL_NEAR(data_of(v), data_of(params.get_parameter(names[i])), 0);
  }
  // pf on the loaded directory takes the saved running statistics at test time.
  auto yt = pf::batch_normalization(x, false, loaded["conv1"]);
  y2->forward();
  yt->forward();
  CHECK_ALL_NEAR(data_of(yt), data_of(y2), 0);
}

TEST(pf_batch_normalization_options) {
  ParameterDirectory params;
  auto x = random_leaf({6, 4}, -1.f, 1.f, 9);
  pf::BatchNormalizationOpts opts = pf::BatchNormalizationOpts().decay_rate(0.5f).eps(1e-3f).fix_parameters(true);
  CHECK_EQ(pf::BatchNormalizationOpts().decay_rate(), 0.9f);
  CHECK_EQ(pf::BatchNormalizationOpts().eps(), 1e-5f);
  CHECK_EQ(pf::BatchNormalizationOpts().axes().size(), size_t(1));
  auto y = pf::batch_normalization(x, true, params, opts);
  y->forward();
  Naive want = naive_bn(data_of(x), {0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 0, 0}, {1, 1, 1, 1}, 6, 4, 1, true, 0.5, 1e-3);
  CHECK_ALL_NEAR(data_of(y), want.y, 1e-5);
  CHECK_ALL_NEAR(data_of(params.get_parameter("bn/mean")), want.mean, 1e-6);
  // fix_parameters: no gradient reaches beta and gamma, which stay learnable parameters.
  auto l = f::sum(y * y);
  l->forward();
  backward_ones(l);
  CHECK(params.get_parameter("bn/beta")->need_grad());
  CHECK(params.get_parameter("bn/beta")->variable()->grad()->reads_as_zero());
  CHECK(params.get_parameter("bn/gamma")->variable()->grad()->reads_as_zero());
  CHECK(x->variable()->grad()->allocated());
}

// With auto-forward, each call runs at once and moves the running statistics.
TEST(batch_normalization_dynamic_graph) {
  set_auto_forward(true);
  ParameterDirectory params;
  auto x = leaf({2, 1}, {1.f, 3.f});
  auto y = pf::batch_normalization(x, true, params);
  set_auto_forward(false);
  CHECK_ALL_NEAR(data_of(y), std::vector<float>({-1.f, 1.f}), 1e-5);
  CHECK_ALL_NEAR(data_of(params.get_parameter("bn/mean")), std::vector<float>({0.2f}), 1e-6);
  CHECK_ALL_NEAR(data_of(params.get_parameter("bn/variance")), std::vector<float>({0.9f + 0.1f * 2.f}), 1e-6);
}

TEST(pf_options_start_from_the_function_tables_defaults) {
  const nnvae::FunctionRow* row = nnvae::find_function("batch_normalization");
  CHECK(row != nullptr);
  std::map<std::string, std::string> given;
  for (const auto& a : row->arguments)
    if (a.default_value) given[a.name] = a.default_value;
  const pf::BatchNormalizationOpts opts;
  CHECK(given["axes"] == "{1}" && opts.axes() == std::vector<int>({1}));
  CHECK(std::stof(given["decay_rate"]) == opts.decay_rate());
  CHECK(std::stof(given["eps"]) == opts.eps());
}

NNVAE_TEST_MAIN()
