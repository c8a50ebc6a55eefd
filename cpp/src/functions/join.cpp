// Joining and splitting along an axis: concatenate, stack, split.
// concatenate: inputs x_k of shape (A..., n_k, B...) → y (A..., Σ n_k, B...).
// Seen as (outer, n_k·inner) blocks, y's row o is x_0's row o, then x_1's,
// ...; backward copies the matching part of dy's rows back to each x_k.
// stack and split are built from it and from slice/reshape.
#include <algorithm>

#include "layout.hpp"
#include "nnvae/functions.hpp"

namespace nnvae {
namespace kernels {

// y (outer, row_y) gets x (outer, row_x) at column offset `col`.
void concat_forward_part(const float* x, float* y, int64_t outer, int64_t row_x, int64_t row_y, int64_t col) {
  for (int64_t o = 0; o < outer; ++o) std::copy(x + o * row_x, x + (o + 1) * row_x, y + o * row_y + col);
}

// dx (outer, row_x) (+)= dy (outer, row_y) at column offset `col`.
void concat_backward_part(const float* dy, float* dx, int64_t outer, int64_t row_x, int64_t row_y, int64_t col,
                          bool accumulate) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* g = dy + o * row_y + col;
    float* d = dx + o * row_x;
    if (accumulate)
      for (int64_t j = 0; j < row_x; ++j) d[j] += g[j];
    else
      std::copy(g, g + row_x, d);
  }
}

}  // namespace kernels

namespace {

class Concatenate : public Function {
 public:
  explicit Concatenate(int axis) : axis_(axis) {}
  std::string name() const override { return "concatenate"; }
  Shape_t setup(const std::vector<Shape_t>& in) override {
    if (in.empty()) detail::shape_error("concatenate: no inputs");
    const Shape_t& first = in[0];
    const int nd = static_cast<int>(first.size());
    if (nd == 0) detail::shape_error("concatenate: input 0 is 0-dimensional; there is no axis to join along");
    const int a = detail::normalize_axis("concatenate", axis_, nd, first);
    Shape_t out = first;
    out[a] = 0;
    outer_ = 1;
    inner_ = 1;
    for (int d = 0; d < a; ++d) outer_ *= first[d];
    for (int d = a + 1; d < nd; ++d) inner_ *= first[d];
    rows_.clear();
    for (size_t k = 0; k < in.size(); ++k) {
      bool fits = in[k].size() == first.size();
      for (int d = 0; fits && d < nd; ++d) fits = d == a || in[k][d] == first[d];
      if (!fits)
        detail::shape_error("concatenate: input " + std::to_string(k) + " has shape " + shape_str(in[k]) +
                            " but input 0 has shape " + shape_str(first) + "; all axes except axis " +
                            std::to_string(a) + " must agree");
      out[a] += in[k][a];
      rows_.push_back(in[k][a] * inner_);
    }
    row_y_ = out[a] * inner_;
    return out;
  }
  void forward(const std::vector<Variable*>& in, Variable* out) override {
    float* y = detail::out_data(out);
    int64_t col = 0;
    for (size_t k = 0; k < in.size(); ++k) {
      kernels::concat_forward_part(detail::in_data(in[k]), y, outer_, rows_[k], row_y_, col);
      col += rows_[k];
    }
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    const float* dy = detail::in_grad(out);
    int64_t col = 0;
    for (size_t k = 0; k < in.size(); ++k) {
      if (prop[k])
        kernels::concat_backward_part(dy, detail::in_grad_for(in[k], acc[k]), outer_, rows_[k], row_y_, col, acc[k]);
      col += rows_[k];
    }
  }
  bool backward_needs_input_data(int) const override { return false; }

 private:
  int axis_;
  int64_t outer_ = 1, inner_ = 1, row_y_ = 0;
  std::vector<int64_t> rows_;  // n_k · inner per input
};

std::vector<int> ints(const Shape_t& s) { return std::vector<int>(s.begin(), s.end()); }

}  // namespace

namespace functions {

CgVariablePtr concatenate(const std::vector<CgVariablePtr>& x, int axis) {
  return connect(std::make_unique<Concatenate>(axis), x);
}

// Each input reshaped to have a 1 at `axis`, then concatenated there.
CgVariablePtr stack(const std::vector<CgVariablePtr>& x, int axis) {
  if (x.empty()) detail::shape_error("stack: no inputs");
  for (size_t k = 0; k < x.size(); ++k)
    if (!x[k]) detail::shape_error("stack: input " + std::to_string(k) + " is null");
  const Shape_t& first = x[0]->shape();
  const int nd = static_cast<int>(first.size());
  const int a = detail::normalize_axis("stack", axis, nd + 1, first);
  for (size_t k = 1; k < x.size(); ++k)
    if (x[k]->shape() != first)
      detail::shape_error("stack: input " + std::to_string(k) + " has shape " + shape_str(x[k]->shape()) +
                          " but input 0 has shape " + shape_str(first) + "; all must be equal");
  Shape_t with_axis = first;
  with_axis.insert(with_axis.begin() + a, 1);
  std::vector<CgVariablePtr> parts;
  for (auto& v : x) parts.push_back(reshape(v, ints(with_axis), false));
  return concatenate(parts, a);
}

// Output i: slice [i, i + 1) along `axis`, then that axis dropped.
std::vector<CgVariablePtr> split(CgVariablePtr x, int axis) {
  if (!x) detail::shape_error("split: x is null");
  const Shape_t& s = x->shape();
  const int nd = static_cast<int>(s.size());
  const int a = detail::normalize_axis("split", axis, nd, s);
  Shape_t rest = s;
  rest.erase(rest.begin() + a);
  std::vector<int> start(nd, 0), stop = ints(s), step(nd, 1);
  std::vector<CgVariablePtr> out;
  for (int64_t i = 0; i < s[a]; ++i) {
    start[a] = static_cast<int>(i);
    stop[a] = static_cast<int>(i + 1);
    out.push_back(reshape(slice(x, start, stop, step), ints(rest), false));
  }
  return out;
}

}  // namespace functions
}  // namespace nnvae
