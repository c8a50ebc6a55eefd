// What the pooling functions share (private to the engine): the geometry
// of a pooling, the loop over its maps, and the loops for whole windows
// (pooling_whole_windows.cpp) that pooling.cpp takes where they apply.
#pragma once
#include <cstdint>

#include "common.hpp"

namespace nnvae {
namespace detail {

// The sizes of a pooling, padded to 3 spatial axes in front (size 1,
// kernel 1, stride 1, pad 0).
struct PoolGeometry {
  int64_t maps = 0;
  int64_t in[3], out[3], kernel[3], stride[3], pad[3];
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
};

// Calls body(m) for every map m, the maps shared out across the threads when
// x is large enough to be worth a parallel region.
template <class Body>
inline void for_each_map(const PoolGeometry& g, Body&& body) {
#pragma omp parallel for if (g.maps * g.in_size() > detail::kParallelThreshold) schedule(static)
  for (int64_t m = 0; m < g.maps; ++m) body(m);
}

// True for 2x2 windows with stride 2 and no padding over 2-d maps, every
// window whole (LeNet's, ResNet's and the Siamese network's pooling).
bool whole_2x2(const PoolGeometry& g);
// max_pool_forward, avg_pool_forward and avg_pool_backward (pooling.cpp)
// for whole_2x2 geometries.
void max_pool_2x2_forward(const float* x, float* y, int32_t* idx, const PoolGeometry& g);
void avg_pool_2x2_forward(const float* x, float* y, const PoolGeometry& g);
void avg_pool_2x2_backward(const float* dy, float* dx, const PoolGeometry& g, bool accumulate);

// True when one window covers each whole map, the only window (no pad; a
// stride shorter than the kernel without ignore_border would add windows
// cut short by the far border): global pooling, as ResNet's average
// pooling over its last 4x4 maps.
bool whole_map(const PoolGeometry& g);
// y (maps) = each map's mean; dx (maps, in) (+)= dy / in.
void avg_pool_whole_map_forward(const float* x, float* y, const PoolGeometry& g);
void avg_pool_whole_map_backward(const float* dy, float* dx, const PoolGeometry& g, bool accumulate);

}  // namespace detail
}  // namespace nnvae
