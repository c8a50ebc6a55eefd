// The engine's own single-threaded product on one block of C (private to
// the engine; matmul.cpp cuts products into such blocks, one per thread, and
// falls back to Eigen where no kernel is built). One kernel is built, for
// the widest vectors the compiler targets: AVX-512 (gemm_kernel.cpp) or
// AVX2 with FMA (gemm_kernel_avx2.cpp).
#pragma once
#include <cstdint>
#include <cstdlib>

#include "nnvae/kernels/matmul.hpp"

namespace nnvae {
namespace kernels {
namespace gemm {

// A matrix operand seen through strides: element (i, j) at p[i*rs + j*cs].
// A row-major (r, c) matrix is {p, c, 1}; its transpose is {p, 1, c}.
struct View {
  const float* p;
  int64_t rs, cs;
};

// One block of a product: C (m, n) [= bias | += C] + op(A) (m, k) · op(B) (k, n).
// `c` points at the block's first element inside the whole C (row stride
// ldc); the block starts at row r0, column c0 of the whole C, which is what
// the epilogue is told. bias (n), if given, is the block's part of a
// per-column vector (only with accumulate false).
struct Block {
  View a, b;
  float* c;
  int64_t ldc;
  int64_t m, n, k;
  bool accumulate;
  const float* bias;
  const Epilogue* ep;
  float* c_whole;  // C itself, for the epilogue
  int64_t r0, c0;  // where the block sits in C
  // bf16 products (precision.hpp): A and B are rounded to bf16 as they are
  // packed, and both are always packed, so no operand is read unrounded.
  bool bf16 = false;
};

// Which kernel this build has.
#if defined(__AVX512F__)
#define NNVAE_GEMM_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#define NNVAE_GEMM_AVX2 1
#endif

// The register tile: rows × columns of C one micro-kernel call computes
// (a block cut at multiples of these wastes no lanes inside): 14 × two
// 16-float vectors with AVX-512, 6 × two 8-float vectors with AVX2.
#if defined(NNVAE_GEMM_AVX512)
constexpr int kTileRows = 14, kTileCols = 32;
#else
constexpr int kTileRows = 6, kTileCols = 16;
#endif

// A thread's packing buffer (the kernels keep one per thread, for B's
// panels and one for A's), 64-byte aligned, grown on demand.
struct PackBuffer {
  float* p = nullptr;
  size_t size = 0;
  ~PackBuffer() { std::free(p); }
  float* get(size_t floats) {
    if (floats > size) {
      std::free(p);
      size = (floats + 15) / 16 * 16;
      p = static_cast<float*>(std::aligned_alloc(64, size * sizeof(float)));
    }
    return p;
  }
};

// True when this build has a kernel (the library is compiled for AVX-512,
// or for AVX2 with FMA).
bool available();

// Computes the block on the calling thread: the columns in panels of 32
// (16-float vectors, masked at the right edge), the rows in panels of up to
// 14, k in slices of at most a few hundred. C is written directly (no
// zeroing pass) on the first slice and the epilogue runs on each panel of
// rows (at most 14 rows × 640 columns) as soon as the last slice has
// finished it. Requires available(). (The AVX2 kernel's tiles and slices
// are smaller; gemm_kernel_avx2.cpp.)
void compute(const Block& blk);

// The same for A·Bᵀ with at most kTileRows rows (A row-major, B stored
// transposed, as dY·Wᵀ at a small batch), as dot products of rows
// (gemm_dot.cpp): compute() sends such products there when k is long
// enough, instead of transposing all of B for a few rows of C. Never for
// bf16 products (it reads both operands in place, unrounded). AVX-512 only.
void compute_dot(const Block& blk);

}  // namespace gemm
}  // namespace kernels
}  // namespace nnvae
