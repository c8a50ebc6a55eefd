// convolution: y = W ⊛ x + b, as one matrix product per sample and group on
// the input's columns (im2col, conv_geometry.hpp):
//   y[n, g] (C'/G, P) = W[g] (C'/G, C/G·K) · col(x[n, g]) (C/G·K, P)
// with P the output positions, K the kernel's taps, G groups. Backward:
//   dx[n, g] (+)= col2im(W[g]ᵀ · dy[n, g]),  dW[g] (+)= Σ_n dy[n, g] · col(x[n, g])ᵀ,
//   db (+)= Σ_{n, p} dy[n, :, p];
// with stride 1, dx is rather dy's columns times the kernel reversed (see
// conv_backward).
//
// Why columns and a product rather than a direct loop: the product kernel
// (matmul.hpp) runs near the machine's peak, while a direct loop over
// taps would have to be blocked and vectorised again for every kernel size;
// the copy into columns costs ~K·C·P stores per sample against C'·K·C·P
// multiply-adds, and the columns of one sample (at most a few hundred KB at
// LeNet's and ResNet's sizes) stay in L2 for the product that reads them.
// A 1x1 kernel with stride 1 and no pad needs no copy: its columns are x.
//
// Threads: whole samples are shared out (sample_threads), each thread with
// its own columns; dW and db are summed per thread and added at the end.
#include <algorithm>
#include <vector>

#include "common.hpp"
#include "conv_geometry.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/kernels/matmul.hpp"
#include "product_function.hpp"

