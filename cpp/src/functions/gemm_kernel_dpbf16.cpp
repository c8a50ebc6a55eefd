// bf16 products with VDPBF16PS (AVX512-BF16) on one block of C
// (gemm_kernel_dpbf16.hpp): the path bf16_dispatch() calls avx512_bf16.
//
// VDPBF16PS takes two vectors of 32 bf16 values and adds pairs into 16
// float lanes: lane j of the sums gets a[2j]·b[2j] + a[2j+1]·b[2j+1]. So
// both operands are packed in pairs along k:
//   B's panel (32 columns): for each pair of rows (p, p+1) of the slice,
//     64 bf16 values, (B[p][j], B[p+1][j]) for j = 0 .. 31: two vectors,
//     the first for columns 0-15, the second for 16-31; 32-bit word j of
//     the panel's pair-row q holds column j's pair.
//   A's panel (mr rows): for each pair (p, p+1), mr 32-bit words
//     (A[i][p], A[i][p+1]), each broadcast to all 16 lanes in its turn.
// An odd k ends with a pair whose second half is zero in both operands.
//
// Micro-kernel: a tile of up to 14 rows × 32 columns of C lives in 28 of the
// 32 registers (two 16-float vectors per row) for a whole slice of k; each
// pair of k loads two vectors of B's panel and broadcasts one word of A per
// row: 28 instructions of 32 multiply-adds each, twice an fp32 FMA's work.
// The columns past C's right edge are masked off (loads and stores), so
// every tile is computed in place.
//
// Loops: columns in blocks of at most 640, k in slices of at most 320 (an
// even count, so no pair straddles two slices), rows in panels of up to 14;
// B's slice of the block (160 pairs × 640 columns × 4 bytes = 400 KB) is
// packed once per slice and crossed by every panel of rows, each A panel
// (14 × 320 bf16, 9 KB) by all the block's columns.
//
// Rounding: the operands are rounded to bf16 while packing, with the same
// rounding as the emulated path (bf16_round.hpp), so both paths multiply
// the same bf16 values. What differs is the summing: VDPBF16PS adds a
// pair's two products to the float sum one after the other (both exact;
// bf16 · bf16 fits a float's mantissa), rounding after each, and it
// treats bf16 denormals as zero and flushes denormal sums to zero, which
// the emulated path (fp32 FMAs) does not. The two paths agree to the fp32
// rounding of sums of the same products.
//
// This file is compiled in every x86-64 build (its functions carry their
// own target), and is tested on an emulated CPU where the machine lacks
// AVX512-BF16 (tests/emulated).
#include "gemm_kernel_dpbf16.hpp"

#ifdef NNVAE_DPBF16_KERNEL
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "bf16_round.hpp"
#include "transpose_avx512.hpp"

#define NNVAE_DPBF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

