// The bf16 product kernel for CPUs with AVX512-BF16 (VDPBF16PS), private to
// the engine: matmul.cpp sends a bf16 product's blocks here when
// bf16_dispatch() chose the avx512_bf16 path (precision.hpp). Built into
// every x86-64 build with GCC or Clang, whatever the build's -march: its
// functions carry their own target and run only where the CPU has it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gemm_kernel.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NNVAE_DPBF16_KERNEL 1
#endif

namespace nnvae {
namespace kernels {
namespace gemm {
namespace dpbf16 {

// True when this build has the kernel.
constexpr bool built() {
#ifdef NNVAE_DPBF16_KERNEL
  return true;
#else
  return false;
#endif
}

#ifdef NNVAE_DPBF16_KERNEL
// The block's product (blk.bf16 is implied: the operands are rounded to
// bf16 while packed; the sums are fp32), on the calling thread, with this
// thread's packing buffers. Only on a CPU with AVX512-BF16.
void compute(const Block& blk);
#endif

}  // namespace dpbf16
}  // namespace gemm
}  // namespace kernels
}  // namespace nnvae
