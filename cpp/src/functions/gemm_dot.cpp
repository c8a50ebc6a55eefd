// A·Bᵀ for a few rows of A (gemm_kernel.hpp, compute_dot): every element
// of C is a dot product of two contiguous rows, A's (m, k) and B's stored
// (n, k), summed along k in vectors. The packed kernel would first have to
// transpose all of B (n × k) for only a few rows of A to use it, which costs
// as much as the product itself; here B is read once, in place, and A's
// rows stay in L1.
#include <algorithm>
#include <array>
#include <utility>

#include "gemm_kernel.hpp"

#ifdef NNVAE_GEMM_AVX512
#include <immintrin.h>
#endif

namespace nnvae {
namespace kernels {
namespace gemm {

#ifndef NNVAE_GEMM_AVX512

void compute_dot(const Block&) {}

#else

namespace {

constexpr int kRows = kTileRows;  // rows of A at once (all of them: m <= 14)
constexpr int64_t kEpCols = 256;  // columns of C finished between epilogue calls

// The sum of a vector's 16 lanes.
inline float lane_sum(__m512 v) {
  // (masked extracts: GCC 12's unmasked ones warn of an undefined operand)
  const __m512d d = _mm512_castps_pd(v);
  const __m256 h = _mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, d, 0)),
                                 _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, d, 1)));
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

// C[i][0..1] [= bias | += C] + Σ_p A[i][p]·B[0..1][p] for i < MR: two rows
// of B (at b and b1) against MR rows of A (at a + i·lda), 16 values of k a
// step, then each of the 2·MR vectors summed across its lanes.
template <int MR>
void dot(int64_t k, const float* __restrict a, int64_t lda, const float* __restrict b, const float* __restrict b1,
         float* __restrict c, int64_t ldc, bool both, bool load, const float* __restrict bias) {
  __m512 s0[MR], s1[MR];
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) s0[i] = s1[i] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    const __m512 v0 = _mm512_loadu_ps(b + p), v1 = _mm512_loadu_ps(b1 + p);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      const __m512 x = _mm512_loadu_ps(a + i * lda + p);
      s0[i] = _mm512_fmadd_ps(x, v0, s0[i]);
      s1[i] = _mm512_fmadd_ps(x, v1, s1[i]);
    }
  }
  if (p < k) {  // the last k % 16 values, masked
    const __mmask16 mk = __mmask16((1u << (k - p)) - 1);
    const __m512 v0 = _mm512_maskz_loadu_ps(mk, b + p), v1 = _mm512_maskz_loadu_ps(mk, b1 + p);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      const __m512 x = _mm512_maskz_loadu_ps(mk, a + i * lda + p);
      s0[i] = _mm512_fmadd_ps(x, v0, s0[i]);
      s1[i] = _mm512_fmadd_ps(x, v1, s1[i]);
    }
  }
  const float start0 = bias ? bias[0] : 0.f, start1 = bias && both ? bias[1] : 0.f;
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    const float d0 = lane_sum(s0[i]);
    ci[0] = load ? ci[0] + d0 : start0 + d0;
    if (both) {
      const float d1 = lane_sum(s1[i]);
      ci[1] = load ? ci[1] + d1 : start1 + d1;
    }
  }
}

using Dot = void (*)(int64_t, const float*, int64_t, const float*, const float*, float*, int64_t, bool, bool,
                     const float*);
template <size_t... I>
constexpr std::array<Dot, kRows> dots(std::index_sequence<I...>) {
  return {&dot<int(I) + 1>...};
}
const std::array<Dot, kRows> kDot = dots(std::make_index_sequence<kRows>());

}  // namespace

void compute_dot(const Block& blk) {
  const int64_t m = blk.m, n = blk.n, k = blk.k;
  const float* bias = blk.bias && !blk.accumulate ? blk.bias : nullptr;
  for (int64_t i0 = 0; i0 < m; i0 += kRows) {
    const int mr = int(std::min<int64_t>(kRows, m - i0));
    for (int64_t j0 = 0; j0 < n; j0 += kEpCols) {
      const int64_t j1 = std::min(n, j0 + kEpCols);
      for (int64_t j = j0; j < j1; j += 2) {
        const bool both = j + 1 < j1;
        const float* b = blk.b.p + j * blk.b.cs;
        kDot[mr - 1](k, blk.a.p + i0 * blk.a.rs, blk.a.rs, b, both ? b + blk.b.cs : b, blk.c + i0 * blk.ldc + j,
                     blk.ldc, both, blk.accumulate, bias ? bias + j : nullptr);
      }
      if (blk.ep) (*blk.ep)(blk.c_whole, blk.ldc, blk.r0 + i0, blk.r0 + i0 + mr, blk.c0 + j0, blk.c0 + j1);
    }
  }
}

#endif  // NNVAE_GEMM_AVX512

}  // namespace gemm
}  // namespace kernels
}  // namespace nnvae
