// Elementwise functions of one input: y = f(x), dx (+)= dy · f'(x, y).
// Each Op provides name, f(x), df(x, y) and what backward reads.
#pragma once
#include <type_traits>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.hpp"
#include "nnvae/kernels/matmul.hpp"

namespace nnvae {
namespace kernels {

// The two loops, over elements [lo, hi) of flat buffers. `op` comes by
// value, so that its parameters (elu's alpha) sit in registers rather than
// behind a pointer the stores might alias: that is what lets GCC vectorise
// them. simdlen(16): one AVX-512 register of floats per step where the build
// has it (the compiler otherwise prefers 8-float vectors; elu measured
// 10-20 % cheaper so).
template <class Op>
void unary_f_range(const Op op, const float* x, float* y, int64_t lo, int64_t hi) {
#pragma omp simd simdlen(16)
  for (int64_t i = lo; i < hi; ++i) y[i] = op.f(x[i]);
}

// x or y may be null when Op does not read it. Which of them the loop reads
// is fixed at compile time (Op::kNeedsX, kNeedsY): a `x ? x[i] : 0` inside
// the loop became masked loads.
template <class Op>
void unary_df_range(const Op op, const float* x, const float* y, const float* dy, float* dx, int64_t lo, int64_t hi,
                    bool accumulate) {
  auto xi = [x](int64_t i) {
    if constexpr (Op::kNeedsX) return x[i];
    else return 0.f;
  };
  auto yi = [y](int64_t i) {
    if constexpr (Op::kNeedsY) return y[i];
    else return 0.f;
  };
  if (accumulate) {
#pragma omp simd simdlen(16)
    for (int64_t i = lo; i < hi; ++i) dx[i] += dy[i] * op.df(xi(i), yi(i));
  } else {
#pragma omp simd simdlen(16)
    for (int64_t i = lo; i < hi; ++i) dx[i] = dy[i] * op.df(xi(i), yi(i));
  }
}

// This thread's contiguous share [lo, hi) of n elements.
inline void thread_share(int64_t n, int64_t* lo, int64_t* hi) {
  int threads = 1, me = 0;
#ifdef _OPENMP
  threads = omp_get_num_threads();
  me = omp_get_thread_num();
#endif
  *lo = n * me / threads;
  *hi = n * (me + 1) / threads;
}

// On its own: y = f(x), x, y: (n).
template <class Op>
void unary_forward(const Op& op, const float* x, float* y, int64_t n) {
#pragma omp parallel if (n > detail::kParallelThreshold)
  {
    int64_t lo, hi;
    thread_share(n, &lo, &hi);
    unary_f_range(op, x, y, lo, hi);
  }
}

// On its own: dx (+)= dy · f'(x, y), all (n).
template <class Op>
void unary_backward(const Op& op, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                    bool accumulate) {
#pragma omp parallel if (n > detail::kParallelThreshold)
  {
    int64_t lo, hi;
    thread_share(n, &lo, &hi);
    unary_df_range(op, x, y, dy, dx, lo, hi, accumulate);
  }
}

// The same two loops as epilogues of a product (kernels::Epilogue), on one
// block of the buffer it writes, row by row (element r·ldc + col). Forward:
// the product writes x, the epilogue y = f(x). Backward: the product writes
// dy, the epilogue dx (+)= dy · f'(x, y).
template <class Op>
struct UnaryForwardEpilogue : Epilogue {
  Op op;
  float* y;
  void operator()(float* x, int64_t ldc, int64_t r0, int64_t r1, int64_t c0, int64_t c1) const override {
    for (int64_t r = r0; r < r1; ++r) unary_f_range(op, x + r * ldc, y + r * ldc, c0, c1);
  }
};

template <class Op>
struct UnaryBackwardEpilogue : Epilogue {
  Op op;
  const float *x, *y;  // null when Op does not read it
  float* dx;
  bool accumulate;
  void operator()(float* dy, int64_t ldc, int64_t r0, int64_t r1, int64_t c0, int64_t c1) const override {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r * ldc;
      unary_df_range(op, x ? x + o : nullptr, y ? y + o : nullptr, dy + o, dx + o, c0, c1, accumulate);
    }
  }
};

}  // namespace kernels

namespace detail {

// Whether Op runs as a product's epilogue (Op::kFusable; false when absent).
template <class Op, class = void>
struct fusable : std::false_type {};
template <class Op>
struct fusable<Op, std::void_t<decltype(Op::kFusable)>> : std::bool_constant<Op::kFusable> {};

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

  // The two loops above as a product's epilogue. Forward: the input has no
  // values yet (the product is about to write it), only the output's buffer
  // is taken.
  const kernels::Epilogue* forward_epilogue(const std::vector<Variable*>&, Variable* out) override {
    if constexpr (!fusable<Op>::value) {
      return nullptr;
    } else {
      fwd_ep_.op = op_;
      fwd_ep_.y = out_data(out);
      return &fwd_ep_;
    }
  }
  const kernels::Epilogue* backward_epilogue(const std::vector<Variable*>& in, Variable* out,
                                             bool accumulate) override {
    if constexpr (!fusable<Op>::value) {
      return nullptr;
    } else {
      bwd_ep_.op = op_;
      bwd_ep_.x = Op::kNeedsX ? in_data(in[0]) : nullptr;
      bwd_ep_.y = Op::kNeedsY ? out->data()->read("the output") : nullptr;
      bwd_ep_.dx = in_grad_for(in[0], accumulate);
      bwd_ep_.accumulate = accumulate;
      return &bwd_ep_;
    }
  }

 private:
  Op op_;
  // The epilogues, compiled only for the ops that fuse.
  template <class Ep>
  using IfFusable = std::conditional_t<fusable<Op>::value, Ep, char>;
  IfFusable<kernels::UnaryForwardEpilogue<Op>> fwd_ep_{};
  IfFusable<kernels::UnaryBackwardEpilogue<Op>> bwd_ep_{};
};

template <class Op>
CgVariablePtr unary(CgVariablePtr x, Op op) {
  return connect(std::make_unique<Unary<Op>>(op), {std::move(x)});
}

}  // namespace detail
}  // namespace nnvae