namespace nnvae {
namespace kernels {
namespace gemm {
namespace dpbf16 {

namespace {

constexpr int kMR = 14;
constexpr int kNR = 32;         // two vectors
constexpr int64_t kKC = 320;    // longest slice of k (even)
constexpr int64_t kNC = 640;    // widest block of columns
constexpr int64_t kPairs = kKC / 2;

// How a tile starts: from zero, from the bias row, or from C.
enum Init { kZero, kBias, kLoad };

// The bf16 bits of x's rounding (the upper half of the rounded float).
inline uint32_t bits_of(float x) {
  uint32_t u;
  const float r = bf16::round_scalar(x);
  std::memcpy(&u, &r, sizeof u);
  return u >> 16;
}

// One pair's word: lo in the low half, hi in the high half.
inline uint32_t pair_word(float lo, float hi) { return bits_of(lo) | (bits_of(hi) << 16); }

// 16 words from two vectors: lane j = (lo[j] rounded, hi[j] rounded).
NNVAE_DPBF16_TARGET inline __m512i pair_words(__m512 lo, __m512 hi) {
  bf16::F32x16 l = (bf16::F32x16)lo, h = (bf16::F32x16)hi;
  bf16::round_x16(l);
  bf16::round_x16(h);
  const __m512i keep_high = _mm512_set1_epi32(int(0xFFFF0000u));
  return _mm512_or_si512(_mm512_srli_epi32((__m512i)l, 16), _mm512_and_si512((__m512i)h, keep_high));
}

// The mask of the first `n` of 16 lanes (n clamped to [0, 16]).
inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// 16 words from the floats x[0 .. n) (n clamped to [0, 32]; zeros past n):
// word t = (x[2t] rounded, x[2t+1] rounded), the pairs a row holds when
// its k runs along memory.
NNVAE_DPBF16_TARGET inline __m512i adjacent_pair_words(const float* x, int64_t n) {
  bf16::F32x16 v0 = (bf16::F32x16)_mm512_maskz_loadu_ps(first_lanes(n), x);
  bf16::F32x16 v1 = (bf16::F32x16)_mm512_maskz_loadu_ps(first_lanes(n - 16), x + 16);
  bf16::round_x16(v0);
  bf16::round_x16(v1);
  // 16-bit element 2f + 1 of the pair (v0, v1) is float f's upper half: the
  // odd elements, in order, are the 32 bf16 values.
  const __m512i odd = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33, 31, 29, 27,
                                       25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  return _mm512_permutex2var_epi16((__m512i)v0, odd, (__m512i)v1);
}

// B's slice rows [p0, p0 + kc) × columns [j0, j0 + nc) of op(B) as panels
// of 32 columns: the panel at column jr at dst + jr·kp (kp = ceil(kc / 2)
// pairs), its pair-row q at + 32·q, the words past nc zero.
NNVAE_DPBF16_TARGET void pack_b(View b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, uint32_t* dst) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int64_t nr = std::min<int64_t>(kNR, nc - jr);
    uint32_t* panel = dst + jr * kp;
    if (b.cs == 1) {  // row-major: two rows of 16 columns make 16 words
      for (int64_t q = 0; q < kp; ++q) {
        const float* r0 = b.p + (p0 + 2 * q) * b.rs + j0 + jr;
        const bool second = 2 * q + 1 < kc;
        for (int h = 0; h < kNR; h += 16) {
          const __mmask16 m = first_lanes(nr - h);
          const __m512 lo = _mm512_maskz_loadu_ps(m, r0 + h);
          const __m512 hi = second ? _mm512_maskz_loadu_ps(m, r0 + b.rs + h) : _mm512_setzero_ps();
          _mm512_store_si512(panel + 32 * q + h, pair_words(lo, hi));
        }
      }
      continue;
    }
    // Transposed (element (p, j) at b.p[j·cs + p]): a column's pairs are
    // adjacent floats, so 16 columns × 16 pairs are read as 16 rows of
    // words and transposed into 16 pair-rows of the panel.
    for (int h = 0; h < kNR; h += 16)
      for (int64_t q0 = 0; q0 < kp; q0 += 16) {
        __m512 r[16];  // words seen as floats by the transpose
        for (int j = 0; j < 16; ++j)
          r[j] = h + j < nr ? _mm512_castsi512_ps(adjacent_pair_words(b.p + (j0 + jr + h + j) * b.cs + p0 + 2 * q0,
                                                                      kc - 2 * q0))
                            : _mm512_setzero_ps();
        transpose16(r);
        for (int64_t t = 0; t < std::min<int64_t>(16, kp - q0); ++t)
          _mm512_store_si512(panel + 32 * (q0 + t) + h, _mm512_castps_si512(r[t]));
      }
  }
}

// A's panel, rows [0, mr) × [0, kc) of op(A) (element (i, p) at
// a.p[i·rs + p·cs]) as pairs: word (q, i) at dst[q·mr + i].
NNVAE_DPBF16_TARGET void pack_a(View a, int mr, int64_t kc, uint32_t* dst) {
  const int64_t kp = (kc + 1) / 2;
  const __mmask16 rows = first_lanes(mr);
  if (a.cs == 1) {  // row-major: a row's pairs adjacent; 16 rows × 16 pairs transposed
    for (int64_t q0 = 0; q0 < kp; q0 += 16) {
      __m512 r[16];  // words seen as floats by the transpose
      for (int i = 0; i < 16; ++i)
        r[i] = i < mr ? _mm512_castsi512_ps(adjacent_pair_words(a.p + i * a.rs + 2 * q0, kc - 2 * q0))
                      : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t t = 0; t < std::min<int64_t>(16, kp - q0); ++t)
        _mm512_mask_storeu_epi32(dst + (q0 + t) * mr, rows, _mm512_castps_si512(r[t]));
    }
    return;
  }
  if (a.rs == 1) {  // transposed: the panel's rows adjacent at each p
    for (int64_t q = 0; q < kp; ++q) {
      const __m512 lo = _mm512_maskz_loadu_ps(rows, a.p + 2 * q * a.cs);
      const __m512 hi = 2 * q + 1 < kc ? _mm512_maskz_loadu_ps(rows, a.p + (2 * q + 1) * a.cs) : _mm512_setzero_ps();
      _mm512_mask_storeu_epi32(dst + q * mr, rows, pair_words(lo, hi));
    }
    return;
  }
  for (int64_t q = 0; q < kp; ++q)
    for (int i = 0; i < mr; ++i) {
      const float* e = a.p + i * a.rs + 2 * q * a.cs;
      dst[q * mr + i] = pair_word(e[0], 2 * q + 1 < kc ? e[a.cs] : 0.f);
    }
}

// C tile (MR, 32) [= bias | += C] + A's panel (MR rows, kp pairs) · B's
// panel (kp pairs, 32 columns); only the columns in m0 (first 16) and m1
// (last 16) are read and written.
template <int MR>
NNVAE_DPBF16_TARGET void micro(int64_t kp, const uint32_t* __restrict pa, const uint32_t* __restrict pb,
                               float* __restrict c, int64_t ldc, int init, const float* __restrict bias,
                               __mmask16 m0, __mmask16 m1) {
  __m512 acc[MR][2];
  if (init == kLoad) {
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      acc[i][0] = _mm512_maskz_loadu_ps(m0, c + i * ldc);
      acc[i][1] = _mm512_maskz_loadu_ps(m1, c + i * ldc + 16);
    }
  } else {
    const __m512 b0 = init == kBias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 b1 = init == kBias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) acc[i][0] = b0, acc[i][1] = b1;
  }
#pragma GCC unroll 2
  for (int64_t q = 0; q < kp; ++q) {
    const __m512bh v0 = (__m512bh)_mm512_load_si512(pb + 32 * q);
    const __m512bh v1 = (__m512bh)_mm512_load_si512(pb + 32 * q + 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(int(pa[q * MR + i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, v0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, v1);
    }
  }
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) {
    _mm512_mask_storeu_ps(c + i * ldc, m0, acc[i][0]);
    _mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc[i][1]);
  }
}

