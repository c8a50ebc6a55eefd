// Convolution and deconvolution by direct loops over their definition, in
// double, for the tests: every (window position j, tap t) pair of every
// sample, group and channel pair, reading or writing the image at
// j·stride − pad + t·dilation when that falls inside it.
//
// Convolution: the image is x (C channels), the window positions are y
// (C' channels), W is (C', C/G, K...): y[o, j] += W[o, c, t] · x[c, i].
// Deconvolution: the positions are x (C channels), the image is y (C'
// channels), W is (C, C'/G, K...): y[o, i] += W[c, o, t] · x[c, j].
// In both, W's element for (position channel p, image channel q of p's
// group, tap t) is at ((p · (image channels / G)) + q mod group size)·K + t.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include <nnvae/nnvae.hpp>

namespace nnvae_test {

class RefConv {
 public:
  RefConv(bool deconv, const nnvae::Shape_t& xs, const nnvae::Shape_t& ws, int base_axis, std::vector<int> pad,
          std::vector<int> stride, std::vector<int> dilation, int group, std::vector<int> output_padding)
      : deconv_(deconv), group_(group) {
    const size_t S = ws.size() - 2;
    for (int i = 0; i < base_axis; ++i) n_ *= xs[i];
    const int64_t c = xs[base_axis];
    const int64_t c_out = deconv ? ws[1] * group : ws[0];
    auto get = [&](const std::vector<int>& v, size_t i, int fill) { return v.empty() ? fill : v[i]; };
    std::vector<int64_t> out;
    for (size_t i = 0; i < S; ++i) {
      const int64_t L = xs[base_axis + 1 + i], k = ws[2 + i], p = get(pad, i, 0), s = get(stride, i, 1),
                    d = get(dilation, i, 1), op = get(output_padding, i, 0);
      out.push_back(deconv ? s * (L - 1) - 2 * p + d * (k - 1) + 1 + op : (L + 2 * p - d * (k - 1) - 1) / s + 1);
      const size_t a = 3 - S + i;  // padded to 3 axes in front
      k_[a] = k, s_[a] = s, p_[a] = p, d_[a] = d;
      (deconv ? pos_ : img_)[a] = L;
      (deconv ? img_ : pos_)[a] = out.back();
    }
    pos_ch_ = deconv ? c : c_out;
    img_ch_ = deconv ? c_out : c;
    y_shape_.assign(xs.begin(), xs.begin() + base_axis);
    y_shape_.push_back(c_out);
    y_shape_.insert(y_shape_.end(), out.begin(), out.end());
  }

  const nnvae::Shape_t& y_shape() const { return y_shape_; }

  std::vector<float> forward(const std::vector<float>& x, const std::vector<float>& w,
                             const std::vector<float>& b) const {
    std::vector<double> y(static_cast<size_t>(nnvae::shape_size(y_shape_)), 0.0);
    const int64_t c_out = deconv_ ? img_ch_ : pos_ch_, per = int64_t(y.size()) / std::max<int64_t>(1, n_ * c_out);
    if (!b.empty())
      for (size_t i = 0; i < y.size(); ++i) y[i] = b[(i / per) % c_out];
    visit([&](int64_t pos, int64_t img, int64_t wi) {
      if (deconv_)
        y[img] += double(w[wi]) * x[pos];
      else
        y[pos] += double(w[wi]) * x[img];
    });
    return std::vector<float>(y.begin(), y.end());
  }

  void backward(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& dy,
                std::vector<float>& dx_out, std::vector<float>& dw_out, std::vector<float>& db_out) const {
    std::vector<double> dx(x.size(), 0.0), dw(w.size(), 0.0);
    const int64_t c_out = deconv_ ? img_ch_ : pos_ch_, per = int64_t(dy.size()) / std::max<int64_t>(1, n_ * c_out);
    std::vector<double> db(static_cast<size_t>(c_out), 0.0);
    for (size_t i = 0; i < dy.size(); ++i) db[(i / per) % c_out] += dy[i];
    visit([&](int64_t pos, int64_t img, int64_t wi) {
      if (deconv_) {
        dx[pos] += double(w[wi]) * dy[img];
        dw[wi] += double(x[pos]) * dy[img];
      } else {
        dx[img] += double(w[wi]) * dy[pos];
        dw[wi] += double(x[img]) * dy[pos];
      }
    });
    dx_out.assign(dx.begin(), dx.end());
    dw_out.assign(dw.begin(), dw.end());
    db_out.assign(db.begin(), db.end());
  }

 private:
  // fn(position-side flat index, image-side flat index, W flat index) for
  // every pair that meets.
  template <class Fn>
  void visit(Fn&& fn) const {
    const int64_t pg = pos_ch_ / group_, ig = img_ch_ / group_, K = k_[0] * k_[1] * k_[2];
    const int64_t P = pos_[0] * pos_[1] * pos_[2], I = img_[0] * img_[1] * img_[2];
    for (int64_t n = 0; n < n_; ++n)
      for (int64_t pc = 0; pc < pos_ch_; ++pc)
        for (int64_t q = 0; q < ig; ++q) {
          const int64_t ic = (pc / pg) * ig + q;
          for (int64_t j0 = 0; j0 < pos_[0]; ++j0)
            for (int64_t j1 = 0; j1 < pos_[1]; ++j1)
              for (int64_t j2 = 0; j2 < pos_[2]; ++j2)
                for (int64_t t0 = 0; t0 < k_[0]; ++t0)
                  for (int64_t t1 = 0; t1 < k_[1]; ++t1)
                    for (int64_t t2 = 0; t2 < k_[2]; ++t2) {
                      const int64_t i0 = j0 * s_[0] - p_[0] + t0 * d_[0], i1 = j1 * s_[1] - p_[1] + t1 * d_[1],
                                    i2 = j2 * s_[2] - p_[2] + t2 * d_[2];
                      if (i0 < 0 || i0 >= img_[0] || i1 < 0 || i1 >= img_[1] || i2 < 0 || i2 >= img_[2]) continue;
                      fn((n * pos_ch_ + pc) * P + (j0 * pos_[1] + j1) * pos_[2] + j2,
                         (n * img_ch_ + ic) * I + (i0 * img_[1] + i1) * img_[2] + i2,
                         (pc * ig + q) * K + (t0 * k_[1] + t1) * k_[2] + t2);
                    }
        }
  }

  bool deconv_;
  int64_t group_;
  int64_t n_ = 1, pos_ch_ = 0, img_ch_ = 0;
  std::array<int64_t, 3> k_{1, 1, 1}, s_{1, 1, 1}, p_{0, 0, 0}, d_{1, 1, 1}, pos_{1, 1, 1}, img_{1, 1, 1};
  nnvae::Shape_t y_shape_;
};

}  // namespace nnvae_test
