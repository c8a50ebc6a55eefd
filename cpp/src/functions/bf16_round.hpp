// Rounding floats to bfloat16 inside the product kernels (private to the
// engine; precision.hpp says what the rounding is).
//
// bf16 keeps a float's sign, its 8-bit exponent and the top 7 bits of its
// mantissa: the upper half of the float's bits. To the nearest, ties to
// even: add 0x7FFF plus the lowest kept bit, then clear the low 16 bits
// (the carry moves into the kept bits exactly when the dropped half is
// above one half, or at one half with an odd kept half; past the largest
// finite value it carries into the exponent and gives inf). A NaN would lose
// its mantissa if its payload were only in the low bits (and become inf),
// so NaNs keep their upper half with the quiet bit set instead.
//
// The same arithmetic on 16 or 8 lanes at once (GCC/Clang vectors of the
// size of an AVX-512 or AVX register, split into parts on a narrower CPU)
// for the packing loops and the array rounding.
#pragma once
#include <cstdint>
#include <vector>

#include "nnvae/kernels/vmath.hpp"
#include "nnvae/precision.hpp"

namespace nnvae {
namespace bf16 {

inline float round_scalar(float x) {
  uint32_t u = static_cast<uint32_t>(vmath::to_bits(x));
  u = x != x ? (u | 0x00400000u) & 0xFFFF0000u : (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  return vmath::from_bits(static_cast<int32_t>(u));
}

typedef float F32x16 __attribute__((vector_size(64)));
typedef uint32_t U32x16 __attribute__((vector_size(64)));
typedef float F32x8 __attribute__((vector_size(32)));
typedef uint32_t U32x8 __attribute__((vector_size(32)));

// Each lane of x (a vector of floats F whose lanes U reads as unsigned
// integers) rounded as round_scalar does. (In place: a vector passed or
// returned by value has another ABI with wider registers than without.)
template <class F, class U>
inline void round_lanes(F& x) {
  const U u = (U)x;
  const U nan = (U)(x != x);  // all ones in a NaN's lane
  const U nearest = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  const U quiet = (u | 0x00400000u) & 0xFFFF0000u;
  x = (F)((quiet & nan) | (nearest & ~nan));
}
inline void round_x16(F32x16& x) { round_lanes<F32x16, U32x16>(x); }
inline void round_x8(F32x8& x) { round_lanes<F32x8, U32x8>(x); }

// An operand of a product computed by Eigen: x itself (n floats) for fp32,
// or its bf16 rounding, written into `copy`, for bf16.
inline const float* product_operand(const float* x, int64_t n, MatmulPrecision precision, std::vector<float>& copy) {
  if (precision == MatmulPrecision::fp32) return x;
  copy.resize(size_t(n));
  round_to_bf16(x, copy.data(), n);
  return copy.data();
}

}  // namespace bf16
}  // namespace nnvae