namespace nnvae {

namespace {

// y (N, OC, P) = conv(x (N, C, I), w (OC, C/G, K...)) + b (OC) [b may be
// null]; then ep, if given, on each finished (sample, group) block of y,
// given as rows n·OC + g·OC/G onwards of y seen as (N·OC, P).
void conv_forward(const float* x, const float* w, const float* b, float* y, const detail::ConvSizes& s,
                  const kernels::Epilogue* ep) {
  const detail::ConvGeometry& g = s.g;
  const int64_t P = g.col_size(), I = g.image_size(), R = s.rows(), OCg = s.OCg();
  if (detail::few_maps_applies(s)) {  // no columns (conv_few_maps.cpp)
    detail::few_maps_forward(x, w, b, y, s);
    for (int64_t n = 0; ep && n < s.N; ++n) (*ep)(y, P, n * s.OC, (n + 1) * s.OC, 0, P);
    return;
  }
  const bool copy = !g.identity();
  detail::forward_over_samples(s, [&](int64_t n, float* col) {
    for (int64_t gi = 0; gi < s.group; ++gi) {
      const float* xg = x + (n * s.C + gi * s.Cg()) * I;
      if (copy) detail::im2col(xg, s.Cg(), g, col);
      float* yg = y + (n * s.OC + gi * OCg) * P;
      if (b)  // the product adds to the bias
        for (int64_t o = 0; o < OCg; ++o) std::fill(yg + o * P, yg + (o + 1) * P, b[gi * OCg + o]);
      kernels::matmul(w + gi * OCg * R, false, copy ? col : xg, false, yg, OCg, R, P, b != nullptr);
      if (ep) (*ep)(y, P, n * s.OC + gi * OCg, n * s.OC + (gi + 1) * OCg, 0, P);
    }
  });
}

// dx (N, C, I) (+)= conv's gradient to x [then dx_ep on each sample's
// block, rows n·C onwards of dx seen as (N·C, I)]; dw (OC, C/G, K...) (+)=
// its gradient to W; db (OC) (+)= to b. Any of dx, dw, db may be null; x is
// read only for dw, w only for dx.
void conv_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                   const detail::ConvSizes& s, bool acc_x, bool acc_w, bool acc_b, const kernels::Epilogue* dx_ep) {
  if ((dw || db) && detail::few_maps_applies(s)) {  // dW and db without columns (conv_few_maps.cpp); dx below
    detail::few_maps_backward_w(x, dy, dw, db, s, acc_w, acc_b);
    dw = db = nullptr;
    if (!dx) return;
  }
  const detail::ConvGeometry& g = s.g;
  const int64_t P = g.col_size(), I = g.image_size(), R = s.rows(), OCg = s.OCg(), Cg = s.Cg(),
                K = g.kernel_size();
  const bool copy = !g.identity();
  // dx as a convolution of dy where the geometry allows (stride 1, as
  // ResNet's 3x3 pad 1): dx[n, g] (C/G, I) (+)= W̃[g] (C/G, C'/G·K) ·
  // col~(dy[n, g]) (C'/G·K, I), W̃[g][c, (o, t)] = W[g][o, c, K−1−t] (the
  // taps reversed), col~ the columns of the transposed geometry. The
  // product writes dx itself: no (C/G·K, P) columns to fill and add back.
  // Its work grows with x's positions I rather than y's P: taken only when
  // I <= P (LeNet's 5x5 without pad has I = 2.25·P, and was 15 % slower).
  const bool by_conv = copy && dx && g.transposable() && I <= P;
  const detail::ConvGeometry gt = by_conv ? g.transposed() : g;
  std::vector<float> wt(by_conv ? s.w_size() : 0);
  for (int64_t i = 0; by_conv && i < s.OC * Cg; ++i) {  // i = (group, o) · Cg + c
    const int64_t gi = i / (OCg * Cg), o = i / Cg % OCg, c = i % Cg;
    const float* from = w + i * K;
    float* to = wt.data() + ((gi * Cg + c) * OCg + o) * K;
    for (int64_t t = 0; t < K; ++t) to[K - 1 - t] = from[t];
  }

  // dW's product packs its second operand, the transposed one: the
  // columns (R, P) for dW, or dy[n, g] (C'/G, P) for dWᵀ = col · dyᵀ, whose
  // first operand, the columns, is then read in place. The smaller is
  // packed: dWᵀ when C'/G < R (LeNet's conv2: 16 × 64 floats against 400 ×
  // 64), the sum turned back once at the end (backward_over_samples).
  const bool dw_transposed = dw && OCg < R;

  // Sample n: its gradient to x (its groups, then the epilogue) when do_x;
  // its terms of dW and db, added to dw_to and db_to (written instead when
  // `first`).
  auto sample = [&](int64_t n, float* col, bool do_x, float* dw_to, float* db_to, bool first_w, bool first_b) {
    if (do_x) {
      for (int64_t gi = 0; gi < s.group; ++gi) {
        const float* dyg = dy + (n * s.OC + gi * OCg) * P;
        float* dxg = dx + (n * s.C + gi * s.Cg()) * I;
        if (!copy) {
          kernels::matmul(w + gi * OCg * R, true, dyg, false, dxg, R, OCg, P, acc_x);
          continue;
        }
        if (by_conv) {
          detail::im2col(dyg, OCg, gt, col);
          kernels::matmul(wt.data() + gi * Cg * OCg * K, false, col, false, dxg, Cg, OCg * K, I, acc_x);
          continue;
        }
        kernels::matmul(w + gi * OCg * R, true, dyg, false, col, R, OCg, P, false);
        detail::col2im(col, s.Cg(), g, dxg, acc_x);
      }
      if (dx_ep) (*dx_ep)(dx, I, n * s.C, (n + 1) * s.C, 0, I);
    }
    for (int64_t gi = 0; dw_to && gi < s.group; ++gi) {
      const float* xg = x + (n * s.C + gi * s.Cg()) * I;
      if (copy) detail::im2col(xg, s.Cg(), g, col);
      const float* cols = copy ? col : xg;
      const float* dyg = dy + (n * s.OC + gi * OCg) * P;
      if (dw_transposed)  // dW[g]ᵀ (R, C'/G) (+)= col (R, P) · dy[n, g]ᵀ
        kernels::matmul(cols, false, dyg, true, dw_to + gi * OCg * R, R, P, OCg, !first_w);
      else  // dW[g] (C'/G, R) (+)= dy[n, g] (C'/G, P) · colᵀ
        kernels::matmul(dyg, false, cols, true, dw_to + gi * OCg * R, OCg, P, R, !first_w);
    }
    if (db_to) detail::add_bias_grad(dy + n * s.OC * P, s.OC, P, db_to, first_b);
  };
  detail::backward_over_samples(s, dx != nullptr, dw, db, acc_w, acc_b, sample, by_conv ? OCg * K * I : 0,
                                dw_transposed);
}

class Convolution : public detail::ConvFunction<detail::EpilogueProduct> {
 public:
  Convolution(int base_axis, std::vector<int> pad, std::vector<int> stride, std::vector<int> dilation, int group,
              bool channel_last)
      : ConvFunction(base_axis, std::move(pad), std::move(stride), std::move(dilation), group, channel_last) {}
  std::string name() const override { return "convolution"; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t &x = in[0], &w = in[1];
    const std::string f = "convolution";
    detail::ConvArgs a = checked_args(f, x, w, nullptr);
    const int64_t oc = w[0];
    check_group_divides_input(f, a, x);
    if (oc % group_ != 0)
      detail::shape_error(f + ": group " + std::to_string(group_) + " does not divide the " + std::to_string(oc) +
                          " output channels (W shape " + shape_str(w) + ")");
    if (w[1] != a.channels / group_)
      detail::shape_error(f + ": x has " + std::to_string(a.channels) + " channels (shape " + shape_str(x) +
                          ", base_axis " + std::to_string(base_axis_) + ") and group " + std::to_string(group_) +
                          ", so W needs " + std::to_string(a.channels / group_) + " on axis 1, but W has shape " +
                          shape_str(w));
    std::vector<int64_t> out(a.kernel.size());
    for (size_t i = 0; i < out.size(); ++i) {
      const int64_t span = a.dilation[i] * (a.kernel[i] - 1) + 1, padded = a.spatial[i] + 2 * a.pad[i];
      if (span > padded)
        detail::shape_error(f + ": the kernel spans " + std::to_string(span) + " on spatial axis " +
                            std::to_string(i) + " (kernel " + detail::ints_str(a.kernel) + ", dilation " +
                            detail::ints_str(a.dilation) + ") but the padded input has only " +
                            std::to_string(padded) + " (x shape " + shape_str(x) + ", pad " +
                            detail::ints_str(a.pad) + ")");
      out[i] = (padded - span) / a.stride[i] + 1;
    }
    if (in.size() == 3 && in[2] != Shape_t{oc})
      detail::shape_error(f + ": b has shape " + shape_str(in[2]) + " but W shape " + shape_str(w) + " needs (" +
                          std::to_string(oc) + ",)");
    s_ = detail::ConvSizes{a.outer, a.channels, oc, group_, detail::make_geometry(a, a.spatial, out), false};
    return detail::conv_output_shape(x, base_axis_, oc, out);
  }

