// batch_normalization's passes over the values, per channel (private to
// the engine; batch_normalization.cpp has the maths). x is seen as
// (outer, C, inner): C channels, outer·inner values each. Where inner is 1
// (a fully connected layer's (batch, features)), a channel's values are a
// column: those passes read the rows in order, vectorised along the
// channels, with the same arithmetic per value as the general loops.
#include "batch_norm_kernels.hpp"

#include <algorithm>
#include <cmath>

#include "common.hpp"

namespace nnvae {
namespace kernels {

// x: (outer, C, inner); mean[c], var[c]: the channel's mean and biased
// variance over its outer·inner values. One pass over the values shifted by
// the channel's first one, k: with d = x − k, mean = k + Σd/M and
// var = (Σd² − (Σd)²/M)/M, which keeps the precision of a two-pass sum
// while the values sit near each other, as a channel's do. Runs of up to
// kFloatRun values of a row are summed in float, 8 or 16 lanes apart (at
// most a few hundred terms per lane), the runs in double: summing every
// value in double ran at half the speed of memory.
constexpr int64_t kFloatRun = 4096;
// Two sums per channel of an (outer, C) array (a channel's values a
// column), in double: each thread a block of kChannelBlock channels, the
// rows read in order, vectorised along the channels. terms(o, c, u, v) sets
// row o's two float terms of channel c; finish(c, Σu, Σv) takes the sums.
constexpr int64_t kChannelBlock = 256;
template <class Terms, class Finish>
void column_sums(int64_t outer, int64_t C, Terms terms, Finish finish) {
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for if (outer * C > detail::kParallelThreshold)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kChannelBlock, n = std::min(kChannelBlock, C - c0);
    double su[kChannelBlock] = {}, sv[kChannelBlock] = {};
    for (int64_t o = 0; o < outer; ++o) {
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) {
        float u, v;
        terms(o, c0 + c, u, v);
        su[c] += double(u);
        sv[c] += double(v);
      }
    }
    for (int64_t c = 0; c < n; ++c) finish(c0 + c, su[c], sv[c]);
  }
}

void batch_norm_statistics(const float* x, int64_t outer, int64_t C, int64_t inner, float* mean, float* var) {
  const double count = double(outer) * double(inner);
  if (inner == 1) {
    // (outer, C), a fully connected layer's: each term as the general loop
    // below makes it for inner == 1 (one value a run): d and d² in float,
    // added in double.
    column_sums(
        outer, C,
        [&](int64_t o, int64_t c, float& u, float& v) {
          u = x[o * C + c] - x[c];
          v = u * u;
        },
        [&](int64_t c, double sd, double sd2) {
          mean[c] = static_cast<float>(x[c] + sd / count);
          var[c] = static_cast<float>(std::max(0.0, (sd2 - sd * sd / count) / count));
        });
    return;
  }
#pragma omp parallel for if (outer * C * inner > detail::kParallelThreshold)
  for (int64_t c = 0; c < C; ++c) {
    const float k = x[c * inner];
    double s = 0.0, s2 = 0.0;
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = x + (o * C + c) * inner;
      for (int64_t j0 = 0; j0 < inner; j0 += kFloatRun) {
        const int64_t j1 = std::min(inner, j0 + kFloatRun);
        float rs = 0.f, rs2 = 0.f;
#pragma omp simd reduction(+ : rs, rs2)
        for (int64_t j = j0; j < j1; ++j) {
          const float d = xr[j] - k;
          rs += d;
          rs2 += d * d;
        }
        s += rs;
        s2 += rs2;
      }
    }
    mean[c] = static_cast<float>(k + s / count);
    var[c] = static_cast<float>(std::max(0.0, (s2 - s * s / count) / count));
  }
}

// y[o, c, j] (+)= x[o, c, j]·a[c] + b[c]   (x, y: (outer, C, inner)).
void channel_affine(const float* x, float* y, int64_t outer, int64_t C, int64_t inner, const float* a,
                    const float* b, bool accumulate) {
  if (inner == 1) {  // (outer, C): vectorised along the channels
#pragma omp parallel for if (outer * C > detail::kParallelThreshold)
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = x + o * C;
      float* yr = y + o * C;
      if (accumulate) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yr[c] += xr[c] * a[c] + b[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * a[c] + b[c];
      }
    }
    return;
  }
#pragma omp parallel for if (outer * C * inner > detail::kParallelThreshold)
  for (int64_t r = 0; r < outer * C; ++r) {
    const float ac = a[r % C], bc = b[r % C];
    const float* xr = x + r * inner;
    float* yr = y + r * inner;
    if (accumulate) {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) yr[j] += xr[j] * ac + bc;
    } else {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) yr[j] = xr[j] * ac + bc;
    }
  }
}

