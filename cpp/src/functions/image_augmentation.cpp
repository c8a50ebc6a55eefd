// image_augmentation: each image of x (N images of C channels, H_in x W_in)
// resampled into H_out x W_out with a random scale, aspect ratio, rotation,
// window, lens distortion and flips, then brightness, contrast and noise.
//
// The random draws and their arithmetic are NNabla's CPU ones, in its order,
// so that a seed gives NNabla's images (to float rounding). Per image, from
// one Mersenne Twister, u = (draw mod 1001)·0.001 in [0, 1]:
//   scale      s  = min_scale·exp(u·log(max_scale/min_scale))
//   aspect     sx = exp(−log(aspect_ratio)/2 + u·log(aspect_ratio)), sy = 1/sx
//   angle      θ  = −angle + u·2·angle
//   window     the centre of the output sits at u·(W_pad·s·sx − W_out) +
//              (W_out − 1)/2 in the scaled padded image (likewise in y, a
//              second u)
//   flips      one draw each (always drawn), odd = flip when asked
//   brightness b  = u·2·brightness − brightness
//   contrast   c  = exp(u·2·log(contrast))/contrast
//   (per channel one u for b and one for c when *_each)
//   distortion k  = exp(u·2·distortion − distortion) − 1
//   noise      σ  = u·noise, then σ·N(0, 1) per output value when σ > 0
//              (std::normal_distribution over the same generator, pixel by
//              pixel, channel innermost).
// Output pixel (i, j) reads the input at p0 + j·a_col + i·a_row (in input
// pixels, walked by adding the steps as NNabla does), where
//   a_col = ( cos θ/(s·sx),  sin θ/(s·sx)),
//   a_row = (−sin θ/(s·sy),  cos θ/(s·sy)),
// flip_lr negating both x components and flip_ud both y components, and p0
// puts the output's centre at the window's centre (minus the pad);
// with distortion the pixel (i, j) first moves radially: (d + d·k·r²)/(1 + k)
// in coordinates d centred on the output and scaled to [−1, 1]. The position
// is clamped to the input, sampled bilinearly, then
//   v = (v + b − contrast_center)·c + contrast_center (+ noise).
// Padding is the clamp: positions in the pad read the nearest edge pixel.
#include <cmath>
#include <random>

#include "common.hpp"
#include "nnvae/functions.hpp"
#include "nnvae/random.hpp"

namespace nnvae {
namespace kernels {

// Where one image samples, and its intensity change.
struct AugmentDraw {
  float x0, y0;      // input position of output pixel (0, 0)
  float ax_x, ax_y;  // step of the input position per output column
  float ay_x, ay_y;  // ... per output row
  float distortion;  // k (0: none)
  std::vector<float> shift, gain;  // per channel: b − contrast_center, c
  const double* noise = nullptr;   // σ·N(0, 1) for (H_out, W_out, C), or null
};

// x: (C, H_in, W_in), y: (C, H_out, W_out), one image.
void augment_image(const float* x, float* y, int64_t C, int64_t H_in, int64_t W_in, int64_t H_out, int64_t W_out,
                   const AugmentDraw& d, float contrast_center) {
  const float w_half = W_out * 0.5f, h_half = H_out * 0.5f;
  const float i_w_half = 1.0f / w_half, i_h_half = 1.0f / h_half;
  const float k = d.distortion, k_scale = 1.0f / (1.0f + k);
  float row_x = d.x0, row_y = d.y0;
  for (int64_t i = 0; i < H_out; ++i) {
    float px = row_x, py = row_y;
    for (int64_t j = 0; j < W_out; ++j) {
      float sx = px, sy = py;
      if (k != 0.0f) {
        float dx = (j - w_half) * i_w_half, dy = (i - h_half) * i_h_half;
        const float r = std::sqrt(dx * dx + dy * dy), r2 = r * r;
        dx = (dx + dx * k * r2) * w_half * k_scale + w_half;
        dy = (dy + dy * k * r2) * h_half * k_scale + h_half;
        sx = d.x0 + dx * d.ax_x + dy * d.ay_x;
        sy = d.y0 + dx * d.ax_y + dy * d.ay_y;
      }
      sx = sx < 0 ? 0.0f : (sx > W_in - 1 ? float(W_in - 1) : sx);
      sy = sy < 0 ? 0.0f : (sy > H_in - 1 ? float(H_in - 1) : sy);
      const int64_t c0 = static_cast<int64_t>(sx), r0 = static_cast<int64_t>(sy);
      const float fx = sx - c0, fy = sy - r0;
      const int64_t c1 = c0 < W_in - 1 ? c0 + 1 : c0, r1 = r0 < H_in - 1 ? r0 + 1 : r0;
      const int64_t at[4] = {r0 * W_in + c0, r0 * W_in + c1, r1 * W_in + c0, r1 * W_in + c1};
      const float w[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
      for (int64_t c = 0; c < C; ++c) {
        const float* xc = x + c * H_in * W_in;
        float v = 0.0f;
        for (int q = 0; q < 4; ++q) v += xc[at[q]] * w[q];
        v = (v + d.shift[c]) * d.gain[c] + contrast_center;
        if (d.noise) v = static_cast<float>(v + d.noise[(i * W_out + j) * C + c]);
        y[(c * H_out + i) * W_out + j] = v;
      }
      px += d.ax_x;
      py += d.ax_y;
    }
    if (k == 0.0f) {
      row_x += d.ay_x;
      row_y += d.ay_y;
    }
  }
}

}  // namespace kernels

namespace {

const char* kName = "image_augmentation";

// A generator as a standard uniform random bit generator (for std::normal_distribution).
struct Bits {
  using result_type = uint32_t;
  Generator& g;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return 0xffffffffu; }
  result_type operator()() { return g.bits(); }
};

struct Options {
  std::vector<int> shape, pad;
  float min_scale, max_scale, angle, aspect_ratio, distortion;
  bool flip_lr, flip_ud;
  float brightness;
  bool brightness_each;
  float contrast, contrast_center;
  bool contrast_each;
  float noise;
  int seed;
};

class ImageAugmentation : public Function {
 public:
  explicit ImageAugmentation(Options o) : o_(std::move(o)) {
    if (o_.seed != -1) own_.seed(static_cast<uint32_t>(o_.seed));
  }
  std::string name() const override { return kName; }

