// reshape: the same elements under a new shape; one -1 entry is inferred.
// inplace shares the input's buffer instead of copying it (and in backward
// the output's gradient buffer).
#include <algorithm>

#include "common.hpp"
#include "nnvae/checked.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace {
class Reshape : public Function {
 public:
  Reshape(std::vector<int> shape, bool inplace) : shape_(std::move(shape)), inplace_(inplace) {}
  std::string name() const override { return "reshape"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    int64_t total = shape_size(in[0]), known = 1;
    int infer = -1;
    Shape_t out;
    for (size_t i = 0; i < shape_.size(); ++i) {
      int d = shape_[i];
      if (d == -1) {
        if (infer >= 0) detail::shape_error("reshape: more than one -1 in the target shape");
        infer = static_cast<int>(i);
      } else if (d < 0) {
        detail::shape_error("reshape: target shape entry " + std::to_string(i) + " is " + std::to_string(d));
      } else {
        known = checked_mul(known, d, "reshape: target shape " + shape_str(Shape_t(shape_.begin(), shape_.end())));
      }
      out.push_back(d);
    }
    if (infer >= 0) {
      if (known == 0 || total % known != 0)
        detail::shape_error("reshape: cannot infer the -1 entry: input shape " + shape_str(in[0]) + " has " +
                            std::to_string(total) + " elements, not a multiple of " + std::to_string(known));
      out[infer] = total / known;
    }
    if (shape_size(out) != total)
      detail::shape_error("reshape: input shape " + shape_str(in[0]) + " has " + std::to_string(total) +
                          " elements but the target shape " + shape_str(out) + " has " +
                          std::to_string(shape_size(out)));
    return out;
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* x = detail::in_data(in[0]);
    if (inplace_) {
      out->data()->share_from(*in[0]->data());
      return;
    }
    std::copy(x, x + out->size(), detail::out_data(out));
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    // In place, the gradient is shared too (no copy): the input's gradient is
    // the output's, under the input's shape. Accumulating still adds.
    if (inplace_ && !acc[0]) {
      in[0]->grad()->share_from(*out->grad());
      return;
    }
    const float* dy = detail::in_grad(out);
    float* dx = detail::in_grad_for(in[0], acc[0]);
    int64_t n = out->size();
    if (acc[0])
      for (int64_t i = 0; i < n; ++i) dx[i] += dy[i];
    else
      std::copy(dy, dy + n, dx);
  }
  bool backward_needs_input_data(int) const override { return false; }
  bool shares_input_buffer() const override { return inplace_; }

 private:
  std::vector<int> shape_;
  bool inplace_;
};
}  // namespace

CgVariablePtr functions::reshape(CgVariablePtr x, const std::vector<int>& shape, bool inplace) {
  return connect(std::make_unique<Reshape>(shape, inplace), {std::move(x)});
}

}  // namespace nnvae
