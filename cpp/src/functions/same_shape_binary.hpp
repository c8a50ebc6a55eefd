// Two variables of one shape, elementwise, and the broadcast in front of
// them: the node of pow2, maximum2, minimum2 and squared_error.
// x0, x1: one shape S (inputs of different shapes are first broadcast to
// their numpy broadcast shape by broadcast nodes, whose backward sums the
// gradient over the repeated axes); y: S.
//   y = Op::f(x0, x1),  dx0 (+)= dy·Op::da(x0, x1),  dx1 (+)= dy·Op::db(x0, x1).
#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

// y[i] = f(a[i], b[i]), n elements.
template <class Op>
void binary_same_forward(const float* a, const float* b, float* y, int64_t n) {
#pragma omp parallel for simd if (parallel : n > detail::kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] = Op::f(a[i], b[i]);
}

// dx (+)= dy · ∂f/∂(input `which`) at (a[i], b[i]).
template <class Op>
void binary_same_backward(int which, const float* a, const float* b, const float* dy, float* dx, int64_t n,
                          bool accumulate) {
  if (!accumulate) std::fill(dx, dx + n, 0.f);
  if (which == 0) {
#pragma omp parallel for simd if (parallel : n > detail::kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * Op::da(a[i], b[i]);
  } else {
#pragma omp parallel for simd if (parallel : n > detail::kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * Op::db(a[i], b[i]);
  }
}

}  // namespace kernels

namespace detail {

template <class Op>
class SameShapeBinary : public Function {
 public:
  std::string name() const override { return Op::name(); }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    if (in[0] != in[1])  // (the public functions broadcast first; this is the engine's own check)
      shape_error(name() + ": shapes " + shape_str(in[0]) + " and " + shape_str(in[1]) + " differ");
    return in[0];
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    kernels::binary_same_forward<Op>(in_data(in[0]), in_data(in[1]), out_data(out),
                                     out->size());
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    const float* a = in_data(in[0]);
    const float* b = in_data(in[1]);
    const float* dy = in_grad(out);
    for (int which = 0; which < 2; ++which)
      if (prop[which])
        kernels::binary_same_backward<Op>(which, a, b, dy, in_grad_for(in[which], acc[which]), out->size(),
                                          acc[which]);
  }
};

// Broadcasts x0 and x1 to their common shape (only those that differ from it).
template <class Op>
CgVariablePtr broadcast_binary(CgVariablePtr a, CgVariablePtr b) {
  if (!a || !b) shape_error(std::string(Op::name()) + ": an input is null");
  if (a->shape() != b->shape()) {
    Shape_t s = broadcast_shape(Op::name(), a->shape(), b->shape());
    std::vector<int> target(s.begin(), s.end());
    if (a->shape() != s) a = functions::broadcast(a, target);
    if (b->shape() != s) b = functions::broadcast(b, target);
  }
  return connect(std::make_unique<SameShapeBinary<Op>>(), {std::move(a), std::move(b)});
}

}  // namespace detail
}  // namespace nnvae
