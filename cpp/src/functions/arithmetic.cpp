// Two variables, elementwise with numpy broadcasting: add2, sub2, mul2, div2.
// y[i] = f(a[ia], b[ib]); da[ia] += dy[i]·∂f/∂a, db[ib] += dy[i]·∂f/∂b, where
// ia, ib are i's positions in the (possibly broadcast) inputs.
#include "common.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

// Calls fn(i, ia, ib) for each output position i of `out`, with the matching
// offsets into inputs of strides sa, sb (0 along broadcast axes).
template <class Fn>
void for_each_broadcast(const Shape_t& out, const std::vector<int64_t>& sa, const std::vector<int64_t>& sb, Fn fn) {
  int64_t n = shape_size(out);
  if (n == 0) return;
  int nd = static_cast<int>(out.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, ia, ib);
    for (int d = nd - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        ia += sa[d];
        ib += sb[d];
        break;
      }
      ia -= sa[d] * (out[d] - 1);
      ib -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

// Inputs of equal shapes: dx (+)= dy · ∂f/∂a (Which 0) or dy · ∂f/∂b
// (Which 1); a, b, dy, dx: n floats (a, b null when Op reads neither). Two
// loops, one assigning and one adding, so that both vectorise.
template <class Op, int Which>
void binary_backward_same(const float* a, const float* b, const float* dy, float* dx, int64_t n, bool accumulate) {
  constexpr bool kReads = Op::kNeedsA || Op::kNeedsB;
  auto d = [=](int64_t i) {
    const float ai = kReads ? a[i] : 0.f, bi = kReads ? b[i] : 0.f;
    return Which == 0 ? Op::da(ai, bi) : Op::db(ai, bi);
  };
  if (accumulate) {
#pragma omp parallel for simd if (parallel : n > detail::kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * d(i);
  } else {
#pragma omp parallel for simd if (parallel : n > detail::kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * d(i);
  }
}

}  // namespace kernels

namespace {

struct AddOp {
  static const char* name() { return "add2"; }
  static float f(float a, float b) { return a + b; }
  static float da(float, float) { return 1.f; }
  static float db(float, float) { return 1.f; }
  static constexpr bool kNeedsA = false, kNeedsB = false;
};
struct SubOp {
  static const char* name() { return "sub2"; }
  static float f(float a, float b) { return a - b; }
  static float da(float, float) { return 1.f; }
  static float db(float, float) { return -1.f; }
  static constexpr bool kNeedsA = false, kNeedsB = false;
};
struct MulOp {
  static const char* name() { return "mul2"; }
  static float f(float a, float b) { return a * b; }
  static float da(float, float b) { return b; }
  static float db(float a, float) { return a; }
  static constexpr bool kNeedsA = true, kNeedsB = true;
};
struct DivOp {
  static const char* name() { return "div2"; }
  static float f(float a, float b) { return a / b; }
  static float da(float, float b) { return 1.f / b; }
  static float db(float a, float b) { return -a / (b * b); }
  static constexpr bool kNeedsA = true, kNeedsB = true;
};

template <class Op>
class Binary : public Function {
 public:
  std::string name() const override { return Op::name(); }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    out_ = detail::broadcast_shape(name(), in[0], in[1]);
    same_ = in[0] == out_ && in[1] == out_;
    sa_ = detail::broadcast_strides(in[0], out_);
    sb_ = detail::broadcast_strides(in[1], out_);
    return out_;
  }

  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* a = detail::in_data(in[0]);
    const float* b = detail::in_data(in[1]);
    float* y = detail::out_data(out);
    int64_t n = out->size();
    if (same_) {
#pragma omp parallel for simd if (parallel : n > detail::kParallelThreshold)
      for (int64_t i = 0; i < n; ++i) y[i] = Op::f(a[i], b[i]);
      return;
    }
    kernels::for_each_broadcast(out_, sa_, sb_, [&](int64_t i, int64_t ia, int64_t ib) { y[i] = Op::f(a[ia], b[ib]); });
  }

  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    const float* a = (Op::kNeedsA || Op::kNeedsB) ? detail::in_data(in[0]) : nullptr;
    const float* b = (Op::kNeedsA || Op::kNeedsB) ? detail::in_data(in[1]) : nullptr;
    const float* dy = detail::in_grad(out);
    int64_t n = out->size();
    auto av = [&](int64_t k) { return a ? a[k] : 0.f; };
    auto bv = [&](int64_t k) { return b ? b[k] : 0.f; };
    for (int which = 0; which < 2; ++which) {
      if (!prop[which]) continue;
      float* dx = detail::in_grad_for(in[which], acc[which]);
      if (same_) {
        if (which == 0)
          kernels::binary_backward_same<Op, 0>(a, b, dy, dx, n, acc[which]);
        else
          kernels::binary_backward_same<Op, 1>(a, b, dy, dx, n, acc[which]);
        continue;
      }
      if (!acc[which]) std::fill(dx, dx + in[which]->size(), 0.f);
      kernels::for_each_broadcast(out_, sa_, sb_, [&](int64_t i, int64_t ia, int64_t ib) {
        if (which == 0)
          dx[ia] += dy[i] * Op::da(av(ia), bv(ib));
        else
          dx[ib] += dy[i] * Op::db(av(ia), bv(ib));
      });
    }
  }
  bool backward_needs_input_data(int) const override { return Op::kNeedsA || Op::kNeedsB; }

 private:
  Shape_t out_;
  bool same_ = true;
  std::vector<int64_t> sa_, sb_;
};

template <class Op>
CgVariablePtr binary(CgVariablePtr a, CgVariablePtr b) {
  return connect(std::make_unique<Binary<Op>>(), {std::move(a), std::move(b)});
}

}  // namespace

// inplace is accepted for API compatibility; results are computed out of place.
CgVariablePtr functions::add2(CgVariablePtr x0, CgVariablePtr x1, bool) { return binary<AddOp>(x0, x1); }
CgVariablePtr functions::sub2(CgVariablePtr x0, CgVariablePtr x1, bool) { return binary<SubOp>(x0, x1); }
CgVariablePtr functions::mul2(CgVariablePtr x0, CgVariablePtr x1, bool) { return binary<MulOp>(x0, x1); }
CgVariablePtr functions::div2(CgVariablePtr x0, CgVariablePtr x1, bool) { return binary<DivOp>(x0, x1); }

CgVariablePtr operator+(const CgVariablePtr& a, const CgVariablePtr& b) { return functions::add2(a, b); }
CgVariablePtr operator-(const CgVariablePtr& a, const CgVariablePtr& b) { return functions::sub2(a, b); }
CgVariablePtr operator*(const CgVariablePtr& a, const CgVariablePtr& b) { return functions::mul2(a, b); }
CgVariablePtr operator/(const CgVariablePtr& a, const CgVariablePtr& b) { return functions::div2(a, b); }

}  // namespace nnvae
