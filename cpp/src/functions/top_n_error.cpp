// top_n_error along one axis. x is seen as (outer, K, inner), K the classes;
// target and y as (outer, 1, inner). For the line of K scores at (o, j) with
// label t: y = 1 when more than n of the scores are >= x[o, t, j] (the
// label's own score counts, so a tie with another class counts against it),
// else 0. A line holding NaN counts as an error (1): NaN compares false with
// everything, which would otherwise let it pass as a hit. No gradient.
#include <cmath>

#include "common.hpp"
#include "layout.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

// x: (outer, K, inner); labels: (outer, inner) in [0, K); y: (outer, inner).
void top_n_error(const float* x, const int64_t* labels, float* y, int64_t outer, int64_t K, int64_t inner, int64_t n) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const float* line = x + o * K * inner + j;
      const float score = line[labels[o * inner + j] * inner];
      int64_t at_least = 0;
      bool nan = false;
      for (int64_t i = 0; i < K; ++i) {
        at_least += line[i * inner] >= score;
        nan = nan || std::isnan(line[i * inner]);
      }
      y[o * inner + j] = at_least > n || nan ? 1.f : 0.f;
    }
}

}  // namespace kernels

namespace {

class TopNError : public Function {
 public:
  TopNError(int axis, int n) : axis_(axis), n_(n) {}
  std::string name() const override { return "top_n_error"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t& xs = in[0];
    axis_ = detail::normalize_axis(name(), axis_, static_cast<int>(xs.size()), xs);
    Shape_t want = xs;
    want[axis_] = 1;
    if (in[1] != want)
      detail::shape_error("top_n_error: target has shape " + shape_str(in[1]) + " but x has shape " + shape_str(xs) +
                          "; target must be x's shape with 1 at axis " + std::to_string(axis_) + ", i.e. " +
                          shape_str(want));
    K_ = xs[axis_];
    outer_ = inner_ = 1;
    for (int d = 0; d < axis_; ++d) outer_ *= xs[d];
    for (size_t d = axis_ + 1; d < xs.size(); ++d) inner_ *= xs[d];
    return want;
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* t = detail::in_data(in[1]);
    std::vector<int64_t> labels(outer_ * inner_);
    for (size_t k = 0; k < labels.size(); ++k) {
      const float v = t[k];
      if (!(v >= 0.f && v < float(K_) && v == std::floor(v)))
        detail::shape_error("top_n_error: target value " + std::to_string(v) + " at position " + std::to_string(k) +
                            " of target (shape " + shape_str(in[1]->shape()) + ") is not a class index of x (shape " +
                            shape_str(in[0]->shape()) + "): labels must be integers in [0, " + std::to_string(K_) +
                            "), the size of axis " + std::to_string(axis_));
      labels[k] = static_cast<int64_t>(v);
    }
    kernels::top_n_error(detail::in_data(in[0]), labels.data(), detail::out_data(out), outer_, K_, inner_, n_);
  }
  void backward(const std::vector<Variable*>&, Variable*, const std::vector<bool>&,
                const std::vector<bool>&) override {}
  bool differentiable(int) const override { return false; }
  bool backward_needs_input_data(int) const override { return false; }

 private:
  int axis_;
  int n_;
  int64_t outer_ = 1, K_ = 1, inner_ = 1;
};

}  // namespace

CgVariablePtr functions::top_n_error(CgVariablePtr x, CgVariablePtr target, int axis, int n) {
  if (!x || !target) detail::shape_error(std::string("top_n_error: ") + (x ? "target" : "x") + " is null");
  if (n < 1) detail::shape_error("top_n_error: n must be >= 1, got " + std::to_string(n));
  return connect(std::make_unique<TopNError>(axis, n), {std::move(x), std::move(target)});
}

}  // namespace nnvae
