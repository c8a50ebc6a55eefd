// The matrix product behind affine, and affine's kernels, shared with the
// tests and the benchmark.
#pragma once
#include <cstdint>

namespace nnvae {
namespace kernels {

// An elementwise finish of a product, run by the thread that computed a
// block of C, on that block, right after its final value is known (bias
// included), while it is still in cache. Every element of C goes through
// exactly one call. `c` is C itself (row-major, row stride ldc); the block is
// rows [r0, r1) × columns [c0, c1), so the epilogue can index buffers of its
// own that share C's layout (an activation's output, a saved input).
struct Epilogue {
  virtual ~Epilogue() = default;
  virtual void operator()(float* c, int64_t ldc, int64_t r0, int64_t r1, int64_t c0, int64_t c1) const = 0;
};

// C (m, n) (+)= op(A) · op(B), all row-major (accumulate adds to C, otherwise
// C is overwritten). A is stored (m, k), or (k, m) when ta (op(A) = Aᵀ); B is
// stored (k, n), or (n, k) when tb; not both transposed. With several
// threads the output is cut into one independent block per thread. `ep`, if
// given, finishes each block.
void matmul(const float* a, bool ta, const float* b, bool tb, float* c, int64_t m, int64_t k, int64_t n,
            bool accumulate, const Epilogue* ep = nullptr);

// y (rows, n) = x (rows, k) · w (k, n) + b (n) [b may be null], then `ep`
// on each finished block of y.
void affine_forward(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t k, int64_t n,
                    const Epilogue* ep = nullptr);

// dx (rows, k) (+)= dy (rows, n) · wᵀ [then dx_ep on each finished block of
// dx]; dw (k, n) (+)= xᵀ · dy; db (n) (+)= Σ_rows dy. Any of dx, dw, db may
// be null (not wanted); x is read only for dw, w only for dx.
void affine_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     int64_t rows, int64_t k, int64_t n, bool acc_x, bool acc_w, bool acc_b,
                     const Epilogue* dx_ep = nullptr);

// db (n) (+)= Σ_rows dy (rows, n).
void bias_backward(const float* dy, float* db, int64_t rows, int64_t n, bool accumulate);

// Which kernel computes the products, for tests and benchmarks (the engine
// itself never changes it). kNative: the engine's own kernel where the
// library is compiled for AVX-512 or for AVX2 with FMA (Eigen's product
// elsewhere, and for matrix-vector products), and for bf16 products the
// AVX512-BF16 kernel where bf16_dispatch() chose it; kEigen: Eigen's
// product always (bf16: of operands rounded first, the emulated path).
// Process-wide; set it while no product runs.
enum class ProductKernel { kNative, kEigen };
void set_product_kernel(ProductKernel kernel);
// True when this build has the native kernel (compiled for AVX-512 or AVX2 + FMA).
bool native_product_kernel_available();

}  // namespace kernels
}  // namespace nnvae
