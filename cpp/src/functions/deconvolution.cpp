// deconvolution: the transpose of convolution, on the same columns and
// products (conv_geometry.hpp, convolution.cpp). With y the image the
// columns are taken from (C'/G·K rows per group), x the window positions
// (C/G channels per group, P positions) and W (C, C'/G, K...):
//   y[n, g] = col2im(W[g]ᵀ (C'/G·K, C/G) · x[n, g] (C/G, P)) + b
// Backward:
//   dx[n, g] (+)= W[g] (C/G, C'/G·K) · col(dy[n, g]) (C'/G·K, P),
//   dW[g] (+)= Σ_n x[n, g] · col(dy[n, g])ᵀ,  db (+)= Σ dy over samples and positions.
// Threads as in convolution: whole samples shared out, dW and db summed
// per thread and added at the end.
#include <algorithm>
#include <vector>

#include "common.hpp"
#include "conv_geometry.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/kernels/matmul.hpp"
#include "product_function.hpp"

namespace nnvae {

namespace {

// y (N, OC, I) = deconv(x (N, C, P), w (C, OC/G, K...)) + b (OC) [b may be null].
void deconv_forward(const float* x, const float* w, const float* b, float* y, const detail::ConvSizes& s) {
  const detail::ConvGeometry& g = s.g;
  const int64_t P = g.col_size(), I = g.image_size(), R = s.rows(), Cg = s.Cg();
  const bool copy = !g.identity();
  detail::forward_over_samples(s, [&](int64_t n, float* col) {
    for (int64_t gi = 0; gi < s.group; ++gi) {
      const float* xg = x + (n * s.C + gi * Cg) * P;
      float* yg = y + (n * s.OC + gi * s.OCg()) * I;
      if (copy) {
        kernels::matmul(w + gi * Cg * R, true, xg, false, col, R, Cg, P, false);
        detail::col2im(col, s.OCg(), g, yg, false);
      } else {
        kernels::matmul(w + gi * Cg * R, true, xg, false, yg, R, Cg, P, false);
      }
    }
    if (b)
      for (int64_t o = 0; o < s.OC; ++o) {
        float* row = y + (n * s.OC + o) * I;
        const float bo = b[o];
#pragma omp simd
        for (int64_t i = 0; i < I; ++i) row[i] += bo;
      }
  });
}

// dx (N, C, P) (+)= the gradient to x; dw (C, OC/G, K...) (+)= to W; db
// (OC) (+)= to b. Any may be null; x is read only for dw, w only for dx.
void deconv_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     const detail::ConvSizes& s, bool acc_x, bool acc_w, bool acc_b) {
  const detail::ConvGeometry& g = s.g;
  const int64_t P = g.col_size(), I = g.image_size(), R = s.rows(), Cg = s.Cg();
  const bool copy = !g.identity();

  // As in convolution: dW's product packs the smaller of its operands,
  // x[n, g] (C/G, P) for dWᵀ = col · xᵀ when C/G < R (DCGAN's deconv4: 64 ×
  // 256 floats against the columns' 1,024 × 256), the sum turned back at
  // the end.
  const bool dw_transposed = dw && Cg < R;

  // Sample n: the columns of dy's groups, each feeding dx and dW; then db.
  auto sample = [&](int64_t n, float* col, bool do_x, float* dw_to, float* db_to, bool first_w, bool first_b) {
    for (int64_t gi = 0; (do_x || dw_to) && gi < s.group; ++gi) {
      const float* dyg = dy + (n * s.OC + gi * s.OCg()) * I;
      if (copy) detail::im2col(dyg, s.OCg(), g, col);
      const float* c = copy ? col : dyg;
      if (do_x) kernels::matmul(w + gi * Cg * R, false, c, false, dx + (n * s.C + gi * Cg) * P, Cg, R, P, acc_x);
      const float* xg = x + (n * s.C + gi * Cg) * P;
      if (dw_to && dw_transposed)  // dW[g]ᵀ (R, C/G) (+)= col (R, P) · x[n, g]ᵀ
        kernels::matmul(c, false, xg, true, dw_to + gi * Cg * R, R, P, Cg, !first_w);
      else if (dw_to)  // dW[g] (C/G, R) (+)= x[n, g] (C/G, P) · colᵀ
        kernels::matmul(xg, false, c, true, dw_to + gi * Cg * R, Cg, P, R, !first_w);
    }
    if (db_to) detail::add_bias_grad(dy + n * s.OC * I, s.OC, I, db_to, first_b);
  };
  detail::backward_over_samples(s, dx != nullptr, dw, db, acc_w, acc_b, sample, 0, dw_transposed);
}

class Deconvolution : public detail::ConvFunction<Function> {
 public:
  Deconvolution(int base_axis, std::vector<int> pad, std::vector<int> stride, std::vector<int> dilation, int group,
                bool channel_last, std::vector<int> output_padding)
      : ConvFunction(base_axis, std::move(pad), std::move(stride), std::move(dilation), group, channel_last),
        output_padding_(std::move(output_padding)) {}
  std::string name() const override { return "deconvolution"; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t &x = in[0], &w = in[1];
    const std::string f = "deconvolution";
    detail::ConvArgs a = checked_args(f, x, w, &output_padding_);
    if (w[0] != a.channels)
      detail::shape_error(f + ": x has " + std::to_string(a.channels) + " channels (shape " + shape_str(x) +
                          ", base_axis " + std::to_string(base_axis_) + ") but W of shape " + shape_str(w) +
                          " expects " + std::to_string(w[0]) + " on axis 0");
    check_group_divides_input(f, a, x);
    const int64_t oc = w[1] * group_;
    std::vector<int64_t> out(a.kernel.size());
    for (size_t i = 0; i < out.size(); ++i) {
      if (a.output_padding[i] >= a.stride[i])
        detail::shape_error(f + ": output_padding " + detail::ints_str(a.output_padding) + " must be smaller than "
                            "stride " + detail::ints_str(a.stride) + " on every spatial axis (axis " +
                            std::to_string(i) + ")");
      out[i] = a.stride[i] * (a.spatial[i] - 1) - 2 * a.pad[i] + a.dilation[i] * (a.kernel[i] - 1) + 1 +
               a.output_padding[i];
      if (out[i] < 1)
        detail::shape_error(f + ": the output would be empty on spatial axis " + std::to_string(i) + ": stride·(" +
                            std::to_string(a.spatial[i]) + " − 1) − 2·pad + dilation·(kernel − 1) + 1 + "
                            "output_padding = " + std::to_string(out[i]) + " (x shape " + shape_str(x) +
                            ", W shape " + shape_str(w) + ", pad " + detail::ints_str(a.pad) + ", stride " +
                            detail::ints_str(a.stride) + ", dilation " + detail::ints_str(a.dilation) + ")");
    }
    if (in.size() == 3 && in[2] != Shape_t{oc})
      detail::shape_error(f + ": b has shape " + shape_str(in[2]) + " but W shape " + shape_str(w) + " and group " +
                          std::to_string(group_) + " make " + std::to_string(oc) + " output channels, so (" +
                          std::to_string(oc) + ",)");
    s_ = detail::ConvSizes{a.outer, a.channels, oc, group_, detail::make_geometry(a, out, a.spatial), true};
    return detail::conv_output_shape(x, base_axis_, oc, out);
  }

  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* b = in.size() == 3 ? detail::in_data(in[2]) : nullptr;
    deconv_forward(detail::in_data(in[0]), detail::in_data(in[1]), b, detail::out_data(out), s_);
  }
  void backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                const std::vector<bool>& acc) override {
    if (!prop[0] && !prop[1] && !(in.size() == 3 && prop[2])) return;
    const detail::ProductGrads g = detail::product_grads(in, out, prop, acc);
    deconv_backward(g.x, g.w, g.dy, g.dx, g.dw, g.db, s_, g.acc_x, g.acc_w, g.acc_b);
  }
  bool backward_needs_input_data(int i) const override { return i < 2; }

 private:
  std::vector<int> output_padding_;
  detail::ConvSizes s_{};
};

}  // namespace

CgVariablePtr functions::deconvolution(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis,
                                       const std::vector<int>& pad, const std::vector<int>& stride,
                                       const std::vector<int>& dilation, int group, bool channel_last,
                                       const std::vector<int>& output_padding) {
  std::vector<CgVariablePtr> inputs{std::move(x), std::move(weight)};
  if (bias) inputs.push_back(std::move(bias));
  return connect(
      std::make_unique<Deconvolution>(base_axis, pad, stride, dilation, group, channel_last, output_padding),
      std::move(inputs));
}

CgVariablePtr functions::deconvolution(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis,
                                       int group, const DeconvolutionOpts& opts) {
  return deconvolution(std::move(x), std::move(weight), std::move(bias), base_axis, opts.pad(), opts.stride(),
                       opts.dilation(), group, opts.channel_last(), opts.output_padding());
}

}  // namespace nnvae
