// max and min over a set of axes, and the position of the extreme element.
// x: shape S; the reduced axes (sorted) form, for each output position o,
// a set of R elements at offsets base[o] + red[r], r in row-major order over
// the reduced axes. y[o] = the first extreme x among them, or (only_index)
// its r as a float. Backward: dx[base[o] + red[r*(o)]] (+)= dy[o].
#include <algorithm>

#include "layout.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

// arg[o] = the first r where x[base[o] + red[r]] is largest (is_max) or smallest.
void arg_extreme(const float* x, const std::vector<int64_t>& base, const std::vector<int64_t>& red, bool is_max,
                 int64_t* arg) {
  const int64_t n_out = static_cast<int64_t>(base.size()), n_red = static_cast<int64_t>(red.size());
#pragma omp parallel for if (n_out * n_red > detail::kParallelThreshold)
  for (int64_t o = 0; o < n_out; ++o) {
    const float* xo = x + base[o];
    int64_t best = 0;
    float m = xo[red[0]];
    for (int64_t r = 1; r < n_red; ++r) {
      const float v = xo[red[r]];
      if (is_max ? v > m : v < m) m = v, best = r;
    }
    arg[o] = best;
  }
}

}  // namespace kernels

namespace {

enum class Output { kValue, kIndex };

class Extreme : public Function {
 public:
  Extreme(bool is_max, std::vector<int> axes, bool keep_dims, Output output)
      : is_max_(is_max), axes_(std::move(axes)), keep_dims_(keep_dims), output_(output) {}
  std::string name() const override { return is_max_ ? "max" : "min"; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t& s = in[0];
    const int nd = static_cast<int>(s.size());
    std::vector<bool> reduced(nd, axes_.empty());
    for (int a : axes_) {
      int ax = a < 0 ? a + nd : a;
      if (ax < 0 || ax >= nd)
        detail::shape_error(name() + ": axis " + std::to_string(a) + " is out of range for input shape " +
                            shape_str(s) + " (" + std::to_string(nd) + " dimensions)");
      if (reduced[ax]) detail::shape_error(name() + ": axis " + std::to_string(a) + " is given twice");
      reduced[ax] = true;
    }
    // Indices travel as float32, exact up to 2^24: refuse what they could
    // not hold rather than give a wrong index.
    constexpr int64_t kExactIndices = int64_t(1) << 24;
    int64_t n_reduced = 1;
    for (int d = 0; d < nd; ++d)
      if (reduced[d]) n_reduced *= s[d];
    if (output_ == Output::kIndex && n_reduced > kExactIndices)
      detail::shape_error(name() + ": the reduced axes of input shape " + shape_str(s) + " hold " +
                          std::to_string(n_reduced) + " elements; nnvae's indices are exact only up to 2^24 = " +
                          std::to_string(kExactIndices) + " (they are held as float32)");
    // Offsets of the kept axes (output positions) and of the reduced ones.
    const std::vector<int64_t> xs = detail::contiguous_strides(s);
    Shape_t out;
    base_.assign(1, 0);
    red_.assign(1, 0);
    for (int d = 0; d < nd; ++d) {
      if (reduced[d] && s[d] == 0)
        detail::shape_error(name() + ": cannot reduce over axis " + std::to_string(d) + " of size 0 (input shape " +
                            shape_str(s) + ")");
      std::vector<int64_t>& offs = reduced[d] ? red_ : base_;
      std::vector<int64_t> next;
      for (int64_t o : offs)
        for (int64_t i = 0; i < s[d]; ++i) next.push_back(o + i * xs[d]);
      offs.swap(next);
      if (!reduced[d]) out.push_back(s[d]);
      else if (keep_dims_) out.push_back(1);
    }
    return out;
  }

  void forward(const std::vector<Variable*>& in, Variable* out) override {
    arg_.resize(base_.size());
    const float* x = detail::in_data(in[0]);
    if (!base_.empty()) kernels::arg_extreme(x, base_, red_, is_max_, arg_.data());
    float* y = detail::out_data(out);
    for (size_t o = 0; o < base_.size(); ++o)
      y[o] = output_ == Output::kIndex ? static_cast<float>(arg_[o]) : x[base_[o] + red_[arg_[o]]];
  }

  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0] || output_ == Output::kIndex) return;
    const float* dy = detail::in_grad(out);
    float* dx = detail::in_grad_for(in[0], acc[0]);
    if (!acc[0]) std::fill(dx, dx + in[0]->size(), 0.f);
    for (size_t o = 0; o < base_.size(); ++o) dx[base_[o] + red_[arg_[o]]] += dy[o];
  }
  bool differentiable(int) const override { return output_ == Output::kValue; }
  bool backward_needs_input_data(int) const override { return false; }  // reads arg_ from forward

 private:
  bool is_max_;
  std::vector<int> axes_;
  bool keep_dims_;
  Output output_;
  std::vector<int64_t> base_, red_;  // offsets of output positions and within a reduced set
  std::vector<int64_t> arg_;         // from the last forward
};

CgVariablePtr extreme(bool is_max, CgVariablePtr x, const std::vector<int>& axes, bool keep_dims, Output output) {
  return connect(std::make_unique<Extreme>(is_max, axes, keep_dims, output), {std::move(x)});
}

}  // namespace

namespace functions {

CgVariablePtr max(CgVariablePtr x, const std::vector<int>& axes, bool keep_dims, bool only_index) {
  return extreme(true, std::move(x), axes, keep_dims, only_index ? Output::kIndex : Output::kValue);
}
CgVariablePtr min(CgVariablePtr x, const std::vector<int>& axes, bool keep_dims, bool only_index) {
  return extreme(false, std::move(x), axes, keep_dims, only_index ? Output::kIndex : Output::kValue);
}
std::pair<CgVariablePtr, CgVariablePtr> max_with_index(CgVariablePtr x, const std::vector<int>& axes, bool keep_dims) {
  return {extreme(true, x, axes, keep_dims, Output::kValue), extreme(true, x, axes, keep_dims, Output::kIndex)};
}
std::pair<CgVariablePtr, CgVariablePtr> min_with_index(CgVariablePtr x, const std::vector<int>& axes, bool keep_dims) {
  return {extreme(false, x, axes, keep_dims, Output::kValue), extreme(false, x, axes, keep_dims, Output::kIndex)};
}

}  // namespace functions
}  // namespace nnvae
