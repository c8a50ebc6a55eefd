// The engine's matrix product and affine's kernels (forward, backward, bias).
//
// Each block of a product runs the engine's own kernel (AVX-512 or AVX2,
// gemm_kernel.hpp: it writes C directly, starts from the bias, and
// finishes each panel of rows with the epilogue while it is in cache), or
// Eigen's single-threaded product where the library is compiled for
// neither.
//
// bf16 products (precision.hpp): on a CPU with AVX512-BF16 they run its
// own kernel (gemm_kernel_dpbf16.cpp, VDPBF16PS); elsewhere the engine's
// fp32 kernel rounds A and B while it packs them, and for Eigen's product
// each operand is rounded into a scratch copy once per product, before the
// threads start, and Eigen multiplies the copies. Every way the operands
// are rounded alike and the sums are fp32.
//
// Threads: each product is cut into independent blocks of its output, one
// per thread (two products computed together: two blocks per thread, taken
// as the threads come free), and each thread computes its block alone.
// (Eigen's own OpenMP product makes its threads spin on each other while
// packing shared blocks: on a busy machine a preempted thread stalls the
// other for a whole time slice, 10-60x slower measured. Independent blocks
// only meet at the end of the parallel loop.)
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "common.hpp"
#include "gemm_kernel.hpp"
#include "gemm_kernel_dpbf16.hpp"
#include "nnvae/kernels/matmul.hpp"
#include "nnvae/precision.hpp"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnvae {
namespace kernels {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
using MapS = Eigen::Map<RowMatrix, 0, Stride>;
using MapCS = Eigen::Map<const RowMatrix, 0, Stride>;

namespace {

// The kernel products run on (set_product_kernel).
bool use_native = gemm::available();
// bf16 products go to the AVX512-BF16 kernel (bf16_dispatch chose it, and
// set_product_kernel has not asked for Eigen).
bool bf16_fast = bf16_dispatch().path == Bf16Path::avx512_bf16;

// C += A·B on views, single-threaded.
template <class A, class B>
void product_into(MapS C, const A& a, const B& b) {
  C.noalias() += a * b;
}

// Products smaller than this many multiply-adds stay on one thread.
constexpr int64_t kParallelProduct = int64_t(1) << 20;

// One product C (m, n) (+)= op(A) · op(B), as matmul takes it.
struct Product {
  const float* a;
  bool ta;
  const float* b;
  bool tb;
  float* c;
  int64_t m, k, n;
  bool accumulate;
  const Epilogue* ep;
  const float* bias = nullptr;  // (n), added when accumulate is false
  bool bf16 = false;  // round A and B to bf16 (set by products())
};

// Block `part` of the product cut into `parts` along the longer side of C:
// rows [lo, hi) of C or its columns [lo, hi), in multiples of the native
// kernel's tile (16 floats for Eigen). A part
// past the end (the product is too narrow for that many) does nothing.
void product_block(const Product& p, int part, int parts) {
  const bool by_rows = p.m >= p.n;
  const int64_t extent = by_rows ? p.m : p.n;
  const int64_t unit = !use_native ? 16 : by_rows ? gemm::kTileRows : gemm::kTileCols;
  const int64_t chunk = ((extent + parts - 1) / parts + unit - 1) / unit * unit;
  const int64_t lo = std::min(extent, part * chunk), hi = std::min(extent, lo + chunk);
  if (lo >= hi) return;
  const int64_t m = p.m, k = p.k, n = p.n;
  const int64_t mb = by_rows ? hi - lo : m, nb = by_rows ? n : hi - lo;
  // The part of A feeding these rows (all of it when cutting columns), and
  // the part of B feeding these columns (all of it when cutting rows).
  const int64_t ra = by_rows ? lo : 0, cb = by_rows ? 0 : lo;
  float* c = p.c + ra * n + cb;
  // A single row or column of C (a matrix-vector product) stays with
  // Eigen: the native tile would run with one or two accumulators. Not for
  // bf16, whose operands only the native kernel rounds.
  // bf16 on a CPU with AVX512-BF16: its own kernel, whatever the build's
  // fp32 kernel (gemm_kernel_dpbf16.cpp).
  const bool dpbf16 = p.bf16 && bf16_fast;
  if (dpbf16 || (use_native && (p.bf16 || (mb > 1 && nb > 1)))) {
    gemm::Block blk;
    blk.a = p.ta ? gemm::View{p.a + ra, 1, m} : gemm::View{p.a + ra * k, k, 1};
    blk.b = p.tb ? gemm::View{p.b + cb * k, 1, k} : gemm::View{p.b + cb, n, 1};
    blk.c = c;
    blk.ldc = n;
    blk.m = mb, blk.n = nb, blk.k = k;
    blk.accumulate = p.accumulate;
    blk.bias = p.bias && !p.accumulate ? p.bias + cb : nullptr;
    blk.ep = p.ep;
    blk.c_whole = p.c;
    blk.r0 = ra, blk.c0 = cb;
    blk.bf16 = p.bf16;
#ifdef NNVAE_DPBF16_KERNEL
    if (dpbf16) {
      gemm::dpbf16::compute(blk);
      return;
    }
#endif
    gemm::compute(blk);
    return;
  }
  // Eigen's product always adds into C, clearing it first for `C = A·B`.
  // A gradient written by its first writer (accumulate false: no zero_grad
  // pass before) is cleared here, or set to the bias, by the thread that
  // owns the block, right before the product fills it.
  if (!p.accumulate)
    for (int64_t r = 0; r < mb; ++r) {
      float* row = c + r * n;
      const float* bias = p.bias ? p.bias + cb : nullptr;
#pragma omp simd
      for (int64_t j = 0; j < nb; ++j) row[j] = bias ? bias[j] : 0.f;
    }
  MapS C(c, mb, nb, Stride(n));
  if (!p.ta && !p.tb)
    product_into(C, MapCS(p.a + ra * k, mb, k, Stride(k)), MapCS(p.b + cb, k, nb, Stride(n)));
  else if (!p.ta && p.tb)
    product_into(C, MapCS(p.a + ra * k, mb, k, Stride(k)), MapCS(p.b + cb * k, nb, k, Stride(k)).transpose());
  else  // ta && !tb (affine never needs Aᵀ·Bᵀ)
    product_into(C, MapCS(p.a + ra, k, mb, Stride(m)).transpose(), MapCS(p.b + cb, k, nb, Stride(n)));
  if (p.ep) (*p.ep)(p.c, n, ra, ra + mb, cb, cb + nb);
}

// The operands of at most two products, rounded to bf16 into this thread's
// scratch copies (ps[i].a and .b then point at them), for Eigen's product.
// An operand shared by two products (affine's dY) is rounded once. Large
// operands are rounded by all the threads, in chunks.
void round_operands_to_bf16(Product* ps, int count) {
  static thread_local std::vector<float> scratch[4];
  const float* from[4];
  int64_t sizes[4];
  int used = 0;
  auto copy_of = [&](const float* x, int64_t size) -> const float* {
    for (int i = 0; i < used; ++i)
      if (from[i] == x && sizes[i] == size) return scratch[i].data();
    scratch[used].resize(size_t(size));
    from[used] = x, sizes[used] = size;
    return scratch[used++].data();
  };
  for (int i = 0; i < count; ++i) {
    ps[i].a = copy_of(ps[i].a, ps[i].m * ps[i].k);
    ps[i].b = copy_of(ps[i].b, ps[i].k * ps[i].n);
  }
  // (The copies' addresses are taken here: inside the parallel loop,
  // `scratch` would be each worker's own.)
  float* to[4];
  for (int i = 0; i < used; ++i) to[i] = scratch[i].data();
  constexpr int64_t kChunk = 1 << 14;  // floats
  int64_t first[5] = {0};  // operand i's chunks: [first[i], first[i + 1])
  for (int i = 0; i < used; ++i) first[i + 1] = first[i] + (sizes[i] + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (first[used] >= 8)
  for (int64_t c = 0; c < first[used]; ++c) {
    int i = 0;
    while (c >= first[i + 1]) ++i;
    const int64_t lo = (c - first[i]) * kChunk, n = std::min(kChunk, sizes[i] - lo);
    round_to_bf16(from[i] + lo, to[i] + lo, n);
  }
}

// Independent products computed together in one parallel region. One
// product is cut into one block per thread (thread t takes block t). Two or
// more (affine's dX and dW) are each cut into 2T / count blocks, which the
// threads take one at a time as they finish: the two products of a
// backward pass run at different speeds (dY·Wᵀ transposes W while packing
// it, Xᵀ·dY writes a dW that is not in cache), so one whole product per
// thread left the faster thread waiting for the other, as does a thread the
// system preempts. Products too small to be worth a parallel region
// together, or already inside one, run one after another on this thread.
void products(Product* ps, int count) {
  // The precision is read once: every block of these products uses it.
  if (get_matmul_precision() == MatmulPrecision::bf16) {
    for (int i = 0; i < count; ++i) ps[i].bf16 = true;
    if (!use_native && !bf16_fast) round_operands_to_bf16(ps, count);
  }
  int threads = 1;
  int64_t work = 0;
  for (int i = 0; i < count; ++i) work += ps[i].m * ps[i].k * ps[i].n;
#ifdef _OPENMP
  if (work >= kParallelProduct && !omp_in_parallel()) threads = omp_get_max_threads();
#endif
  if (threads == 1) {
    for (int i = 0; i < count; ++i) product_block(ps[i], 0, 1);
    return;
  }
  const int each = count == 1 ? threads : std::max(1, 2 * threads / count);
  // Each product's cut: no finer than 16 rows or columns per block.
  std::vector<int> parts(count);
  for (int i = 0; i < count; ++i)
    parts[i] = static_cast<int>(std::min<int64_t>(each, std::max<int64_t>(std::max(ps[i].m, ps[i].n) / 16, 1)));
  // Block b is part b / count of product b % count: the products start
  // together, one per thread, and their later parts go to whoever is free.
  const int blocks = count * each;
  if (count == 1) {
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int b = 0; b < blocks; ++b)
      if (b < parts[0]) product_block(ps[0], b, parts[0]);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int b = 0; b < blocks; ++b) {
    const int i = b % count, part = b / count;
    if (part < parts[i]) product_block(ps[i], part, parts[i]);
  }
}

}  // namespace

// One product, cut across the threads by products().
void matmul(const float* a, bool ta, const float* b, bool tb, float* c, int64_t m, int64_t k, int64_t n,
            bool accumulate, const Epilogue* ep) {
  Product p{a, ta, b, tb, c, m, k, n, accumulate, ep};
  products(&p, 1);
}

// y (rows, n) = x (rows, k) · w (k, n) + b (n) [b may be null]: the bias
// is where each block of y starts (no pass over y before the product).
void affine_forward(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t k, int64_t n,
                    const Epilogue* ep) {
  Product p{x, false, w, false, y, rows, k, n, false, ep};
  p.bias = b;
  products(&p, 1);
}

void set_product_kernel(ProductKernel kernel) {
  use_native = kernel == ProductKernel::kNative && gemm::available();
  bf16_fast = kernel == ProductKernel::kNative && bf16_dispatch().path == Bf16Path::avx512_bf16;
}

bool native_product_kernel_available() { return gemm::available(); }

// db (n) (+)= Σ_rows dy (rows, n), row after row: contiguous, vectorised
// reads (Eigen's colwise().sum() on a row-major matrix walks columns).
void bias_backward(const float* dy, float* db, int64_t rows, int64_t n, bool accumulate) {
  if (!accumulate) std::fill(db, db + n, 0.f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = dy + r * n;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) db[j] += row[j];
  }
}

// dx (rows, k) (+)= dy (rows, n) · wᵀ; dw (k, n) (+)= xᵀ · dy; db (n) (+)= Σ_rows dy.
// dx and dw cost the same (2·rows·k·n FLOPs) and are independent, so they
// share one parallel region (products()).
void affine_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     int64_t rows, int64_t k, int64_t n, bool acc_x, bool acc_w, bool acc_b,
                     const Epilogue* dx_ep) {
  Product ps[2];
  int count = 0;
  if (dx) ps[count++] = {dy, false, w, true, dx, rows, n, k, acc_x, dx_ep};
  if (dw) ps[count++] = {x, true, dy, false, dw, k, rows, n, acc_w, nullptr};
  if (count) products(ps, count);
  if (db) bias_backward(dy, db, rows, n, acc_b);
}

}  // namespace kernels
}  // namespace nnvae
