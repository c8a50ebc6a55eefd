// sum and mean over a set of axes.
// x: shape S; y: S with the reduced axes removed (or kept as 1 with keep_dims).
// Forward y[o(i)] += x[i] · scale; backward dx[i] (+)= dy[o(i)] · scale, where
// o(i) is the output position of input position i and scale is 1 (sum) or
// 1/count (mean).
#include <limits>
#include <algorithm>

#include "common.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

// x viewed as (outer, reduce, inner) when the reduced axes are contiguous:
// y[o, j] = scale · Σ_r x[o, r, j].
void reduce_contiguous(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner, float scale) {
#pragma omp parallel for if (outer * reduce * inner > detail::kParallelThreshold)
  for (int64_t o = 0; o < outer; ++o) {
    float* yo = y + o * inner;
    const float* xo = x + o * reduce * inner;
    if (inner == 1) {
      double s = 0.0;  // in double: a row may hold many terms (784 pixels)
#pragma omp simd reduction(+ : s)
      for (int64_t r = 0; r < reduce; ++r) s += xo[r];
      yo[0] = static_cast<float>(s * scale);
      continue;
    }
    std::fill(yo, yo + inner, 0.f);
    for (int64_t r = 0; r < reduce; ++r)
      for (int64_t j = 0; j < inner; ++j) yo[j] += xo[r * inner + j];
    for (int64_t j = 0; j < inner; ++j) yo[j] *= scale;
  }
}

// dx[o, r, j] (+)= scale · dy[o, j].
void reduce_contiguous_backward(const float* dy, float* dx, int64_t outer, int64_t reduce, int64_t inner, float scale,
                                bool accumulate) {
#pragma omp parallel for if (outer * reduce * inner > detail::kParallelThreshold)
  for (int64_t o = 0; o < outer; ++o) {
    if (inner == 1) {
      // A row summed to one value (the loss's Σ over pixels): the row gets
      // that value's gradient, a vectorised fill.
      float* d = dx + o * reduce;
      const float g = scale * dy[o];
      if (accumulate) {
#pragma omp simd
        for (int64_t r = 0; r < reduce; ++r) d[r] += g;
      } else {
#pragma omp simd
        for (int64_t r = 0; r < reduce; ++r) d[r] = g;
      }
      continue;
    }
    for (int64_t r = 0; r < reduce; ++r) {
      float* d = dx + (o * reduce + r) * inner;
      const float* g = dy + o * inner;
      if (accumulate)
        for (int64_t j = 0; j < inner; ++j) d[j] += scale * g[j];
      else
        for (int64_t j = 0; j < inner; ++j) d[j] = scale * g[j];
    }
  }
}

}  // namespace kernels

namespace {

class Reduce : public Function {
 public:
  Reduce(std::string name, std::vector<int> axes, bool keep_dims, bool mean)
      : name_(std::move(name)), axes_(std::move(axes)), keep_dims_(keep_dims), mean_(mean) {}
  std::string name() const override { return name_; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    in_ = in[0];
    int nd = static_cast<int>(in_.size());
    reduced_.assign(nd, false);
    if (axes_.empty()) reduced_.assign(nd, true);
    for (int a : axes_) {
      int ax = a < 0 ? a + nd : a;
      if (ax < 0 || ax >= nd)
        detail::shape_error(name_ + ": axis " + std::to_string(a) + " is out of range for input shape " +
                            shape_str(in_) + " (" + std::to_string(nd) + " dimensions)");
      if (reduced_[ax]) detail::shape_error(name_ + ": axis " + std::to_string(a) + " is given twice");
      reduced_[ax] = true;
    }
    Shape_t out, kept;
    count_ = 1;
    for (int d = 0; d < nd; ++d) {
      if (reduced_[d]) {
        count_ *= in_[d];
        kept.push_back(1);
        if (keep_dims_) out.push_back(1);
      } else {
        kept.push_back(in_[d]);
        out.push_back(in_[d]);
      }
    }
    strides_ = detail::broadcast_strides(kept, in_);
    // Contiguous when the reduced axes form one block: (outer, reduce, inner).
    int first = nd, last = -1;
    for (int d = 0; d < nd; ++d)
      if (reduced_[d]) {
        first = std::min(first, d);
        last = d;
      }
    contiguous_ = true;
    for (int d = first; d <= last; ++d) contiguous_ = contiguous_ && reduced_[d];
    outer_ = inner_ = 1;
    for (int d = 0; d < first && d < nd; ++d) outer_ *= in_[d];
    for (int d = last + 1; d < nd; ++d) inner_ *= in_[d];
    if (last < 0) outer_ = shape_size(in_), inner_ = 1;  // nothing reduced (0-dim input)
    return out;
  }

  // The mean of no elements is 0/0 = NaN, as numpy and NNabla answer.
  float scale() const {
    return mean_ ? (count_ > 0 ? 1.f / static_cast<float>(count_) : std::numeric_limits<float>::quiet_NaN()) : 1.f;
  }

  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* x = detail::in_data(in[0]);
    float* y = detail::out_data(out);
    if (contiguous_) {
      kernels::reduce_contiguous(x, y, outer_, count_, inner_, scale());
      return;
    }
    std::fill(y, y + out->size(), 0.f);
    strided(strides_, [&](int64_t i, int64_t o) { y[o] += x[i]; });
    float s = scale();
    for (int64_t k = 0; k < out->size(); ++k) y[k] *= s;
  }

  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    const float* dy = detail::in_grad(out);
    float* dx = detail::in_grad_for(in[0], acc[0]);
    float s = scale();
    if (contiguous_) {
      kernels::reduce_contiguous_backward(dy, dx, outer_, count_, inner_, s, acc[0]);
      return;
    }
    if (!acc[0]) std::fill(dx, dx + in[0]->size(), 0.f);
    strided(strides_, [&](int64_t i, int64_t o) { dx[i] += s * dy[o]; });
  }
  bool backward_needs_input_data(int) const override { return false; }

 private:
  // fn(i, o) for each input position i and its output position o.
  template <class Fn>
  void strided(const std::vector<int64_t>& so, Fn fn) const {
    int64_t n = shape_size(in_);
    int nd = static_cast<int>(in_.size());
    std::vector<int64_t> idx(nd, 0);
    int64_t o = 0;
    for (int64_t i = 0; i < n; ++i) {
      fn(i, o);
      for (int d = nd - 1; d >= 0; --d) {
        if (++idx[d] < in_[d]) {
          o += so[d];
          break;
        }
        o -= so[d] * (in_[d] - 1);
        idx[d] = 0;
      }
    }
  }

  std::string name_;
  std::vector<int> axes_;
  bool keep_dims_, mean_;
  Shape_t in_;
  std::vector<bool> reduced_;
  std::vector<int64_t> strides_;
  bool contiguous_ = true;
  int64_t outer_ = 1, inner_ = 1, count_ = 1;
};

}  // namespace

CgVariablePtr functions::sum(CgVariablePtr x, const std::vector<int>& axes, bool keep_dims) {
  return connect(std::make_unique<Reduce>("sum", axes, keep_dims, false), {std::move(x)});
}
CgVariablePtr functions::mean(CgVariablePtr x, const std::vector<int>& axes, bool keep_dims) {
  return connect(std::make_unique<Reduce>("mean", axes, keep_dims, true), {std::move(x)});
}

}  // namespace nnvae