 private:
  // y's blocks: one (sample, group) at a time, y seen as (N·C', P).
  void run_forward(const std::vector<Variable*>& in, Variable* out, const kernels::Epilogue* ep) override {
    const float* b = in.size() == 3 ? detail::in_data(in[2]) : nullptr;
    conv_forward(detail::in_data(in[0]), detail::in_data(in[1]), b, detail::out_data(out), s_, ep);
  }
  // dx's blocks: one sample at a time once all its groups are in, dx seen
  // as (N·C, I).
  void run_backward(const std::vector<Variable*>& in, Variable* out, const std::vector<bool>& prop,
                    const std::vector<bool>& acc, const kernels::Epilogue* dx_ep) override {
    if (!prop[0] && !prop[1] && !(in.size() == 3 && prop[2])) return;
    const detail::ProductGrads gr = detail::product_grads(in, out, prop, acc);
    conv_backward(gr.x, gr.w, gr.dy, gr.dx, gr.dw, gr.db, s_, gr.acc_x, gr.acc_w, gr.acc_b, dx_ep);
  }

  detail::ConvSizes s_{};
};

}  // namespace

CgVariablePtr functions::convolution(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis,
                                     const std::vector<int>& pad, const std::vector<int>& stride,
                                     const std::vector<int>& dilation, int group, bool channel_last) {
  std::vector<CgVariablePtr> inputs{std::move(x), std::move(weight)};
  if (bias) inputs.push_back(std::move(bias));
  return connect(std::make_unique<Convolution>(base_axis, pad, stride, dilation, group, channel_last),
                 std::move(inputs));
}

CgVariablePtr functions::convolution(CgVariablePtr x, CgVariablePtr weight, CgVariablePtr bias, int base_axis,
                                     int group, const ConvolutionOpts& opts) {
  return convolution(std::move(x), std::move(weight), std::move(bias), base_axis, opts.pad(), opts.stride(),
                     opts.dilation(), group, opts.channel_last());
}

}  // namespace nnvae