  Shape_t setup(const std::vector<Shape_t>& in) override {
    const Shape_t& xs = in[0];
    const std::string f = kName;
    const int nd = static_cast<int>(xs.size());
    if (nd < 2) detail::shape_error(f + ": x must have at least 2 axes (height, width), got shape " + shape_str(xs));
    Shape_t out = xs;
    if (!o_.shape.empty()) {
      const int ns = static_cast<int>(o_.shape.size());
      if (ns < 2 || ns > nd)
        detail::shape_error(f + ": shape must have 2 to " + std::to_string(nd) +
                            " entries (..., height, width) for x of shape " + shape_str(xs) + ", got " +
                            shape_str(Shape_t(o_.shape.begin(), o_.shape.end())));
      for (int k = 0; k < ns; ++k) {
        const int64_t want = o_.shape[k];
        if (want <= 0 || (k < ns - 2 && want != xs[nd - ns + k]))
          detail::shape_error(f + ": shape " + shape_str(Shape_t(o_.shape.begin(), o_.shape.end())) +
                              " does not fit x of shape " + shape_str(xs) +
                              ": height and width must be > 0 and the axes before them must be x's");
        out[nd - ns + k] = want;
      }
    }
    W_in_ = xs[nd - 1];
    H_in_ = xs[nd - 2];
    C_ = nd >= 3 ? xs[nd - 3] : 1;
    N_ = 1;
    for (int d = 0; d < nd - 3; ++d) N_ *= xs[d];
    W_out_ = out[nd - 1];
    H_out_ = out[nd - 2];
    if (shape_size(xs) > 0 && (W_in_ == 0 || H_in_ == 0))
      detail::shape_error(f + ": x of shape " + shape_str(xs) + " has an empty image axis");
    return out;
  }

  void forward(const std::vector<Variable*>& in, Variable* out) override {
    const float* x = detail::in_data(in[0]);
    float* y = detail::out_data(out);
    if (in[0]->size() == 0 || out->size() == 0) return;
    std::vector<kernels::AugmentDraw> draws(N_);
    std::vector<std::vector<double>> noise(N_);
    {
      GeneratorUse shared;  // this thread's generator, locked if process-wide
      Generator& g = o_.seed == -1 ? shared.get() : own_;
      Bits bits{g};
      std::normal_distribution<double> normal(0.0, 1.0);
      for (int64_t n = 0; n < N_; ++n) {
        float sigma = draw(g, draws[n]);
        if (sigma > 0.0f) {
          noise[n].resize(H_out_ * W_out_ * C_);
          for (double& v : noise[n]) v = normal(bits) * sigma;
          draws[n].noise = noise[n].data();
        }
      }
    }
    const int64_t in_size = C_ * H_in_ * W_in_, out_size = C_ * H_out_ * W_out_;
#pragma omp parallel for if (N_ * out_size > detail::kParallelThreshold)
    for (int64_t n = 0; n < N_; ++n)
      kernels::augment_image(x + n * in_size, y + n * out_size, C_, H_in_, W_in_, H_out_, W_out_, draws[n],
                             o_.contrast_center);
  }
  void backward(const std::vector<Variable*>&, Variable*, const std::vector<bool>&,
                const std::vector<bool>&) override {}
  bool differentiable(int) const override { return false; }
  bool backward_needs_input_data(int) const override { return false; }

