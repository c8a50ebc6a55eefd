// A 16 × 16 transpose through AVX-512 registers (private to the engine),
// for the product kernels' packing: the fp32 AVX-512 kernel's transposed
// operands (gemm_kernel.cpp) and the AVX512-BF16 kernel's pairs
// (gemm_kernel_dpbf16.cpp, which casts its 32-bit words to floats). It
// carries its own target, so a build for another -march can call it from
// code that runs only where the CPU has AVX-512.
#pragma once
#include <immintrin.h>

namespace nnvae {
namespace kernels {
namespace gemm {

// r[i][j] becomes r[j][i] (a 16 × 16 block of floats).
__attribute__((target("avx512f"))) inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {  // pairs of rows interleaved within 128-bit lanes
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // u[4g + q], lane L: column 4L + q of rows 4g .. 4g + 3
    const __m512d t0 = _mm512_castps_pd(t[4 * g]), t1 = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d t2 = _mm512_castps_pd(t[4 * g + 2]), t3 = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  for (int q = 0; q < 4; ++q) {  // gather lane L of u[q], u[4 + q], u[8 + q], u[12 + q]
    const __m512 v = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88), w = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88);
    const __m512 w2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xDD);
    r[q] = _mm512_shuffle_f32x4(v, v2, 0x88);
    r[8 + q] = _mm512_shuffle_f32x4(v, v2, 0xDD);
    r[4 + q] = _mm512_shuffle_f32x4(w, w2, 0x88);
    r[12 + q] = _mm512_shuffle_f32x4(w, w2, 0xDD);
  }
}

}  // namespace gemm
}  // namespace kernels
}  // namespace nnvae
