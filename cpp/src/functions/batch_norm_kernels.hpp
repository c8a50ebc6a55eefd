// batch_normalization's per-channel passes (private to the engine;
// batch_norm_kernels.cpp). Every array is seen as (outer, C, inner); a
// channel c's values are x[o, c, j] for all o and j.
#pragma once
#include <cstdint>

#include "nnvae/kernels/matmul.hpp"  // Epilogue

namespace nnvae {
namespace kernels {

// mean[c], var[c] (C): the channel's mean and biased variance.
void batch_norm_statistics(const float* x, int64_t outer, int64_t C, int64_t inner, float* mean, float* var);

// y (+)= x·a[c] + b[c].
void channel_affine(const float* x, float* y, int64_t outer, int64_t C, int64_t inner, const float* a,
                    const float* b, bool accumulate);

// y = x·a[c] + b[c], then `ep` on each block of y while it is in cache.
void channel_affine_then(const float* x, float* y, int64_t outer, int64_t C, int64_t inner, const float* a,
                         const float* b, const Epilogue& ep);

// sum_dy[c] = Σ dy, sum_dy_xc[c] = Σ dy·(x − center[c]) (C, in double).
void batch_norm_grad_sums(const float* x, const float* dy, int64_t outer, int64_t C, int64_t inner,
                          const float* center, double* sum_dy, double* sum_dy_xc);

// dx (+)= dy·k1[c] + x·k2[c] + k3[c].
void batch_norm_dx(const float* x, const float* dy, float* dx, int64_t outer, int64_t C, int64_t inner,
                   const float* k1, const float* k2, const float* k3, bool accumulate);

}  // namespace kernels
}  // namespace nnvae