using Micro = void (*)(int64_t, const uint32_t*, const uint32_t*, float*, int64_t, int, const float*, __mmask16,
                       __mmask16);

template <size_t... I>
constexpr std::array<Micro, kMR> micros(std::index_sequence<I...>) {
  return {&micro<int(I) + 1>...};
}
constexpr std::array<Micro, kMR> kMicro = micros(std::make_index_sequence<kMR>());

}  // namespace

void compute(const Block& blk) {
  const int64_t m = blk.m, n = blk.n, k = blk.k;
  if (m <= 0 || n <= 0) return;
  // This thread's packing buffers (floats' room, used as 32-bit words).
  static thread_local PackBuffer buffer_b, buffer_a;
  uint32_t* packed_b = reinterpret_cast<uint32_t*>(buffer_b.get(size_t(kPairs) * kNC));
  uint32_t* packed_a = reinterpret_cast<uint32_t*>(buffer_a.get(size_t(kPairs) * kMR));
  // k in slices of nearly equal, even length; columns in blocks of whole panels.
  const int64_t k_slices = std::max<int64_t>(1, (k + kKC - 1) / kKC);
  const int64_t kc_max = std::max<int64_t>(2, ((k + k_slices - 1) / k_slices + 1) / 2 * 2);
  const int64_t n_blocks = (n + kNC - 1) / kNC;
  const int64_t nc_max = ((n + n_blocks - 1) / n_blocks + kNR - 1) / kNR * kNR;
  for (int64_t jc = 0; jc < n; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n - jc);
    for (int64_t pc = 0; pc < k || pc == 0; pc += kc_max) {
      const int64_t kc = std::max<int64_t>(0, std::min(kc_max, k - pc)), kp = (kc + 1) / 2;
      const bool last = pc + kc >= k;
      const int init = pc > 0 || blk.accumulate ? kLoad : blk.bias ? kBias : kZero;
      pack_b(blk.b, pc, kc, jc, nc, packed_b);
      // Rows in panels of nearly equal height (as the fp32 kernels cut them).
      const int64_t panels = (m + kMR - 1) / kMR, tall = m % panels, height = m / panels;
      for (int64_t ir = 0, panel = 0; ir < m; ++panel) {
        const int mr = int(height + (panel < tall ? 1 : 0));
        pack_a(View{blk.a.p + ir * blk.a.rs + pc * blk.a.cs, blk.a.rs, blk.a.cs}, mr, kc, packed_a);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t nr = std::min<int64_t>(kNR, nc - jr);
          float* c = blk.c + ir * blk.ldc + jc + jr;
          const float* bias = blk.bias ? blk.bias + jc + jr : nullptr;
          kMicro[mr - 1](kp, packed_a, packed_b + jr * kp, c, blk.ldc, init, bias, first_lanes(nr),
                         first_lanes(nr - 16));
        }
        if (last && blk.ep) (*blk.ep)(blk.c_whole, blk.ldc, blk.r0 + ir, blk.r0 + ir + mr, blk.c0 + jc, blk.c0 + jc + nc);
        ir += mr;
      }
    }
  }
}

}  // namespace dpbf16
}  // namespace gemm
}  // namespace kernels
}  // namespace nnvae

#endif  // NNVAE_DPBF16_KERNEL
