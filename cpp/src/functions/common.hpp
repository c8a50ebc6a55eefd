// Shared pieces of the function implementations (private to the engine).
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {
namespace detail {

inline const float* in_data(Variable* v) { return v->data()->read("an input"); }
inline const float* in_grad(Variable* v) { return v->grad()->read("an output gradient"); }
inline float* out_data(Variable* v) { return v->data()->write(); }
inline float* in_grad_for(Variable* v, bool accumulate) { return v->grad()->write_accumulate(accumulate); }

[[noreturn]] inline void shape_error(const std::string& msg) { throw std::invalid_argument(msg); }

// Converts an int shape argument (the tutorial's std::vector<int>) to Shape_t,
// refusing negative sizes and more elements than an array can hold, each
// error naming fname, the argument and the shape.
Shape_t to_shape(const std::string& fname, const std::vector<int>& shape);

// Refuses a seed other than -1 (the global generator) or one in [0, 2**31).
void check_seed(const std::string& fname, int seed);

// The numpy broadcast of two shapes, or an error naming them.
Shape_t broadcast_shape(const std::string& fname, const Shape_t& a, const Shape_t& b);

// Strides of `in` broadcast to `out` (0 where `in` is broadcast), aligned to
// out's dimensions.
std::vector<int64_t> broadcast_strides(const Shape_t& in, const Shape_t& out);

// Number of elements above which elementwise loops run on several threads.
// Vectorised, these loops take well under a nanosecond per element, and a
// parallel region costs a few microseconds while the other threads are still
// spinning from the last one (a wake-up and a join; on a busy machine, a
// wait for a descheduled thread). From ~32,000 elements on, sharing the loop
// wins: a training step at batch 100 on 2 threads (its 78,400-pixel losses
// and 50,000-unit layers) is ~2.5% faster than with a 262,144 threshold.
// Loops use it as `parallel for simd if (parallel : n > kParallelThreshold)`:
// a plain `if (...)` on a combined construct also switches simd off (OpenMP
// 5), leaving shorter loops scalar.
constexpr int64_t kParallelThreshold = 1 << 15;

}  // namespace detail
}  // namespace nnvae
