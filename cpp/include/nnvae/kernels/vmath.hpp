// Vectorisable exp and log1p for the elementwise kernels.
//
// std::exp and friends are calls into libm, which the compiler cannot turn
// into SIMD code, so a loop over them runs one element at a time. These are
// plain arithmetic (range reduction, a polynomial, exponent-bit scaling) that
// GCC vectorises inside `#pragma omp simd` loops (16 floats per instruction
// with AVX-512). Accuracy: within a few float ulps of libm over the whole
// float range (checked in tests/cpp/test_fused.cpp); inf and NaN behave as
// libm's do.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace nnvae {
namespace vmath {

// The float whose bits are `bits`, and back.
inline float from_bits(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline int32_t to_bits(float f) {
  int32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// v rounded to the nearest integer, for |v| < 2^22: adding 1.5·2^23 pushes
// the fraction bits out of the mantissa. (std::floor would do, but GCC only
// vectorises it under -fno-trapping-math.)
inline float round_small(float v) {
  constexpr float kShifter = 12582912.0f;  // 1.5 · 2^23
  return (v + kShifter) - kShifter;
}

// 2^n for an integral n in [-126, 127], built in the exponent field.
// The shift is done unsigned: a NaN x reaches here as an arbitrary n, and
// the (then meaningless) bits must not be undefined behaviour.
inline float pow2i(float n) {
  return from_bits(static_cast<int32_t>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23));
}

// e^x = 2^n · e^r with n = round(x / ln 2) and r = x − n·ln 2 in
// [−ln2/2, ln2/2]; e^r by its Taylor polynomial to degree 7 (truncation
// error < r^8/8! ≈ 5e-9). ln 2 is split in two so that n·ln 2 is exact
// enough. exp_reduced gives n and e^r for an x already clamped so that n
// fits (|x| < 2^22·ln 2).
struct ExpParts {
  float n, er;
};
inline ExpParts exp_reduced(float xc) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;         // exact in 10 bits
  constexpr float kLn2Lo = -2.12194440054690583e-4f;  // ln 2 − kLn2Hi
  const float n = round_small(xc * kLog2e);
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return {n, p};
}

// e^x over the whole float range: 2^n is applied as 2^n1 · 2^n2 (n1 ≈ n/2)
// so that results down in the subnormal range come out right; x is clamped
// so that n fits.
inline float exp(float x) {
  const float xc = x < -104.0f ? -104.0f : (x > 88.8f ? 88.8f : x);
  const ExpParts e = exp_reduced(xc);
  const float n1 = round_small(e.n * 0.5f);
  const float y = e.er * pow2i(n1) * pow2i(e.n - n1);
  // Beyond the largest float's log the answer is inf; NaN stays NaN.
  return x > 88.72283f ? std::numeric_limits<float>::infinity() : (x != x ? x : y);
}

// e^x for x <= 0, what elu needs, in about half exp's work: below −87 (e^x
// under 2^−125, at the bottom of the normal floats) it gives e^−87, which is
// 0 to elu's precision (alpha·(e^x − 1) rounds to −alpha from x < −17 on);
// positive x is taken as 0. The same polynomial as exp, one scaling by 2^n.
inline float exp_nonpositive(float x) {
  const float xc = x < -87.0f ? -87.0f : (x > 0.0f ? 0.0f : x);
  const ExpParts e = exp_reduced(xc);
  return e.er * pow2i(e.n);
}

// atanh(s) / s = 1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9 for |s| <= 0.1716 (next
// term < 1e-9), given s2 = s²: with s = (m − 1)/(m + 1), log m = 2·s·this.
// Shared by log_ge1 and the normal sampler's log, which must stay
// bit-identical to what it was.
inline float atanh_series(float s2) {
  float q = 1.0f / 9;
  q = q * s2 + 1.0f / 7;
  q = q * s2 + 1.0f / 5;
  q = q * s2 + 1.0f / 3;
  return q * s2 + 1.0f;
}

// log w for w >= 1 (all that log1p of a non-negative number needs):
// w = 2^e · m with m in [√½, √2); then log m = 2·atanh(s) =
// 2(s + s³/3 + s⁵/5 + s⁷/7 + s⁹/9), s = (m − 1)/(m + 1), |s| <= 0.1716
// (next term < 1e-9). inf gives inf, NaN gives NaN.
inline float log_ge1(float w) {
  constexpr float kLn2 = 0.693147180559945309f;
  const int32_t bits = to_bits(w);
  const float e0 = static_cast<float>((bits >> 23) - 127);
  const float m0 = from_bits((bits & 0x007fffff) | 0x3f800000);  // [1, 2)
  // Both arms are computed, then selected: GCC vectorises a select between
  // values it has, not arithmetic done under a condition.
  const bool big = m0 > 1.41421356f;
  const float m_half = m0 * 0.5f, e_up = e0 + 1.0f;
  const float m = big ? m_half : m0;
  const float e = big ? e_up : e0;
  const float s = (m - 1.0f) / (m + 1.0f);
  const float y = e * kLn2 + 2.0f * s * atanh_series(s * s);
  return w < std::numeric_limits<float>::infinity() ? y : w;  // inf and NaN as they are
}

// log(1 + u) for u >= 0 (what the losses need: u = e^−|x|): w = 1 + u is
// rounded, and (u − (w − 1))/w adds back what the rounding lost, so tiny u
// gives u rather than 0.
inline float log1p_nonneg(float u) {
  const float w = 1.0f + u;
  const float lost = (u - (w - 1.0f)) / w;  // NaN for u = inf: not added then
  return log_ge1(w) + (w < std::numeric_limits<float>::infinity() ? lost : 0.0f);
}

// log(1 + u) for u in [0, 1] only (what e^−|x| gives), with one division and
// no exponent-field work: log(1 + u) = 2·atanh(s), s = u/(2 + u) in
// [0, 1/3], = 2s(1 + s²/3 + ... + s¹²/13) (next term < 4e-9 relative).
// 2s is computed as u/(1 + u/2), so that tiny and subnormal u give u itself.
// Within 2 float ulps of log1p on [0, 1]; not for u > 1 (use log1p_nonneg);
// NaN gives NaN.
inline float log1p_unit(float u) {
  const float twice_s = u / (1.0f + 0.5f * u);
  const float s2 = 0.25f * twice_s * twice_s;
  float q = 1.0f / 13;
  q = q * s2 + 1.0f / 11;
  q = q * s2 + 1.0f / 9;
  q = q * s2 + 1.0f / 7;
  q = q * s2 + 1.0f / 5;
  q = q * s2 + 1.0f / 3;
  return twice_s + twice_s * s2 * q;
}

// 1 / (1 + e^−x), without overflow for large |x|.
inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

}  // namespace vmath
}  // namespace nnvae
