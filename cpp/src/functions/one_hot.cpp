// one_hot: x (..., D) holds D integer indices per row, one for each axis of
// `shape` (D = len(shape)); y (..., shape...) is 1 at the row's index tuple
// and 0 elsewhere. An index in [−shape[k], −1] counts from the end of its
// axis; a row with any index outside [−shape[k], shape[k]) is all zeros.
// No gradient.
#include <algorithm>
#include <cmath>

#include "common.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace {

class OneHot : public Function {
 public:
  explicit OneHot(Shape_t shape) : shape_(std::move(shape)) {}
  std::string name() const override { return "one_hot"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t& s = in[0];
    if (s.empty() || s.back() != static_cast<int64_t>(shape_.size()))
      detail::shape_error("one_hot: x has shape " + shape_str(s) + " but shape " + shape_str(shape_) + " has " +
                          std::to_string(shape_.size()) + " axes; x's last axis must hold one index per axis (size " +
                          std::to_string(shape_.size()) + ")");
    Shape_t out(s.begin(), s.end() - 1);
    out.insert(out.end(), shape_.begin(), shape_.end());
    return out;
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* x = detail::in_data(in[0]);
    float* y = detail::out_data(out);
    const int64_t dim = static_cast<int64_t>(shape_.size()), block = shape_size(shape_);
    const int64_t rows = dim == 0 ? 0 : in[0]->size() / dim;
    std::fill(y, y + out->size(), 0.f);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t addr = 0;
      bool valid = true;
      for (int64_t k = 0; k < dim; ++k) {
        const float v = x[r * dim + k];
        if (v != std::floor(v))
          detail::shape_error("one_hot: x value " + std::to_string(v) + " at position " + std::to_string(r * dim + k) +
                              " is not an integer index");
        int64_t c = static_cast<int64_t>(v);
        if (c < 0) c += shape_[k];
        valid = valid && c >= 0 && c < shape_[k];
        addr = addr * shape_[k] + c;
      }
      if (valid) y[r * block + addr] = 1.f;
    }
  }
  void backward(const std::vector<Variable*>&, Variable*, const std::vector<bool>&,
                const std::vector<bool>&) override {}
  bool differentiable(int) const override { return false; }
  bool backward_needs_input_data(int) const override { return false; }

 private:
  Shape_t shape_;
};

}  // namespace

CgVariablePtr functions::one_hot(CgVariablePtr x, const std::vector<int>& shape) {
  return connect(std::make_unique<OneHot>(detail::to_shape("one_hot", shape)), {std::move(x)});
}

}  // namespace nnvae
