// Elementwise functions of one input: y = f(x), dx (+)= dy · f'(x, y).
// Each Op provides name, f(x), df(x, y) and what backward reads.
#pragma once
#include "common.hpp"

namespace nnvae {
namespace kernels {

// Each thread works on its own copy of `op`, so that the op's parameters
// (elu's alpha) sit in registers rather than behind a pointer the stores
// might alias: that is what lets GCC vectorise these loops.
template <class Op>
void unary_forward(const Op& op, const float* x, float* y, int64_t n) {
#pragma omp parallel if (n > detail::kParallelThreshold)
  {
    const Op local = op;
#pragma omp for simd
    for (int64_t i = 0; i < n; ++i) y[i] = local.f(x[i]);
  }
}

// x or y may be null when Op does not read it.
template <class Op>
void unary_backward(const Op& op, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                    bool accumulate) {
#pragma omp parallel if (n > detail::kParallelThreshold)
  {
    const Op local = op;
    if (accumulate) {
#pragma omp for simd
      for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * local.df(x ? x[i] : 0.f, y ? y[i] : 0.f);
    } else {
#pragma omp for simd
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * local.df(x ? x[i] : 0.f, y ? y[i] : 0.f);
    }
  }
}

}  // namespace kernels

namespace detail {

template <class Op>
class Unary : public Function {
 public:
  explicit Unary(Op op) : op_(op) {}
  std::string name() const override { return op_.name(); }
  Shape_t setup(const std::vector<Shape_t>& in) override { return in[0]; }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    kernels::unary_forward(op_, in_data(in[0]), out_data(out), out->size());
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    const float* x = Op::kNeedsX ? in_data(in[0]) : nullptr;
    const float* y = Op::kNeedsY ? out->data()->read("the output") : nullptr;
    kernels::unary_backward(op_, x, y, in_grad(out), in_grad_for(in[0], acc[0]), out->size(), acc[0]);
  }
  bool differentiable(int) const override { return Op::kDifferentiable; }
  bool backward_needs_input_data(int) const override { return Op::kNeedsX; }
  bool backward_needs_output_data() const override { return Op::kNeedsY; }

 private:
  Op op_;
};

template <class Op>
CgVariablePtr unary(CgVariablePtr x, Op op) {
  return connect(std::make_unique<Unary<Op>>(op), {std::move(x)});
}

}  // namespace detail
}  // namespace nnvae
