// The matrix product behind affine, shared with the tests and the benchmark.
#pragma once
#include <cstdint>

namespace nnvae {
namespace kernels {

// C (m, n) (+)= op(A) · op(B), all row-major (accumulate adds to C). A is
// stored (m, k), or (k, m) when ta (op(A) = Aᵀ); B is stored (k, n), or
// (n, k) when tb; not both transposed. With several threads the output is cut
// into one independent block per thread, each computed by single-threaded
// Eigen.
void matmul(const float* a, bool ta, const float* b, bool tb, float* c, int64_t m, int64_t k, int64_t n,
            bool accumulate);

}  // namespace kernels
}  // namespace nnvae
