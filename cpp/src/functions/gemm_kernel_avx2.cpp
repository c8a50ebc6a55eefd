// The engine's AVX2 product on one block of C, for CPUs with AVX2 and FMA
// but no AVX-512 (see gemm_kernel.hpp; the AVX-512 kernel is
// gemm_kernel.cpp, and a build has one of the two).
//
// Micro-kernel: a tile of up to 6 rows × 16 columns of C lives in 12 of the
// 16 vector registers (two 8-float vectors per row) for a whole slice of k;
// each step of k loads one row of B's panel (two vectors) and broadcasts one
// element of A per row: 12 multiply-adds for 2 loads and 6 broadcasts, the
// most independent sums the registers hold (two FMA ports, each 4-5 cycles
// deep, need at least 8-10 of them in flight).
//
// Loops (a block of C, single thread): columns in blocks of at most 256 (B's
// slice, 256 × 256 floats = 256 KB, stays in a 512 KB L2), k in slices of
// at most 256, rows in panels of 6 (A's panel, 6 × 256 floats, stays in L1
// while the panel of rows crosses all the columns of the block, each 16-wide
// panel of B, 16 KB, streaming from L2). B is always packed into contiguous
// panels of 16 columns (8 for the last one when 8 or fewer remain), zero
// padded: a copy, or 8 × 8 transposes when B is transposed. A is read in
// place when row-major; a transposed A's panel is copied into 6-float
// columns when many columns of C reuse it. Tiles on the right edge of C
// (fewer than 16 or 8 columns) are computed into a small tile on the stack
// and copied, so the micro-kernel never needs masks.
//
// bf16 products (blk.bf16) round B while packing it and always copy A's
// panel (rounded), so the micro-kernel never reads an unrounded operand.
#include "gemm_kernel.hpp"

#ifdef NNVAE_GEMM_AVX2
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "bf16_round.hpp"

