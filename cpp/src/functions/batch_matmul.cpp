// batch_matmul: a (B..., P, Q), b (B'..., Q, R) → y (B''..., P, R), one
// matrix product per batch position; op(a) = aᵀ of the last two axes when
// transpose_a (likewise b). Batch axes pair up one to one; an axis of size 1
// on one side repeats against the other's (numpy broadcasting, same ndim).
//   Y = op(A)·op(B);  d op(A) = dY·op(B)ᵀ,  d op(B) = op(A)ᵀ·dY,
// transposed back into A's or B's layout when that input was transposed.
// bf16 products (precision.hpp): a, b and dY are rounded into copies once
// per call, and Eigen multiplies the copies (fp32 sums).
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>

#include "bf16_round.hpp"
#include "common.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMatrix>;
using CMap = Eigen::Map<const RowMatrix>;

class BatchMatmul : public Function {
 public:
  BatchMatmul(bool ta, bool tb) : ta_(ta), tb_(tb) {}
  std::string name() const override { return "batch_matmul"; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t &a = in[0], &b = in[1];
    const std::string shapes = "a " + shape_str(a) + ", b " + shape_str(b);
    if (a.size() < 3 || b.size() < 3)
      detail::shape_error("batch_matmul: inputs need >= 3 axes (batch axes, then a matrix); got " + shapes);
    if (a.size() != b.size())
      detail::shape_error("batch_matmul: a and b need the same number of axes; got " + shapes);
    const size_t nd = a.size();
    ra_ = a[nd - 2], ca_ = a[nd - 1], rb_ = b[nd - 2], cb_ = b[nd - 1];
    const int64_t k_a = ta_ ? ra_ : ca_, k_b = tb_ ? cb_ : rb_;
    if (k_a != k_b)
      detail::shape_error("batch_matmul: the inner sizes differ: op(a) has " + std::to_string(k_a) +
                          " columns, op(b) has " + std::to_string(k_b) + " rows (" + shapes +
                          ", transpose_a=" + (ta_ ? "true" : "false") + ", transpose_b=" + (tb_ ? "true" : "false") +
                          ")");
    Shape_t batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
    batch_ = detail::broadcast_shape("batch_matmul (batch axes of " + shapes + ")", batch_a, batch_b);
    // Offsets (in matrices) of each batch position into a and b.
    auto sa = detail::broadcast_strides(batch_a, batch_), sb = detail::broadcast_strides(batch_b, batch_);
    off_a_.assign(1, 0);
    off_b_.assign(1, 0);
    for (size_t d = 0; d < batch_.size(); ++d) {
      std::vector<int64_t> na, nb;
      for (size_t j = 0; j < off_a_.size(); ++j)
        for (int64_t i = 0; i < batch_[d]; ++i) na.push_back(off_a_[j] + i * sa[d]), nb.push_back(off_b_[j] + i * sb[d]);
      off_a_.swap(na);
      off_b_.swap(nb);
    }
    Shape_t out = batch_;
    out.push_back(ta_ ? ca_ : ra_);
    out.push_back(tb_ ? rb_ : cb_);
    return out;
  }

  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const MatmulPrecision precision = get_matmul_precision();
    std::vector<float> round_a, round_b;
    const float* a = bf16::product_operand(detail::in_data(in[0]), in[0]->size(), precision, round_a);
    const float* b = bf16::product_operand(detail::in_data(in[1]), in[1]->size(), precision, round_b);
    float* y = detail::out_data(out);
    const int64_t p = ta_ ? ca_ : ra_, r = tb_ ? rb_ : cb_, n = static_cast<int64_t>(off_a_.size());
#pragma omp parallel for if (n * p * r * (ta_ ? ra_ : ca_) > (int64_t(1) << 20))
    for (int64_t s = 0; s < n; ++s) {
      CMap A(a + off_a_[s] * ra_ * ca_, ra_, ca_), B(b + off_b_[s] * rb_ * cb_, rb_, cb_);
      Map Y(y + s * p * r, p, r);
      if (!ta_ && !tb_) Y.noalias() = A * B;
      else if (ta_ && !tb_) Y.noalias() = A.transpose() * B;
      else if (!ta_ && tb_) Y.noalias() = A * B.transpose();
      else Y.noalias() = A.transpose() * B.transpose();
    }
  }

  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    const MatmulPrecision precision = get_matmul_precision();
    std::vector<float> round_a, round_b, round_dy;
    // a is read for b's gradient only, b for a's.
    const float* a =
        prop[1] ? bf16::product_operand(detail::in_data(in[0]), in[0]->size(), precision, round_a) : nullptr;
    const float* b =
        prop[0] ? bf16::product_operand(detail::in_data(in[1]), in[1]->size(), precision, round_b) : nullptr;
    const float* dy = bf16::product_operand(detail::in_grad(out), out->size(), precision, round_dy);
    const int64_t p = ta_ ? ca_ : ra_, r = tb_ ? rb_ : cb_, n = static_cast<int64_t>(off_a_.size());
    // Batch positions may share an input matrix (broadcast): always add,
    // into a gradient zeroed first unless accumulating.
    if (prop[0]) {
      float* da = detail::in_grad_for(in[0], acc[0]);
      if (!acc[0]) std::fill(da, da + in[0]->size(), 0.f);
      for (int64_t s = 0; s < n; ++s) {
        CMap B(b + off_b_[s] * rb_ * cb_, rb_, cb_), DY(dy + s * p * r, p, r);
        Map DA(da + off_a_[s] * ra_ * ca_, ra_, ca_);
        // d op(A) = dY·op(B)ᵀ; dA = that, or its transpose when ta.
        if (!ta_ && !tb_) DA.noalias() += DY * B.transpose();
        else if (!ta_ && tb_) DA.noalias() += DY * B;
        else if (ta_ && !tb_) DA.noalias() += B * DY.transpose();
        else DA.noalias() += B.transpose() * DY.transpose();
      }
    }
    if (prop[1]) {
      float* db = detail::in_grad_for(in[1], acc[1]);
      if (!acc[1]) std::fill(db, db + in[1]->size(), 0.f);
      for (int64_t s = 0; s < n; ++s) {
        CMap A(a + off_a_[s] * ra_ * ca_, ra_, ca_), DY(dy + s * p * r, p, r);
        Map DB(db + off_b_[s] * rb_ * cb_, rb_, cb_);
        // d op(B) = op(A)ᵀ·dY; dB = that, or its transpose when tb.
        if (!ta_ && !tb_) DB.noalias() += A.transpose() * DY;
        else if (ta_ && !tb_) DB.noalias() += A * DY;
        else if (!ta_ && tb_) DB.noalias() += DY.transpose() * A;
        else DB.noalias() += DY.transpose() * A.transpose();
      }
    }
  }

 private:
  bool ta_, tb_;
  int64_t ra_ = 0, ca_ = 0, rb_ = 0, cb_ = 0;
  Shape_t batch_;
  std::vector<int64_t> off_a_, off_b_;  // per output batch position, in matrices
};

}  // namespace

CgVariablePtr functions::batch_matmul(CgVariablePtr a, CgVariablePtr b, bool transpose_a, bool transpose_b) {
  return connect(std::make_unique<BatchMatmul>(transpose_a, transpose_b), {std::move(a), std::move(b)});
}

}  // namespace nnvae
