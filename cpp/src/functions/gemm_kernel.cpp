// The engine's AVX-512 product on one block of C: a register-blocked
// micro-kernel and the loops that feed it (see gemm_kernel.hpp).
//
// Micro-kernel: a tile of up to 14 rows × 32 columns of C lives in 28
// vector registers (two 16-float vectors per row) for a whole slice of k;
// each step of k loads one row of B's panel (two vectors) and broadcasts
// one element of A per row of the tile: 28 multiply-adds for 2 loads and 14
// broadcasts, enough independent sums to keep both FMA ports busy.
//
// Loops (a block of C, single thread): columns in blocks of at most 640
// (B's slice, k-slice × 640 floats, stays in the 2 MB L2), k in slices of at
// most 320, rows in panels of 14 (A's panel, 14 × 320 floats, stays in L1
// while the panel of rows crosses all the columns of the block). B is
// packed into contiguous 32-column panels (a copy, or a transpose when B is
// transposed) unless only a few rows of C read it; A is read in place when
// row-major, and a transposed A's panel is copied into 14-float columns.
// The next tile of C is prefetched while the current one computes.
//
// bf16 products (blk.bf16) round A and B to bf16 while packing them, once
// per slice, and then run the same fp32 micro-kernel: B is always packed
// and A's panel always copied (rounded), so the kernel never reads an
// unrounded operand, and the dot-product path (which packs nothing) is not
// taken.
#include "gemm_kernel.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <utility>

#ifdef NNVAE_GEMM_AVX512
#include <immintrin.h>

#include "bf16_round.hpp"
#include "transpose_avx512.hpp"
#endif

