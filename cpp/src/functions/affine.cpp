// affine: y = X·W + b.
// x: (rows, cols) after flattening at base_axis, W: (cols, n_out...), b: (n_out...).
// The products and their threading are in matmul.cpp.
#include <algorithm>
#include <vector>

#include "common.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/kernels/matmul.hpp"
#include "product_function.hpp"

namespace nnvae {

namespace {
class Affine : public detail::EpilogueProduct {
 public:
  explicit Affine(int base_axis) : base_axis_(base_axis) {}
  std::string name() const override { return "affine"; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t& x = in[0];
    const Shape_t& w = in[1];
    int nd = static_cast<int>(x.size());
    if (base_axis_ < 0 || base_axis_ >= std::max(nd, 1) || (nd == 0))
      detail::shape_error("affine: base_axis " + std::to_string(base_axis_) + " is out of range for input shape " +
                          shape_str(x) + " (must be in [0, " + std::to_string(std::max(nd - 1, 0)) + "])");
    if (w.size() < 2)
      detail::shape_error("affine: W must have at least 2 dimensions, got W shape " + shape_str(w));
    rows_ = 1;
    for (int i = 0; i < base_axis_; ++i) rows_ *= x[i];
    cols_ = 1;
    for (int i = base_axis_; i < nd; ++i) cols_ *= x[i];
    if (cols_ != w[0])
      detail::shape_error("affine: input has " + std::to_string(cols_) + " features but W expects " +
                          std::to_string(w[0]) + " (input shape " + shape_str(x) + ", base_axis " +
                          std::to_string(base_axis_) + ", W shape " + shape_str(w) + ")");
    Shape_t out(x.begin(), x.begin() + base_axis_);
    out.insert(out.end(), w.begin() + 1, w.end());
    n_out_ = shape_size(Shape_t(w.begin() + 1, w.end()));
    if (in.size() == 3) {
      Shape_t wb(w.begin() + 1, w.end());
      // The shape itself, not just the size: a (2, 2) bias for a (3, 4) W
      // has the right size but the wrong meaning.
      if (in[2] != wb)
        detail::shape_error("affine: b has shape " + shape_str(in[2]) + " but W shape " + shape_str(w) +
                            " needs " + shape_str(wb));
    }
    return out;
  }

 private:
  // y's blocks (rows_, n_out_), row stride n_out_.
  void run_forward(const std::vector<Variable*>& in, Variable* out, const kernels::Epilogue* ep) override {
    const float* b = in.size() == 3 ? detail::in_data(in[2]) : nullptr;
    kernels::affine_forward(detail::in_data(in[0]), detail::in_data(in[1]), b, detail::out_data(out), rows_, cols_,
                            n_out_, ep);
  }

  // dx's blocks (rows_, cols_), row stride cols_. Input 0's gradient first,
  // then W's, then b's, as the contract asks.
  void run_backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                    const std::vector<bool>& acc, const kernels::Epilogue* dx_ep) override {
    const detail::ProductGrads g = detail::product_grads(in, out, prop, acc);
    kernels::affine_backward(g.x, g.w, g.dy, g.dx, g.dw, g.db, rows_, cols_, n_out_, g.acc_x, g.acc_w, g.acc_b,
                             dx_ep);
  }

  int base_axis_;
  int64_t rows_ = 0, cols_ = 0, n_out_ = 0;
};
}  // namespace

CgVariablePtr functions::affine(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis) {
  // A negative base_axis counts from the end, as in NNabla.
  if (x && base_axis < 0 && base_axis >= -static_cast<int>(x->shape().size()))
    base_axis += static_cast<int>(x->shape().size());
  std::vector<CgVariablePtr> inputs{std::move(x), std::move(weight)};
  if (bias) inputs.push_back(std::move(bias));
  return connect(std::make_unique<Affine>(base_axis), std::move(inputs));
}

}  // namespace nnvae
