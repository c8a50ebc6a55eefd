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

// Makes `owned` the global generator for the scope (initializers and
// randn(..., -1) draw from it), then stores its advanced state back into
// `owned` and puts the previous global generator back. This way every random
// number of a training run or an evaluation comes from a generator its owner
// seeds and checkpoints, whatever else the process draws between calls.
class GlobalGeneratorScope {
 public:
  explicit GlobalGeneratorScope(Generator& owned) : owned_(owned), saved_(global_generator()) {
    global_generator() = owned_;
  }
  ~GlobalGeneratorScope() {
    owned_ = global_generator();
    global_generator() = saved_;
  }
  GlobalGeneratorScope(const GlobalGeneratorScope&) = delete;
  GlobalGeneratorScope& operator=(const GlobalGeneratorScope&) = delete;

 private:
  Generator& owned_;
  Generator saved_;
};

// Sets auto-forward (eager computation while building) for the scope.
class AutoForwardScope {
 public:
  explicit AutoForwardScope(bool on) : saved_(get_auto_forward()) { set_auto_forward(on); }
  ~AutoForwardScope() { set_auto_forward(saved_); }
  AutoForwardScope(const AutoForwardScope&) = delete;
  AutoForwardScope& operator=(const AutoForwardScope&) = delete;

 private:
  bool saved_;
};

inline float scalar_value(const CgVariablePtr& v) { return *v->variable()->cast_data_and_get_pointer<float>(kCtx); }

// Images idx[0..n) of `set` as floats pixel/255 into x (n, 1, 28, 28).
inline void fill_images(const ImageSet& set, const int32_t* idx, int64_t n, const CgVariablePtr& x) {
  float* dst = x->variable()->cast_data_and_get_pointer<float>(kCtx, true);
  const float scale = 1.0f / 255.0f;
  for (int64_t i = 0; i < n; ++i) {
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
