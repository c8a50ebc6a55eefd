// Test helpers shared by the engine tests: building leaves from values,
// reading values back, and checking backward against central finite
// differences.
//
// The gradient check: for a graph output y and leaves x_k, take the scalar
// L = Σ_i r_i·y_i with fixed pseudo-random weights r (so every output element
// carries a different upstream gradient). The analytic gradient is what
// backward() leaves in x_k's grad when seeded with r; the numeric one is
// (L(x + h·e_j) − L(x − h·e_j)) / 2h for every element j, with L summed in
// double from the float32 forward values. Forward is float32, so the
// tolerance is |analytic − numeric| <= atol + rtol·|numeric| with atol a few
// 1e-3 (rounding of L divided by 2h) rather than double-precision tight.
//
// The check also runs backward a second time without zeroing: leaves
// accumulate, so every gradient must come out exactly doubled.
#pragma once
#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nnvae/nnvae.hpp>

#include "check.hpp"

namespace nnvae_test {

inline const nnvae::Context& cpu() {
  static const nnvae::Context ctx{{"cpu:float"}, "CpuCachedArray", "0"};
  return ctx;
}

// A leaf of `shape` holding `values` (row-major; sizes must agree).
inline nnvae::CgVariablePtr leaf(const nnvae::Shape_t& shape, const std::vector<float>& values,
                                 bool need_grad = true) {
  auto v = std::make_shared<nnvae::CgVariable>(shape, need_grad);
  if (static_cast<int64_t>(values.size()) != v->variable()->size()) {
    std::ostringstream os;
    os << "leaf: " << values.size() << " values for shape " << nnvae::shape_str(shape);
    throw Failure{os.str()};
  }
  float* p = v->variable()->cast_data_and_get_pointer<float>(cpu(), true);
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return v;
}

// A leaf of `shape` with values lo + (hi − lo)·u, u uniform from `seed`.
inline nnvae::CgVariablePtr random_leaf(const nnvae::Shape_t& shape, float lo, float hi, uint32_t seed,
                                        bool need_grad = true) {
  nnvae::Generator g(seed);
  std::vector<float> values(static_cast<size_t>(nnvae::shape_size(shape)));
  for (auto& x : values) x = lo + (hi - lo) * g.uniform();
  return leaf(shape, values, need_grad);
}

inline std::vector<float> data_of(const nnvae::CgVariablePtr& v) {
  const float* p = v->variable()->cast_data_and_get_pointer<float>(cpu());
  return std::vector<float>(p, p + v->variable()->size());
}
inline std::vector<float> grad_of(const nnvae::CgVariablePtr& v) {
  const float* p = v->variable()->cast_grad_and_get_pointer<float>(cpu());
  return std::vector<float>(p, p + v->variable()->size());
}
inline float scalar_of(const nnvae::CgVariablePtr& v) { return data_of(v).at(0); }

// Seeds v's gradient with ones and back-propagates.
inline void backward_ones(const nnvae::CgVariablePtr& v, bool clear_buffer = false) {
  v->variable()->grad()->fill(1.0f);
  v->backward(nullptr, clear_buffer);
}

struct GradCheckOptions {
  double h = 1e-2;
  double atol = 3e-3;
  double rtol = 1e-2;
  uint32_t seed = 17;
};

// Returns "" when backward agrees with finite differences for every element
// of every input, and accumulates to exactly twice on a second pass;
// otherwise a description of the first mismatch.
inline std::string gradcheck(const nnvae::CgVariablePtr& y, const std::vector<nnvae::CgVariablePtr>& inputs,
                             GradCheckOptions opt = GradCheckOptions()) {
  using namespace nnvae;
  const int64_t n_out = y->variable()->size();
  // Upstream weights r in ±[0.5, 1.5): never near zero, mixed signs.
  Generator g(opt.seed);
  auto r = std::make_shared<NdArray>(y->shape());
  float* rp = r->cast<float>(cpu(), true);
  for (int64_t i = 0; i < n_out; ++i) rp[i] = (g.uniform() < 0.5f ? -1.f : 1.f) * (0.5f + g.uniform());

  auto loss = [&]() {
    y->forward();
    const float* yp = y->variable()->cast_data_and_get_pointer<float>(cpu());
    double s = 0;
    for (int64_t i = 0; i < n_out; ++i) s += double(rp[i]) * double(yp[i]);
    return s;
  };

  // Analytic gradients, then a second pass that must double them.
  for (auto& x : inputs) x->variable()->grad()->zero();
  y->forward();
  y->backward(r);
  std::vector<std::vector<float>> analytic;
  for (auto& x : inputs) analytic.push_back(grad_of(x));
  y->backward(r);
  for (size_t k = 0; k < inputs.size(); ++k) {
    auto twice = grad_of(inputs[k]);
    for (size_t j = 0; j < twice.size(); ++j)
      if (std::fabs(twice[j] - 2.f * analytic[k][j]) > 1e-5f * std::fmax(1.f, std::fabs(twice[j]))) {
        std::ostringstream os;
        os << "input " << k << " element " << j << ": second backward gave " << twice[j] << ", expected 2 x "
           << analytic[k][j];
        return os.str();
      }
  }

  for (size_t k = 0; k < inputs.size(); ++k) {
    float* xp = inputs[k]->variable()->cast_data_and_get_pointer<float>(cpu());
    for (int64_t j = 0; j < inputs[k]->variable()->size(); ++j) {
      const float saved = xp[j];
      xp[j] = static_cast<float>(saved + opt.h);
      double lp = loss();
      xp[j] = static_cast<float>(saved - opt.h);
      double lm = loss();
      xp[j] = saved;
      double numeric = (lp - lm) / (2 * opt.h);
      double a = analytic[k][j];
      if (!(std::fabs(a - numeric) <= opt.atol + opt.rtol * std::fabs(numeric))) {
        std::ostringstream os;
        os << "input " << k << " (shape " << shape_str(inputs[k]->shape()) << ") element " << j
           << ": analytic gradient " << a << " vs finite difference " << numeric;
        return os.str();
      }
    }
  }
  y->forward();  // leave the graph with the unperturbed values
  return "";
}

// --- inputs and references shared by the function tests

// 1, 2, ..., n as floats (or start, start + 1, ...).
inline std::vector<float> iota(int n, float start = 1.f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = start + float(i);
  return v;
}

// Applies `fn` (double) to each value: the reference of an elementwise function.
template <class Fn>
std::vector<double> map(const std::vector<float>& xs, Fn fn) {
  std::vector<double> out;
  for (float x : xs) out.push_back(fn(double(x)));
  return out;
}

// Values chosen away from the kinks of relu/elu (0) by more than the
// finite-difference step.
inline const std::vector<float> kMixed{-2.0f, -0.7f, -0.1f, 0.15f, 0.6f, 1.9f};

}  // namespace nnvae_test

// CHECK_GRADIENTS(y, {x, w}) or CHECK_GRADIENTS(y, {x}, options).
#define CHECK_GRADIENTS(y, ...)                                         \
  do {                                                                  \
    std::string gc_msg_ = nnvae_test::gradcheck(y, __VA_ARGS__);        \
    if (!gc_msg_.empty()) FAIL_AT("gradient check of " #y ": " << gc_msg_); \
  } while (0)

// Element-wise CHECK_NEAR over two float sequences.
#define CHECK_ALL_NEAR(got, want, tol)                                                       \
  do {                                                                                      \
    auto g_ = (got);                                                                        \
    auto w_ = (want);                                                                       \
    if (g_.size() != w_.size()) FAIL_AT(#got " has " << g_.size() << " values, expected " << w_.size()); \
    for (size_t i_ = 0; i_ < g_.size(); ++i_)                                               \
      if (!(std::fabs(double(g_[i_]) - double(w_[i_])) <= (tol) * std::fmax(1.0, std::fabs(double(w_[i_]))))) \
        FAIL_AT(#got "[" << i_ << "] = " << g_[i_] << ", expected " << w_[i_] << " (tol " << (tol) << ")"); \
  } while (0)
