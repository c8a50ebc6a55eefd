// Private helpers of the VAE library: scoped switches of the engine's global
// state, and moving images and scalars in and out of graph variables.
#pragma once
#include <cstdint>
#include <numeric>
#include <vector>

#include "nnvae/nnvae.hpp"
#include "nnvae/vae/images.hpp"

namespace nnvae {
namespace vae {

inline const Context kCtx{{"cpu:float"}, "CpuCachedArray", "0"};

// Makes `owned` the generator of this thread for the scope (initializers,
// randn(..., -1) and dropout on this thread draw from it and advance it).
// Other threads, and the process-wide generator, are untouched, so every
// random number of a training run or an evaluation comes from a generator
// its owner seeds and checkpoints, whatever else the process draws meanwhile.
using GlobalGeneratorScope = ThreadGeneratorScope;

// Sets auto-forward (eager computation while building) for this thread for
// the scope; other threads keep the process-wide setting.
using AutoForwardScope = ThreadAutoForwardScope;

inline float scalar_value(const CgVariablePtr& v) { return *v->variable()->cast_data_and_get_pointer<float>(kCtx); }

// Images idx[0..n) of `set` as floats pixel/255 into x (n, 1, 28, 28).
// The images are scattered over the set (a shuffled epoch), each one a new
// stream the hardware prefetcher only picks up after a few misses, so the
// images kPrefetchImages ahead are requested into the cache (all 13 lines of
// each) while the current one is converted: about half the time of the plain
// gather at batch 100 and 1000.
inline void fill_images(const ImageSet& set, const int32_t* idx, int64_t n, const CgVariablePtr& x) {
  float* dst = x->variable()->cast_data_and_get_pointer<float>(kCtx, true);
  const float scale = 1.0f / 255.0f;
  constexpr int64_t kPrefetchImages = 32;
  auto prefetch = [&](int64_t i) {
    const uint8_t* src = set.pixels.data() + static_cast<int64_t>(idx[i]) * kPixels;
    for (int b = 0; b < kPixels; b += 64) __builtin_prefetch(src + b, 0, 2);
    __builtin_prefetch(src + kPixels - 1, 0, 2);
  };
  for (int64_t i = 0; i < kPrefetchImages && i < n; ++i) prefetch(i);
  for (int64_t i = 0; i < n; ++i) {
    if (i + kPrefetchImages < n) prefetch(i + kPrefetchImages);
    const uint8_t* src = set.pixels.data() + static_cast<int64_t>(idx[i]) * kPixels;
    for (int p = 0; p < kPixels; ++p) dst[i * kPixels + p] = src[p] * scale;
  }
}

// Images first..first+n-1 of `set` into x (n, 1, 28, 28).
inline void fill_image_range(const ImageSet& set, int64_t first, int64_t n, const CgVariablePtr& x) {
  std::vector<int32_t> idx(n);
  std::iota(idx.begin(), idx.end(), static_cast<int32_t>(first));
  fill_images(set, idx.data(), n, x);
}

}  // namespace vae
}  // namespace nnvae
