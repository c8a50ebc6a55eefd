// nnvae::functions for image classifiers: batch normalisation, the top-n
// error and random image augmentation. Names, argument order, defaults and
// meanings follow NNabla's functions of the same names; each returns its
// output variable with the shape computed at once.
#pragma once
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {
namespace functions {

// x: (..., C, ...) with C the size of the one axis in `axes`; beta, gamma,
// mean, variance: x's shape with 1 on every other axis (e.g. (1, C, 1, 1)).
// With M the number of values per channel (the product of the other axes):
//   batch_stat = true:  μ, σ² = the channel's batch mean and (biased)
//                       variance; the running statistics become
//                       mean = decay_rate·mean + (1 − decay_rate)·μ,
//                       variance = decay_rate·variance + (1 − decay_rate)·σ²·M/(M − 1)
//                       (the unbiased estimate), once per forward; needs M >= 2.
//   batch_stat = false: μ, σ² = mean, variance (left unchanged).
//   y = (x − μ)/sqrt(σ² + eps)·gamma + beta.
// Gradients to x, beta and gamma (the full batch-norm gradient through μ and
// σ² with batch statistics, the affine one without); none to mean or
// variance. no_scale / no_bias leave gamma / beta out (they may be null).
struct BatchNormalizationDefaults {  // NNabla's (pf::BatchNormalizationOpts starts from them too)
  static std::vector<int> axes() { return {1}; }
  static constexpr float decay_rate = 0.9f;
  static constexpr float eps = 1e-5f;
};
CgVariablePtr batch_normalization(CgVariablePtr x, CgVariablePtr beta, CgVariablePtr gamma, CgVariablePtr mean,
                                  CgVariablePtr variance,
                                  const std::vector<int>& axes = BatchNormalizationDefaults::axes(),
                                  float decay_rate = BatchNormalizationDefaults::decay_rate,
                                  float eps = BatchNormalizationDefaults::eps, bool batch_stat = true,
                                  bool no_scale = false, bool no_bias = false);

// x: scores (..., K, ...) with K classes along `axis`; target: x's shape with
// 1 at `axis`, integer labels in [0, K). y (target's shape) is 0 where x's
// value at the label is among the n largest along the axis, 1 otherwise:
// y = 1 when more than n values are >= the label's (ties count against it).
// No gradient.
CgVariablePtr top_n_error(CgVariablePtr x, CgVariablePtr target, int axis = -1, int n = 1);

// Random changes of images x: (..., H, W) (with channels (..., C, H, W)), each
// image on its own: scaled by s in [min_scale, max_scale] (log-uniform),
// stretched by an aspect ratio in [1/aspect_ratio, aspect_ratio] (so that
// x-scale·y-scale = 1), rotated by an angle in [−angle, angle] radians,
// shifted to a random window of the scaled, `pad`-padded image, lens-
// distorted, flipped (flip_lr, flip_ud: half of the time), sampled bilinearly
// with the borders clamped, then v ← (v + b − contrast_center)·c +
// contrast_center with b in [−brightness, brightness] and c in
// [1/contrast, contrast] (per channel with brightness_each/contrast_each),
// plus Gaussian noise of a standard deviation drawn in [0, noise]. The output
// is x's shape with the last len(shape) axes replaced by `shape` (default:
// x's own); the axes of `shape` before (H, W) must be x's. The draws are
// NNabla's, in its order: with seed >= 0 the function's own Mersenne Twister
// seeded with `seed` when it is created, with −1 the global generator. No
// gradient.
CgVariablePtr image_augmentation(CgVariablePtr x, const std::vector<int>& shape = {},
                                 const std::vector<int>& pad = {0, 0}, float min_scale = 1.0f,
                                 float max_scale = 1.0f, float angle = 0.0f, float aspect_ratio = 1.0f,
                                 float distortion = 0.0f, bool flip_lr = false, bool flip_ud = false,
                                 float brightness = 0.0f, bool brightness_each = false, float contrast = 1.0f,
                                 float contrast_center = 0.0f, bool contrast_each = false, float noise = 0.0f,
                                 int seed = -1);

}  // namespace functions
}  // namespace nnvae