namespace nnvae {
namespace kernels {
namespace gemm {

#if !defined(NNVAE_GEMM_AVX512) && !defined(NNVAE_GEMM_AVX2)

bool available() { return false; }
void compute(const Block&) {}

#elif defined(NNVAE_GEMM_AVX512)

bool available() { return true; }

namespace {

constexpr int kMR = kTileRows;
constexpr int kNR = kTileCols;  // two vectors
constexpr int64_t kKC = 320;  // longest slice of k
constexpr int64_t kNC = 640;  // widest block of columns
// B is packed (copied into contiguous panels) when more than this many rows
// of C will read it; fewer rows read it in place (batch 10: packing B would
// cost as much as the product). At 100 rows reading in place wins while B
// is in cache (the product timed alone), packing wins in a training step,
// where W arrives from L3 and the packing pass streams it. A transposed A is packed (its panel copied
// to 14-float columns) when C has more than this many columns to reuse it.
constexpr int64_t kPackBMinRows = 64, kPackAMinCols = 64;
// A·Bᵀ with at most kMR rows goes to compute_dot when k is at least this
// long (shorter rows leave the dot products too few vectors to sum).
constexpr int64_t kDotMinK = 128;

// How the tile starts: from zero, from the bias row, or from C (a later
// k slice, or a product added to C).
enum Init { kZero, kBias, kLoad };

// C tile (MR, 16·NV) [= bias | += C] + A (MR, kc) · B (kc, 16·NV).
// A's element (i, p) is pa[i + p·as] when ACOL (A stored column by column,
// as a transposed operand is), else pa[i·as + p]; B's row p starts at
// pb + p·ldb. `last` masks the columns of the last vector (the right edge
// of C): those loads read zeros and those stores do not happen.
template <int MR, int NV, bool ACOL>
void micro(int64_t kc, const float* __restrict pa, int64_t as, const float* __restrict pb, int64_t ldb,
           float* __restrict c, int64_t ldc, int init, const float* __restrict bias, __mmask16 last) {
  __mmask16 mk[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) mk[v] = v == NV - 1 ? last : __mmask16(0xFFFF);
  __m512 acc[MR][NV];
  if (init == kLoad) {
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_maskz_loadu_ps(mk[v], c + i * ldc + 16 * v);
  } else {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const __m512 b0 = init == kBias ? _mm512_maskz_loadu_ps(mk[v], bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 14
      for (int i = 0; i < MR; ++i) acc[i][v] = b0;
    }
  }
#pragma GCC unroll 2
  for (int64_t p = 0; p < kc; ++p) {
    __m512 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(mk[v], pb + p * ldb + 16 * v);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(ACOL ? pa[i + p * as] : pa[i * as + p]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(c + i * ldc + 16 * v, mk[v], acc[i][v]);
}

using Micro = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t, int, const float*,
                       __mmask16);

// kMicro[acol][nv - 1][mr - 1]: every tile the edges of C need.
template <bool ACOL, int NV, size_t... I>
constexpr std::array<Micro, kMR> row_of(std::index_sequence<I...>) {
  return {&micro<int(I) + 1, NV, ACOL>...};
}
const std::array<Micro, kMR> kMicro[2][2] = {
    {row_of<false, 1>(std::make_index_sequence<kMR>()), row_of<false, 2>(std::make_index_sequence<kMR>())},
    {row_of<true, 1>(std::make_index_sequence<kMR>()), row_of<true, 2>(std::make_index_sequence<kMR>())}};

// v, or v rounded to bf16 (bf16_round.hpp) when `round`.
inline __m512 maybe_round(__m512 v, bool round) {
  if (!round) return v;
  bf16::F32x16 r = (bf16::F32x16)v;
  bf16::round_x16(r);
  return (__m512)r;
}

// B's slice rows [p0, p0 + kc) × columns [j0, j0 + nc) of op(B), packed as
// panels of 32 columns (the last one 16 or 32 wide, zero padded): panel jr
// at dst + jr·kc, row p of it at + p·width. For a transposed B (rs == 1,
// element (p, j) at b[j·cs + p]) the panel is a transpose, done 16 × 16
// through a small block on the stack. Each value rounded to bf16 when `round`.
void pack_b(View b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst, bool round) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int64_t nr = std::min<int64_t>(kNR, nc - jr), width = nr > 16 ? 32 : 16;
    float* panel = dst + jr * kc;
    if (b.cs == 1) {  // row-major: copy runs of `width` columns, zeros past the edge
      const int64_t rem = nr - (width - 16);
      const __mmask16 mask = rem == 16 ? __mmask16(0xFFFF) : __mmask16((1u << rem) - 1);
      const float* src = b.p + p0 * b.rs + j0 + jr;
      // Rows of a panel are a row stride apart (2 KB and more for W): the
      // hardware prefetcher does not follow such a stride, so the row 12
      // ahead is asked for while this one is copied (in a step, W comes
      // from L3). Past the slice, it is the next slice's or nothing's.
      for (int64_t p = 0; p < kc; ++p, src += b.rs, panel += width) {
        _mm_prefetch(reinterpret_cast<const char*>(src + 12 * b.rs), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(src + 12 * b.rs + 16), _MM_HINT_T0);
        if (width == 32) _mm512_store_ps(panel, maybe_round(_mm512_loadu_ps(src), round));
        _mm512_store_ps(panel + width - 16, maybe_round(_mm512_maskz_loadu_ps(mask, src + width - 16), round));
      }
      continue;
    }
    // Transposed (element (p, j) at b[j·cs + p]): 16 × 16 blocks, rows of
    // the stored B (16 consecutive p each) become rows of the panel.
    for (int64_t p = 0; p < kc; p += 16) {
      const int64_t pr = std::min<int64_t>(16, kc - p);
      const __mmask16 pmask = pr == 16 ? __mmask16(0xFFFF) : __mmask16((1u << pr) - 1);
      for (int64_t h = 0; h < width; h += 16) {
        __m512 r[16];
        for (int64_t j = 0; j < 16; ++j)
          r[j] = h + j < nr ? _mm512_maskz_loadu_ps(pmask, b.p + (j0 + jr + h + j) * b.cs + p0 + p)
                            : _mm512_setzero_ps();
        transpose16(r);
        for (int64_t q = 0; q < pr; ++q) _mm512_store_ps(panel + (p + q) * width + h, maybe_round(r[q], round));
      }
    }
  }
}

// A transposed A's panel, rows [0, mr) × [0, kc) of op(A) (element (i, p)
// at a[i + p·cs]), copied so that its columns are contiguous: element
// (i, p) at dst[i + p·mr]. Each value rounded to bf16 when `round`.
void pack_a(const float* a, int64_t cs, int mr, int64_t kc, float* dst, bool round) {
  const __mmask16 mask = __mmask16((1u << mr) - 1);
  for (int64_t p = 0; p < kc; ++p)
    _mm512_mask_storeu_ps(dst + p * mr, mask, maybe_round(_mm512_maskz_loadu_ps(mask, a + p * cs), round));
}

// A row-major A's panel, rows [0, mr) × [0, kc) of A (element (i, p) at
// a[i·rs + p]), rounded to bf16 into dst, row-major with row stride kc (for
// bf16 products, where A is never read in place).
void pack_a_rows_bf16(const float* a, int64_t rs, int mr, int64_t kc, float* dst) {
  for (int i = 0; i < mr; ++i)
    for (int64_t p = 0; p < kc; p += 16) {
      const int64_t left = std::min<int64_t>(16, kc - p);
      const __mmask16 mask = left == 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      _mm512_mask_storeu_ps(dst + i * kc + p, mask, maybe_round(_mm512_maskz_loadu_ps(mask, a + i * rs + p), true));
    }
}

}  // namespace

void compute(const Block& blk) {
  const int64_t m = blk.m, n = blk.n, k = blk.k;
  if (m <= 0 || n <= 0) return;
  const bool bf16 = blk.bf16;
  if (!bf16 && blk.b.rs == 1 && blk.b.cs != 1 && blk.a.cs == 1 && m <= kMR && k >= kDotMinK) return compute_dot(blk);
  const int64_t k_slices = std::max<int64_t>(1, (k + kKC - 1) / kKC);
  const int64_t kc_max = std::max<int64_t>(1, (k + k_slices - 1) / k_slices);
  const int64_t n_blocks = (n + kNC - 1) / kNC;
  const int64_t nc_max = ((n + n_blocks - 1) / n_blocks + kNR - 1) / kNR * kNR;
  // B packed when transposed (its rows must become contiguous) or read by
  // many rows of C; A's transposed panels packed when reused by many columns;
  // both always for bf16 products (the packing rounds them).
  const bool pack = bf16 || blk.b.cs != 1 || m > kPackBMinRows;
  const bool acol = blk.a.rs == 1 && blk.a.cs != 1;  // A transposed: its columns are contiguous
  const bool pack_a_panel = bf16 || (acol && n > kPackAMinCols);
  static thread_local PackBuffer buffer, buffer_a;
  float* packed = pack ? buffer.get(size_t(kc_max) * size_t(nc_max + kNR)) : nullptr;
  float* packed_a = pack_a_panel ? buffer_a.get(size_t(kc_max) * kMR) : nullptr;
  for (int64_t jc = 0; jc < n; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n - jc);
    for (int64_t pc = 0; pc < k || pc == 0; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const bool last = pc + kc >= k;
      const int init = pc > 0 || blk.accumulate ? kLoad : blk.bias ? kBias : kZero;
      if (pack) pack_b(blk.b, pc, kc, jc, nc, packed, bf16);
      // Rows in panels of nearly equal height (100 rows: 4 × 13 + 4 × 12,
      // not 7 × 14 + 2, whose last panel would have 4 accumulators).
      const int64_t panels = (m + kMR - 1) / kMR, tall = m % panels, height = m / panels;
      for (int64_t ir = 0, panel = 0; ir < m; ++panel) {
        const int mr = int(height + (panel < tall ? 1 : 0));
        const float* pa = blk.a.p + ir * blk.a.rs + pc * blk.a.cs;
        int64_t as = acol ? blk.a.cs : blk.a.rs;
        if (pack_a_panel && acol) {
          pack_a(pa, blk.a.cs, mr, kc, packed_a, bf16);
          pa = packed_a;
          as = mr;
        } else if (pack_a_panel) {  // bf16: a row-major A's panel, rounded
          pack_a_rows_bf16(pa, blk.a.rs, mr, kc, packed_a);
          pa = packed_a;
          as = kc;
        }
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t nr = std::min<int64_t>(kNR, nc - jr);
          const int nv = nr > 16 ? 2 : 1;
          const int64_t rem = nr - 16 * (nv - 1);
          const __mmask16 mask = rem == 16 ? __mmask16(0xFFFF) : __mmask16((1u << rem) - 1);
          const float* pb = pack ? packed + jr * kc : blk.b.p + pc * blk.b.rs + (jc + jr);
          const int64_t ldb = pack ? 16 * nv : blk.b.rs;
          if (jr + kNR < nc) {  // the next tile of C on its way to L1 while this one computes
            float* next = blk.c + ir * blk.ldc + jc + jr + kNR;
            for (int i = 0; i < mr; ++i) {
              _mm_prefetch(reinterpret_cast<const char*>(next + i * blk.ldc), _MM_HINT_T0);
              _mm_prefetch(reinterpret_cast<const char*>(next + i * blk.ldc + 16), _MM_HINT_T0);
            }
          }
          kMicro[acol][nv - 1][mr - 1](kc, pa, as, pb, ldb, blk.c + ir * blk.ldc + jc + jr, blk.ldc, init,
                                       blk.bias ? blk.bias + jc + jr : nullptr, mask);
        }
        if (last && blk.ep) (*blk.ep)(blk.c_whole, blk.ldc, blk.r0 + ir, blk.r0 + ir + mr, blk.c0 + jc, blk.c0 + jc + nc);
        ir += mr;
      }
    }
  }
}

#endif  // NNVAE_GEMM_AVX512

}  // namespace gemm
}  // namespace kernels
}  // namespace nnvae