namespace nnvae {
namespace kernels {
namespace gemm {

bool available() { return true; }

namespace {

constexpr int kMR = kTileRows;  // 6
constexpr int kNR = kTileCols;  // 16: two vectors
constexpr int64_t kKC = 256;  // longest slice of k
constexpr int64_t kNC = 256;  // widest block of columns
// A transposed A's panel is copied into 6-float columns when C has more
// than this many columns to reuse it (fewer read it in place).
constexpr int64_t kPackAMinCols = 64;
// A row-major B is read in place, not packed, when C has at most this many
// rows: each panel of B then serves at most 3 panels of rows, too few
// reads to pay for a copy (a convolution's columns, W · col with W's 16 to
// 20 maps, were packed only to be read three times).
constexpr int64_t kInPlaceBMaxRows = 3 * kMR;

// How the tile starts: from zero, from the bias row, or from C.
enum Init { kZero, kBias, kLoad };

// C tile (MR, 8·NV) [= bias | += C] + A (MR, kc) · B (kc, 8·NV), every
// column of the tile inside C. A's element (i, p) is pa[i + p·as] when
// ACOL (stored column by column), else pa[i·as + p]; B's row p is the 8·NV
// floats at pb + p·bs (bs = 8·NV in a packed panel, B's row stride when B
// is read in place).
template <int MR, int NV, bool ACOL>
void micro(int64_t kc, const float* __restrict pa, int64_t as, const float* __restrict pb, int64_t bs,
           float* __restrict c, int64_t ldc, int init, const float* __restrict bias) {
  __m256 acc[MR][NV];
  if (init == kLoad) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_loadu_ps(c + i * ldc + 8 * v);
  } else {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const __m256 b0 = init == kBias ? _mm256_loadu_ps(bias + 8 * v) : _mm256_setzero_ps();
#pragma GCC unroll 6
      for (int i = 0; i < MR; ++i) acc[i][v] = b0;
    }
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_loadu_ps(pb + p * bs + 8 * v);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(ACOL ? pa + i + p * as : pa + i * as + p);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(a, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(c + i * ldc + 8 * v, acc[i][v]);
}

using Micro = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t, int, const float*);

// kMicro[acol][nv - 1][mr - 1]: every tile the edges of C need.
template <bool ACOL, int NV, size_t... I>
constexpr std::array<Micro, kMR> row_of(std::index_sequence<I...>) {
  return {&micro<int(I) + 1, NV, ACOL>...};
}
const std::array<Micro, kMR> kMicro[2][2] = {
    {row_of<false, 1>(std::make_index_sequence<kMR>()), row_of<false, 2>(std::make_index_sequence<kMR>())},
    {row_of<true, 1>(std::make_index_sequence<kMR>()), row_of<true, 2>(std::make_index_sequence<kMR>())}};

// v, or v rounded to bf16 (bf16_round.hpp) when `round`.
inline __m256 maybe_round(__m256 v, bool round) {
  if (!round) return v;
  bf16::F32x8 r = (bf16::F32x8)v;
  bf16::round_x8(r);
  return (__m256)r;
}
inline float maybe_round(float v, bool round) { return round ? bf16::round_scalar(v) : v; }

// r[i][j] becomes r[j][i] (an 8 × 8 block of floats).
inline void transpose8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {  // pairs of rows interleaved within 128-bit lanes
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 2; ++g) {  // s[4g + q], lane half h: column 4h + q of rows 4g .. 4g + 3
    s[4 * g] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    s[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    s[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    s[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  for (int q = 0; q < 4; ++q) {
    r[q] = _mm256_permute2f128_ps(s[q], s[4 + q], 0x20);
    r[4 + q] = _mm256_permute2f128_ps(s[q], s[4 + q], 0x31);
  }
}

// The width of the packed panel starting at column jr of a block nc wide:
// 16, or 8 when at most 8 columns remain.
inline int64_t panel_width(int64_t jr, int64_t nc) { return nc - jr > 8 ? 16 : 8; }

// B's slice rows [p0, p0 + kc) × columns [j0, j0 + nc) of op(B), packed as
// panels (panel_width wide, zero padded past nc): the panel at column jr
// starts at dst + jr·kc, its row p at + p·width. A transposed B (element
// (p, j) at b[j·cs + p]) is transposed 8 × 8 through registers. Each value
// rounded to bf16 when `round`.
void pack_b(View b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst, bool round) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int64_t width = panel_width(jr, nc), nr = std::min(width, nc - jr);
    float* panel = dst + jr * kc;
    if (b.cs == 1) {  // row-major: copy runs of `width` columns
      const float* src = b.p + p0 * b.rs + j0 + jr;
      for (int64_t p = 0; p < kc; ++p, src += b.rs, panel += width) {
        // Rows are a row stride apart: ask for the row 12 ahead while this
        // one is copied (the hardware prefetcher does not follow it), both
        // cache lines of its 16 floats (a row rarely starts on a line).
        _mm_prefetch(reinterpret_cast<const char*>(src + 12 * b.rs), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(src + 12 * b.rs + width - 1), _MM_HINT_T0);
        if (nr == width) {
          for (int64_t h = 0; h < width; h += 8) _mm256_store_ps(panel + h, maybe_round(_mm256_loadu_ps(src + h), round));
        } else {
          for (int64_t j = 0; j < width; ++j) panel[j] = j < nr ? maybe_round(src[j], round) : 0.f;
        }
      }
      continue;
    }
    // Transposed: 8 × 8 blocks (8 consecutive p of 8 stored rows), whole
    // blocks through registers, the ragged edges element by element.
    for (int64_t p = 0; p < kc; p += 8) {
      const int64_t pr = std::min<int64_t>(8, kc - p);
      for (int64_t h = 0; h < width; h += 8) {
        const float* src = b.p + (j0 + jr + h) * b.cs + p0 + p;
        const int64_t jn = std::max<int64_t>(0, std::min<int64_t>(8, nr - h));
        if (pr == 8 && jn == 8) {
          __m256 r[8];
          for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src + j * b.cs);
          transpose8(r);
          for (int q = 0; q < 8; ++q) _mm256_store_ps(panel + (p + q) * width + h, maybe_round(r[q], round));
        } else {
          for (int64_t q = 0; q < pr; ++q)
            for (int64_t j = 0; j < 8; ++j)
              panel[(p + q) * width + h + j] = j < jn ? maybe_round(src[j * b.cs + q], round) : 0.f;
        }
      }
    }
  }
}

// A's panel, rows [0, mr) × [0, kc) of op(A) (element (i, p) at
// a[i·rs + p·cs]), copied so that its columns are contiguous: element
// (i, p) at dst[i + p·mr]. Each value rounded to bf16 when `round`.
void pack_a(View a, int mr, int64_t kc, float* dst, bool round) {
  for (int64_t p = 0; p < kc; ++p)
    for (int i = 0; i < mr; ++i) dst[i + p * mr] = maybe_round(a.p[i * a.rs + p * a.cs], round);
}

}  // namespace

void compute(const Block& blk) {
  const int64_t m = blk.m, n = blk.n, k = blk.k;
  if (m <= 0 || n <= 0) return;
  const bool bf16 = blk.bf16;
  const int64_t k_slices = std::max<int64_t>(1, (k + kKC - 1) / kKC);
  const int64_t kc_max = std::max<int64_t>(1, (k + k_slices - 1) / k_slices);
  const int64_t n_blocks = (n + kNC - 1) / kNC;
  const int64_t nc_max = ((n + n_blocks - 1) / n_blocks + kNR - 1) / kNR * kNR;
  const bool acol = blk.a.rs == 1 && blk.a.cs != 1;  // A transposed: its columns are contiguous
  const bool pack_a_panel = bf16 || (acol && n > kPackAMinCols);
  static thread_local PackBuffer buffer, buffer_a;
  float* packed = buffer.get(size_t(kc_max) * size_t(nc_max));
  float* packed_a = pack_a_panel ? buffer_a.get(size_t(kc_max) * kMR) : nullptr;
  alignas(32) float edge[kMR * kNR];  // a tile on C's right edge
  for (int64_t jc = 0; jc < n; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n - jc);
    for (int64_t pc = 0; pc < k || pc == 0; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const bool last = pc + kc >= k;
      const int init = pc > 0 || blk.accumulate ? kLoad : blk.bias ? kBias : kZero;
      // B's panels: read in place (full panels of a row-major B, few rows
      // of C, fp32), else packed; pb(jr) is the panel at column jr and bs
      // its row stride.
      const bool in_place = !bf16 && blk.b.cs == 1 && m <= kInPlaceBMaxRows;
      const int64_t full = in_place ? nc / kNR * kNR : 0;  // columns read in place
      if (full < nc) pack_b(blk.b, pc, kc, jc + full, nc - full, packed, bf16);
      auto pb = [&](int64_t jr) { return jr < full ? blk.b.p + pc * blk.b.rs + jc + jr : packed + (jr - full) * kc; };
      auto bs = [&](int64_t jr, int64_t width) { return jr < full ? blk.b.rs : width; };
      // Rows in panels of nearly equal height (100 rows: 4 × 6 + 16 × 5,
      // not 16 × 6 + 4, whose last panel would have 8 accumulators).
      const int64_t panels = (m + kMR - 1) / kMR, tall = m % panels, height = m / panels;
      for (int64_t ir = 0, panel = 0; ir < m; ++panel) {
        const int mr = int(height + (panel < tall ? 1 : 0));
        const float* pa = blk.a.p + ir * blk.a.rs + pc * blk.a.cs;
        int64_t as = acol ? blk.a.cs : blk.a.rs;
        bool a_cols = acol;
        if (pack_a_panel) {
          pack_a(View{pa, blk.a.rs, blk.a.cs}, mr, kc, packed_a, bf16);
          pa = packed_a, as = mr, a_cols = true;
        }
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int64_t width = panel_width(jr, nc), nr = std::min(width, nc - jr);
          const int nv = int(width / 8);
          float* c = blk.c + ir * blk.ldc + jc + jr;
          const float* bias = blk.bias ? blk.bias + jc + jr : nullptr;
          const Micro f = kMicro[a_cols][nv - 1][mr - 1];
          if (jr + kNR < nc)  // the next tile of C on its way to L1 while this one computes
            for (int i = 0; i < mr; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + kNR + i * blk.ldc), _MM_HINT_T0);
          if (nr == width) {
            f(kc, pa, as, pb(jr), bs(jr, width), c, blk.ldc, init, bias);
            continue;
          }
          // The right edge: the tile's start in `edge` (row stride width),
          // computed there, its first nr columns copied to C.
          for (int i = 0; i < mr; ++i)
            for (int64_t j = 0; j < width; ++j)
              edge[i * width + j] = j >= nr ? 0.f : init == kLoad ? c[i * blk.ldc + j] : init == kBias ? bias[j] : 0.f;
          f(kc, pa, as, pb(jr), bs(jr, width), edge, width, kLoad, nullptr);
          for (int i = 0; i < mr; ++i) std::memcpy(c + i * blk.ldc, edge + i * width, size_t(nr) * sizeof(float));
        }
        if (last && blk.ep) (*blk.ep)(blk.c_whole, blk.ldc, blk.r0 + ir, blk.r0 + ir + mr, blk.c0 + jc, blk.c0 + jc + nc);
        ir += mr;
      }
    }
  }
}

}  // namespace gemm
}  // namespace kernels
}  // namespace nnvae

#endif  // NNVAE_GEMM_AVX2
