// Pooling loops for whole windows of the common shapes, taken by
// pooling.cpp where they apply: 2x2 max and average pooling with stride 2
// (LeNet's, ResNet's and the Siamese network's) and one window over each
// whole map (ResNet's global average pooling). They give what the general
// loops give, to the bit.
#include <algorithm>
#include <cstdint>

#include "pool_geometry.hpp"

namespace nnvae {
namespace detail {

bool whole_2x2(const PoolGeometry& g) {
  return g.in[0] == 1 && g.kernel[1] == 2 && g.kernel[2] == 2 && g.stride[1] == 2 && g.stride[2] == 2 &&
         g.pad[1] == 0 && g.pad[2] == 0 && 2 * g.out[1] <= g.in[1] && 2 * g.out[2] <= g.in[2];
}

// max_pool_forward for whole_2x2 geometries: each output row from two input
// rows, the four taps in row-major order with the same comparisons as the
// general loop (so the same first largest value, NaN kept where it comes
// first), the stride of 2 known to the compiler (even/odd lanes) rather than
// a runtime stride it reads element by element.
void max_pool_2x2_forward(const float* x, float* y, int32_t* idx, const PoolGeometry& g) {
  const int64_t W = g.in[2], I = g.in_size(), O = g.out_size(), n1 = g.out[1], n2 = g.out[2];
  for_each_map(g, [&](int64_t m) {
    const float* xm = x + m * I;
    for (int64_t j1 = 0; j1 < n1; ++j1) {
      const int32_t top = static_cast<int32_t>(2 * j1 * W), bottom = static_cast<int32_t>(top + W);
      const float* t = xm + top;
      const float* b = xm + bottom;
      float* yr = y + m * O + j1 * n2;
      int32_t* ir = idx + m * O + j1 * n2;
#pragma omp simd
      for (int64_t j2 = 0; j2 < n2; ++j2) {
        const int32_t at = static_cast<int32_t>(2 * j2);
        float v = t[2 * j2];
        int32_t best = top + at;
        const float t1 = t[2 * j2 + 1], b0 = b[2 * j2], b1 = b[2 * j2 + 1];
        best = v < t1 ? top + at + 1 : best;
        v = v < t1 ? t1 : v;
        best = v < b0 ? bottom + at : best;
        v = v < b0 ? b0 : v;
        best = v < b1 ? bottom + at + 1 : best;
        v = v < b1 ? b1 : v;
        yr[j2] = v;
        ir[j2] = best;
      }
    }
  });
}

// avg_pool_forward for whole_2x2 geometries: the four taps summed in the
// general loop's order (the top row's two, then the bottom row's), divided
// by 4 (no window reaches the padding, so including_pad changes nothing).
void avg_pool_2x2_forward(const float* x, float* y, const PoolGeometry& g) {
  const int64_t W = g.in[2], I = g.in_size(), O = g.out_size(), n1 = g.out[1], n2 = g.out[2];
  for_each_map(g, [&](int64_t m) {
    for (int64_t j1 = 0; j1 < n1; ++j1) {
      const float* t = x + m * I + 2 * j1 * W;
      const float* b = t + W;
      float* yr = y + m * O + j1 * n2;
#pragma omp simd
      for (int64_t j2 = 0; j2 < n2; ++j2) yr[j2] = (((t[2 * j2] + t[2 * j2 + 1]) + b[2 * j2]) + b[2 * j2 + 1]) / 4.f;
    }
  });
}

// avg_pool_backward for whole_2x2 geometries: dx (+)= dy / 4 over each
// window; without accumulate, the rows and columns no window covers (an odd
// size) are zero.
void avg_pool_2x2_backward(const float* dy, float* dx, const PoolGeometry& g, bool accumulate) {
  const int64_t W = g.in[2], I = g.in_size(), O = g.out_size(), n1 = g.out[1], n2 = g.out[2];
  const bool uncovered = 2 * n1 < g.in[1] || 2 * n2 < W;
  for_each_map(g, [&](int64_t m) {
    float* dxm = dx + m * I;
    if (!accumulate && uncovered) std::fill(dxm, dxm + I, 0.f);
    for (int64_t j1 = 0; j1 < n1; ++j1) {
      float* t = dxm + 2 * j1 * W;
      float* b = t + W;
      const float* gr = dy + m * O + j1 * n2;
      if (accumulate) {
#pragma omp simd
        for (int64_t j2 = 0; j2 < n2; ++j2) {
          const float share = gr[j2] / 4.f;
          t[2 * j2] += share, t[2 * j2 + 1] += share, b[2 * j2] += share, b[2 * j2 + 1] += share;
        }
      } else {
#pragma omp simd
        for (int64_t j2 = 0; j2 < n2; ++j2) {
          const float share = gr[j2] / 4.f;
          t[2 * j2] = share, t[2 * j2 + 1] = share, b[2 * j2] = share, b[2 * j2 + 1] = share;
        }
      }
    }
  });
}

bool whole_map(const PoolGeometry& g) {
  for (int a = 0; a < 3; ++a)
    if (g.kernel[a] != g.in[a] || g.pad[a] != 0 || g.out[a] != 1) return false;
  return true;
}

void avg_pool_whole_map_forward(const float* x, float* y, const PoolGeometry& g) {
  const int64_t I = g.in_size();
#pragma omp parallel for if (g.maps * I > kParallelThreshold) schedule(static)
  for (int64_t m = 0; m < g.maps; ++m) {
    const float* xm = x + m * I;
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < I; ++i) sum += xm[i];
    y[m] = sum / float(I);
  }
}

void avg_pool_whole_map_backward(const float* dy, float* dx, const PoolGeometry& g, bool accumulate) {
  const int64_t I = g.in_size();
#pragma omp parallel for if (g.maps * I > kParallelThreshold) schedule(static)
  for (int64_t m = 0; m < g.maps; ++m) {
    float* dxm = dx + m * I;
    const float share = dy[m] / float(I);
    if (accumulate) {
#pragma omp simd
      for (int64_t i = 0; i < I; ++i) dxm[i] += share;
    } else {
#pragma omp simd
      for (int64_t i = 0; i < I; ++i) dxm[i] = share;
    }
  }
}

}  // namespace detail
}  // namespace nnvae