 private:
  // One image's draws, in NNabla's order; returns the noise's σ.
  float draw(Generator& g, kernels::AugmentDraw& d) const {
    auto u = [&g] { return float(g.bits() % 1001) * 0.001f; };
    const float scale = o_.min_scale * std::exp(u() * std::log(o_.max_scale / o_.min_scale));
    const float log_ar = std::log(o_.aspect_ratio);
    const float scale_x = static_cast<float>(std::exp(-log_ar * 0.5 + u() * log_ar));
    const float scale_y = static_cast<float>(1.0 / scale_x);
    const float i_scale_x = 1.0f / (scale * scale_x), i_scale_y = 1.0f / (scale * scale_y);
    const float angle = -o_.angle + u() * o_.angle * 2;
    const float w_scaled = (W_in_ + o_.pad[1] * 2) * scale * scale_x;
    const float h_scaled = (H_in_ + o_.pad[0] * 2) * scale * scale_y;
    const float cx = (W_out_ - 1) * 0.5f, cy = (H_out_ - 1) * 0.5f;
    const float cx_scaled = u() * (w_scaled - W_out_) + cx;
    const float cy_scaled = u() * (h_scaled - H_out_) + cy;
    const bool flip_lr = (g.bits() % 2) && o_.flip_lr;  // both drawn whether asked or not
    const bool flip_ud = (g.bits() % 2) && o_.flip_ud;
    const float brightness = u() * o_.brightness * 2.0f - o_.brightness;
    const float contrast = std::exp(u() * std::log(o_.contrast) * 2.0f) / o_.contrast;
    d.shift.resize(C_);
    d.gain.resize(C_);
    for (int64_t c = 0; c < C_; ++c) {
      d.shift[c] = (o_.brightness_each ? u() * o_.brightness * 2.0f - o_.brightness : brightness) - o_.contrast_center;
      d.gain[c] = o_.contrast_each ? std::exp(u() * std::log(o_.contrast) * 2.0f) / o_.contrast : contrast;
    }
    d.distortion = std::exp(u() * 2.0f * o_.distortion - o_.distortion) - 1.0f;
    const float sigma = u() * o_.noise;
    const float cos_t = std::cos(angle), sin_t = std::sin(angle);
    d.ax_x = (flip_lr ? -cos_t : cos_t) * i_scale_x;
    d.ay_x = (flip_lr ? sin_t : -sin_t) * i_scale_y;
    d.ax_y = (flip_ud ? -sin_t : sin_t) * i_scale_x;
    d.ay_y = (flip_ud ? -cos_t : cos_t) * i_scale_y;
    d.x0 = cx_scaled * i_scale_x - (d.ax_x * cx + d.ay_x * cy) - o_.pad[1];
    d.y0 = cy_scaled * i_scale_y - (d.ax_y * cx + d.ay_y * cy) - o_.pad[0];
    return sigma;
  }

  Options o_;
  Generator own_;
  int64_t N_ = 1, C_ = 1, H_in_ = 1, W_in_ = 1, H_out_ = 1, W_out_ = 1;
};

}  // namespace

CgVariablePtr functions::image_augmentation(CgVariablePtr x, const std::vector<int>& shape,
                                            const std::vector<int>& pad, float min_scale, float max_scale,
                                            float angle, float aspect_ratio, float distortion, bool flip_lr,
                                            bool flip_ud, float brightness, bool brightness_each, float contrast,
                                            float contrast_center, bool contrast_each, float noise, int seed) {
  const std::string f = kName;
  if (!x) detail::shape_error(f + ": x is null");
  if (pad.size() != 2 || pad[0] < 0 || pad[1] < 0)
    detail::shape_error(f + ": pad must be two sizes >= 0 (height, width), got " +
                        shape_str(Shape_t(pad.begin(), pad.end())));
  const std::pair<const char*, float> positive[] = {
      {"min_scale", min_scale}, {"max_scale", max_scale}, {"aspect_ratio", aspect_ratio}, {"contrast", contrast}};
  for (auto& [what, v] : positive)
    if (!(v > 0.0f && std::isfinite(v)))
      detail::shape_error(f + ": " + what + " must be a finite number > 0 (its logarithm is taken), got " +
                          std::to_string(v));
  const std::pair<const char*, float> finite[] = {{"angle", angle},
                                                  {"distortion", distortion},
                                                  {"brightness", brightness},
                                                  {"contrast_center", contrast_center},
                                                  {"noise", noise}};
  for (auto& [what, v] : finite)
    if (!std::isfinite(v)) detail::shape_error(f + ": " + what + " must be finite, got " + std::to_string(v));
  Options o{shape,  pad,     min_scale,  max_scale,       angle,    aspect_ratio,    distortion,    flip_lr,
            flip_ud, brightness, brightness_each, contrast, contrast_center, contrast_each, noise, seed};
  return connect(std::make_unique<ImageAugmentation>(std::move(o)), {std::move(x)});
}

}  // namespace nnvae