// channel_affine (written, not added), then `ep` on each block of y once
// written, while the block is in cache: y seen as (outer·C, inner) (as
// (outer, C) when inner is 1), blocks of whole rows of about kEpilogueBlock
// values, each written and finished by one thread.
constexpr int64_t kEpilogueBlock = 8192;  // 32 KB of floats: one L1 cache
void channel_affine_then(const float* x, float* y, int64_t outer, int64_t C, int64_t inner, const float* a,
                         const float* b, const Epilogue& ep) {
  const int64_t rows = inner == 1 ? outer : outer * C, len = inner == 1 ? C : inner;
  const int64_t per = std::max<int64_t>(1, kEpilogueBlock / std::max<int64_t>(len, 1));
  const int64_t blocks = (rows + per - 1) / per;
#pragma omp parallel for if (rows * len > detail::kParallelThreshold) schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t r0 = blk * per, r1 = std::min(rows, r0 + per);
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * len;
      float* yr = y + r * len;
      if (inner == 1) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * a[c] + b[c];
      } else {
        const float ac = a[r % C], bc = b[r % C];
#pragma omp simd
        for (int64_t j = 0; j < inner; ++j) yr[j] = xr[j] * ac + bc;
      }
    }
    ep(y, len, r0, r1, 0, len);
  }
}

// sum_dy[c] = Σ dy, sum_dy_xc[c] = Σ dy·(x − center[c]) over the channel's
// values (x, dy: (outer, C, inner); runs of a row summed in float, the runs
// in double, as in batch_norm_statistics).
void batch_norm_grad_sums(const float* x, const float* dy, int64_t outer, int64_t C, int64_t inner,
                          const float* center, double* sum_dy, double* sum_dy_xc) {
  if (inner == 1) {  // (outer, C): the terms as the general loop makes them for one value a run
    column_sums(
        outer, C,
        [&](int64_t o, int64_t c, float& u, float& v) {
          u = dy[o * C + c];
          v = u * (x[o * C + c] - center[c]);
        },
        [&](int64_t c, double sdy, double sdyx) { sum_dy[c] = sdy, sum_dy_xc[c] = sdyx; });
    return;
  }
#pragma omp parallel for if (outer * C * inner > detail::kParallelThreshold)
  for (int64_t c = 0; c < C; ++c) {
    double s = 0.0, sx = 0.0;
    const float m = center[c];
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = x + (o * C + c) * inner;
      const float* gr = dy + (o * C + c) * inner;
      for (int64_t j0 = 0; j0 < inner; j0 += kFloatRun) {
        const int64_t j1 = std::min(inner, j0 + kFloatRun);
        float rs = 0.f, rsx = 0.f;
#pragma omp simd reduction(+ : rs, rsx)
        for (int64_t j = j0; j < j1; ++j) {
          rs += gr[j];
          rsx += gr[j] * (xr[j] - m);
        }
        s += rs;
        sx += rsx;
      }
    }
    sum_dy[c] = s;
    sum_dy_xc[c] = sx;
  }
}

// dx[o, c, j] (+)= dy·k1[c] + x·k2[c] + k3[c]   (all (outer, C, inner)).
void batch_norm_dx(const float* x, const float* dy, float* dx, int64_t outer, int64_t C, int64_t inner,
                   const float* k1, const float* k2, const float* k3, bool accumulate) {
  if (inner == 1) {  // (outer, C): row by row, vectorised along the channels
#pragma omp parallel for if (outer * C > detail::kParallelThreshold)
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = x + o * C;
      const float* gr = dy + o * C;
      float* dr = dx + o * C;
      if (accumulate) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dr[c] += gr[c] * k1[c] + xr[c] * k2[c] + k3[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dr[c] = gr[c] * k1[c] + xr[c] * k2[c] + k3[c];
      }
    }
    return;
  }
#pragma omp parallel for if (outer * C * inner > detail::kParallelThreshold)
  for (int64_t r = 0; r < outer * C; ++r) {
    const int64_t c = r % C;
    const float a = k1[c], b = k2[c], k = k3[c];
    const float* xr = x + r * inner;
    const float* gr = dy + r * inner;
    float* dr = dx + r * inner;
    if (accumulate) {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) dr[j] += gr[j] * a + xr[j] * b + k;
    } else {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) dr[j] = gr[j] * a + xr[j] * b + k;
    }
  }
}

}  // namespace kernels
}  // namespace nnvae
