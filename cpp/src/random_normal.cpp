// Generator::normals: many normal numbers at once.
//
// Box-Muller takes two uniforms u1 = (k1 + 1)/2^27 in (0, 1] and
// u2 = k2/2^27 in [0, 1) (k1, k2: the top 27 bits of two draws) and gives
// r·cos(2π u2), then r·sin(2π u2), with r = sqrt(−2 ln u1). normal() does
// that in double through libm, one pair at a time; here the draws of a block
// of pairs are taken first (the same draws, in the same order), then
// transformed in one loop of float arithmetic that GCC vectorises:
//   ln u1 = ln(k1 + 1) − 27 ln 2, with k1 + 1 = 2^e · m, m in [√½, √2) found
//     exactly in double, and ln m = 2·atanh(s), s = (m − 1)/(m + 1), by its
//     series (|s| <= 0.1716, next term < 1e-9);
//   2π u2 = q·π/2 + θ with q = round(4·u2) and θ = 2π·(k2 − q·2^25)/2^27
//     (the difference is exact in float), |θ| <= π/4, where the Taylor
//     series of sin and cos end below 2e-9; then rotated by q quarter turns.
// Each value is within a few float ulps of normal()'s.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "nnvae/kernels/vmath.hpp"
#include "nnvae/random.hpp"

namespace nnvae {
namespace {

constexpr int kBlock = 256;  // pairs transformed per loop

// c = cos(2π u2), s = sin(2π u2) and r for one pair of draws (top 27 bits).
inline void box_muller(uint32_t k1, uint32_t k2, float& r, float& c, float& s) {
  constexpr float kLn2Hi = 0.693359375f;              // exact in 10 bits
  constexpr float kLn2Lo = -2.12194440054690583e-4f;  // ln 2 − kLn2Hi
  constexpr float kTwoPiOver2p27 = 6.283185307179586f / 134217728.0f;
  // ln u1.
  const double q1 = static_cast<double>(k1 + 1u);
  int64_t bits;
  std::memcpy(&bits, &q1, sizeof bits);
  const int64_t e0 = (bits >> 52) - 1023;
  const int64_t mbits = (bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL;
  double m0;
  std::memcpy(&m0, &mbits, sizeof m0);
  const bool big = m0 > 1.4142135623730951;
  const double m = big ? m0 * 0.5 : m0;
  const float e = static_cast<float>(e0 + (big ? 1 : 0) - 27);
  const float sr = static_cast<float>((m - 1.0) / (m + 1.0));
  const float ln_u1 = e * kLn2Hi + (e * kLn2Lo + 2.0f * sr * vmath::atanh_series(sr * sr));
  r = std::sqrt(-2.0f * ln_u1);
  // cos and sin of 2π u2.
  const int32_t quarter = static_cast<int32_t>((k2 + (1u << 24)) >> 25);  // round(4·u2), 0..4
  const float t = static_cast<float>(static_cast<int32_t>(k2) - quarter * (1 << 25)) * kTwoPiOver2p27;
  const float t2 = t * t;
  float sn = 1.0f / 362880;
  sn = sn * t2 - 1.0f / 5040;
  sn = sn * t2 + 1.0f / 120;
  sn = sn * t2 - 1.0f / 6;
  sn = (sn * t2) * t + t;
  float cs = -1.0f / 3628800;
  cs = cs * t2 + 1.0f / 40320;
  cs = cs * t2 - 1.0f / 720;
  cs = cs * t2 + 1.0f / 24;
  cs = cs * t2 - 0.5f;
  cs = cs * t2 + 1.0f;
  const int32_t quadrant = quarter & 3;
  const float cq = quadrant == 0 ? cs : quadrant == 1 ? -sn : quadrant == 2 ? -cs : sn;
  const float sq = quadrant == 0 ? sn : quadrant == 1 ? cs : quadrant == 2 ? -sn : -cs;
  c = cq;
  s = sq;
}

}  // namespace

void Generator::normals(float* y, int64_t n, float mu, float sigma) {
  int64_t i = 0;
  if (n > 0 && has_spare_) {
    has_spare_ = false;
    y[i++] = mu + sigma * spare_;
  }
  uint32_t k1[kBlock], k2[kBlock];
  float r[kBlock], c[kBlock], s[kBlock];
  while (i < n) {
    // Pairs needed (a last odd value takes a whole pair and keeps its sine).
    const int64_t pairs = std::min<int64_t>(kBlock, (n - i + 1) / 2);
    for (int64_t j = 0; j < pairs; ++j) {
      k1[j] = static_cast<uint32_t>(engine_() >> 5);
      k2[j] = static_cast<uint32_t>(engine_() >> 5);
    }
#pragma omp simd
    for (int64_t j = 0; j < pairs; ++j) box_muller(k1[j], k2[j], r[j], c[j], s[j]);
    for (int64_t j = 0; j < pairs; ++j) {
      y[i++] = mu + sigma * (r[j] * c[j]);
      if (i < n) {
        y[i++] = mu + sigma * (r[j] * s[j]);
      } else {
        spare_ = r[j] * s[j];
        has_spare_ = true;
      }
    }
  }
}

}  // namespace nnvae
