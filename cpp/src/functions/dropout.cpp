// dropout: y = x·m, with m = 1/(1 − p) where a uniform draw u >= p (kept,
// probability 1 − p) and m = 0 elsewhere; a new mask at each forward.
// Backward: dx (+)= dy·m with the mask of the last forward.
#include "common.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/random.hpp"

namespace nnvae {
namespace {

class Dropout : public Function {
 public:
  Dropout(double p, int seed) : p_(p), seed_(seed) {
    if (seed_ != -1) own_.seed(static_cast<uint32_t>(seed_));
  }
  std::string name() const override { return "dropout"; }
  Shape_t setup(const std::vector<Shape_t>& in) override { return in[0]; }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    GeneratorUse shared;  // this thread's generator, locked if process-wide
    Generator& g = seed_ == -1 ? shared.get() : own_;
    const float* x = detail::in_data(in[0]);
    float* y = detail::out_data(out);
    const int64_t n = out->size();
    const float scale = static_cast<float>(1.0 / (1.0 - p_)), p = static_cast<float>(p_);
    mask_.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      mask_[i] = g.uniform() >= p ? scale : 0.f;
      y[i] = x[i] * mask_[i];
    }
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    if (static_cast<int64_t>(mask_.size()) != out->size())
      detail::shape_error("dropout: backward before any forward (no mask yet)");
    const float* dy = detail::in_grad(out);
    float* dx = detail::in_grad_for(in[0], acc[0]);
    for (int64_t i = 0; i < out->size(); ++i) dx[i] = (acc[0] ? dx[i] : 0.f) + dy[i] * mask_[i];
  }
  bool backward_needs_input_data(int) const override { return false; }

 private:
  double p_;
  int seed_;
  Generator own_;
  std::vector<float> mask_;  // 0 or 1/(1 − p), from the last forward
};

}  // namespace

CgVariablePtr functions::dropout(CgVariablePtr x, double p, int seed) {
  detail::check_seed("dropout", seed);
  if (!(p >= 0.0 && p < 1.0)) detail::shape_error("dropout: p must be in [0, 1), got " + std::to_string(p));
  return connect(std::make_unique<Dropout>(p, seed), {std::move(x)});
}

}  // namespace nnvae
