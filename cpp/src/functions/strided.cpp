// Functions that read x through a strided view: slice, transpose, broadcast.
// Each is y[i] = x[base + Σ_d idx_d(i)·stride_d], where idx(i) is i's
// multi-index in y's shape and the strides are x's, scaled by the slice step,
// permuted by the transpose, or 0 along broadcast axes. Backward scatters:
// dx[offset(i)] += dy[i] (several i share an offset only under broadcast).
#include <algorithm>
#include <functional>

#include "layout.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

// y (shape) = x read at base + idx·strides.
void strided_gather(const float* x, float* y, const Shape_t& shape, const std::vector<int64_t>& strides, int64_t base) {
  detail::for_each_strided(shape, strides, base, [&](int64_t i, int64_t off) { y[i] = x[off]; });
}

// dx (n_x elements) (+)= the scatter of dy (shape) to base + idx·strides.
void strided_scatter_add(const float* dy, float* dx, int64_t n_x, const Shape_t& shape,
                         const std::vector<int64_t>& strides, int64_t base, bool accumulate) {
  if (!accumulate) std::fill(dx, dx + n_x, 0.f);
  detail::for_each_strided(shape, strides, base, [&](int64_t i, int64_t off) { dx[off] += dy[i]; });
}

}  // namespace kernels

namespace {

// The view is fixed by `plan(x_shape, y_shape, strides, base)`, run at setup.
class StridedView : public Function {
 public:
  using Plan = std::function<void(const Shape_t&, Shape_t&, std::vector<int64_t>&, int64_t&)>;
  StridedView(std::string name, Plan plan) : name_(std::move(name)), plan_(std::move(plan)) {}
  std::string name() const override { return name_; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    plan_(in[0], out_, strides_, base_);
    return out_;
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    kernels::strided_gather(detail::in_data(in[0]), detail::out_data(out), out_, strides_, base_);
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0]) return;
    kernels::strided_scatter_add(detail::in_grad(out), detail::in_grad_for(in[0], acc[0]), in[0]->size(), out_,
                                 strides_, base_, acc[0]);
  }
  bool backward_needs_input_data(int) const override { return false; }

 private:
  std::string name_;
  Plan plan_;
  Shape_t out_;
  std::vector<int64_t> strides_;
  int64_t base_ = 0;
};

std::string ints_str(const std::vector<int>& v) {
  std::vector<int64_t> w(v.begin(), v.end());
  return shape_str(w);
}

}  // namespace

namespace functions {

CgVariablePtr slice(CgVariablePtr x, const std::vector<int>& start, const std::vector<int>& stop,
                    const std::vector<int>& step) {
  auto plan = [start, stop, step](const Shape_t& in, Shape_t& out, std::vector<int64_t>& strides, int64_t& base) {
    const size_t nd = in.size();
    if (start.size() != stop.size() || start.size() != step.size())
      detail::shape_error("slice: start " + ints_str(start) + ", stop " + ints_str(stop) + " and step " +
                          ints_str(step) + " must have the same length");
    if (start.size() > nd)
      detail::shape_error("slice: start " + ints_str(start) + " has " + std::to_string(start.size()) +
                          " entries but x has shape " + shape_str(in));
    const size_t skip = nd - start.size();  // leading axes taken whole
    const std::vector<int64_t> xs = detail::contiguous_strides(in);
    out.assign(nd, 0);
    strides.assign(nd, 0);
    base = 0;
    for (size_t d = 0; d < nd; ++d) {
      int64_t n = in[d], b = 0, e = n, s = 1;
      if (d >= skip) {
        b = start[d - skip], e = stop[d - skip], s = step[d - skip];
        if (s == 0) detail::shape_error("slice: step " + ints_str(step) + " has a 0 (axis " + std::to_string(d) + ")");
        if (b < 0) b += n;
        if (e < 0) e += n;
        // Clamp as Python does: b to [0, n] (or [-1, n-1] going down), e likewise.
        if (s > 0) {
          b = std::min(std::max<int64_t>(b, 0), n);
          e = std::min(std::max<int64_t>(e, 0), n);
        } else {
          b = std::min(std::max<int64_t>(b, -1), n - 1);
          e = std::min(std::max<int64_t>(e, -1), n - 1);
        }
      }
      int64_t len = 0;
      if (s > 0 && b < e) len = (e - b + s - 1) / s;
      if (s < 0 && b > e) len = (b - e + (-s) - 1) / (-s);
      out[d] = len;
      strides[d] = xs[d] * s;
      if (len > 0) base += xs[d] * b;
    }
  };
  return connect(std::make_unique<StridedView>("slice", plan), {std::move(x)});
}

CgVariablePtr transpose(CgVariablePtr x, const std::vector<int>& axes) {
  auto plan = [axes](const Shape_t& in, Shape_t& out, std::vector<int64_t>& strides, int64_t& base) {
    const int nd = static_cast<int>(in.size());
    if (static_cast<int>(axes.size()) != nd)
      detail::shape_error("transpose: axes " + ints_str(axes) + " has " + std::to_string(axes.size()) +
                          " entries but x has shape " + shape_str(in) + " (" + std::to_string(nd) + " axes)");
    const std::vector<int64_t> xs = detail::contiguous_strides(in);
    std::vector<bool> used(nd, false);
    out.assign(nd, 0);
    strides.assign(nd, 0);
    base = 0;
    for (int d = 0; d < nd; ++d) {
      int a = axes[d] < 0 ? axes[d] + nd : axes[d];
      if (a < 0 || a >= nd || used[a])
        detail::shape_error("transpose: axes " + ints_str(axes) + " is not a permutation of the " +
                            std::to_string(nd) + " axes of x (shape " + shape_str(in) + ")");
      used[a] = true;
      out[d] = in[a];
      strides[d] = xs[a];
    }
  };
  return connect(std::make_unique<StridedView>("transpose", plan), {std::move(x)});
}

CgVariablePtr broadcast(CgVariablePtr x, const std::vector<int>& shape) {
  Shape_t target = detail::to_shape("broadcast", shape);
  auto plan = [target](const Shape_t& in, Shape_t& out, std::vector<int64_t>& strides, int64_t& base) {
    if (in.size() > target.size())
      detail::shape_error("broadcast: x has shape " + shape_str(in) + ", more axes than the target shape " +
                          shape_str(target));
    const size_t lead = target.size() - in.size();
    for (size_t k = 0; k < in.size(); ++k)
      if (in[k] != 1 && in[k] != target[lead + k])
        detail::shape_error("broadcast: x of shape " + shape_str(in) + " cannot be broadcast to " + shape_str(target) +
                            " (axis " + std::to_string(lead + k) + ": " + std::to_string(in[k]) + " vs " +
                            std::to_string(target[lead + k]) + "; only axes of size 1 are repeated)");
    out = target;
    strides = detail::broadcast_strides(in, target);
    base = 0;
  };
  return connect(std::make_unique<StridedView>("broadcast", plan), {std::move(x)});
}

}  // namespace functions
}  // namespace nnvae
