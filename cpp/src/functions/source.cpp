// Functions without inputs: randn, rand, constant. They have no gradient.
#include "common.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/random.hpp"

namespace nnvae {
namespace {

// Draws from the global generator (seed -1) or from its own, seeded once.
class RandomSource : public Function {
 public:
  RandomSource(std::string name, bool normal, float a, float b, Shape_t shape, int seed)
      : name_(std::move(name)), normal_(normal), a_(a), b_(b), shape_(std::move(shape)), seed_(seed) {
    if (seed_ != -1) own_.seed(static_cast<uint32_t>(seed_));
  }
  std::string name() const override { return name_; }
  Shape_t setup(const std::vector<Shape_t>&) override { return shape_; }
  void forward(const std::vector<Variable*>&, Variable* out) override {
    GeneratorUse shared;  // this thread's generator, locked if process-wide
    Generator& g = seed_ == -1 ? shared.get() : own_;
    float* y = detail::out_data(out);
    int64_t n = out->size();
    if (normal_)
      g.normals(y, n, a_, b_);
    else
      for (int64_t i = 0; i < n; ++i) y[i] = a_ + (b_ - a_) * g.uniform();
  }
  void backward(const std::vector<Variable*>&, Variable*, const std::vector<bool>&,
                const std::vector<bool>&) override {}

 private:
  std::string name_;
  bool normal_;
  float a_, b_;
  Shape_t shape_;
  int seed_;
  Generator own_;
};

class Constant : public Function {
 public:
  Constant(float value, Shape_t shape) : value_(value), shape_(std::move(shape)) {}
  std::string name() const override { return "constant"; }
  Shape_t setup(const std::vector<Shape_t>&) override { return shape_; }
  void forward(const std::vector<Variable*>&, Variable* out) override { out->data()->fill(value_); }
  void backward(const std::vector<Variable*>&, Variable*, const std::vector<bool>&,
                const std::vector<bool>&) override {}

 private:
  float value_;
  Shape_t shape_;
};

}  // namespace

CgVariablePtr functions::randn(float mu, float sigma, const std::vector<int>& shape, int seed) {
  detail::check_seed("randn", seed);
  if (!(sigma >= 0)) detail::shape_error("randn: sigma must be >= 0, got " + std::to_string(sigma));
  return connect(std::make_unique<RandomSource>("randn", true, mu, sigma, detail::to_shape("randn", shape), seed), {});
}
CgVariablePtr functions::rand(float low, float high, const std::vector<int>& shape, int seed) {
  detail::check_seed("rand", seed);
  if (!(high >= low))
    detail::shape_error("rand: high (" + std::to_string(high) + ") must be >= low (" + std::to_string(low) + ")");
  return connect(std::make_unique<RandomSource>("rand", false, low, high, detail::to_shape("rand", shape), seed), {});
}
CgVariablePtr functions::constant(float val, const std::vector<int>& shape) {
  return connect(std::make_unique<Constant>(val, detail::to_shape("constant", shape)), {});
}

}  // namespace nnvae
