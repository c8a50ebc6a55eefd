// The AVX512-BF16 kernel's entry on an emulated CPU (tests/emulated): one
// block's product through dpbf16::compute_with, its arguments in a table in
// memory (the emulator sets only the first argument register). Built with
// the kernel's own source into a shared object with no C++ runtime, so the
// few routines the compiler may call for copies and fills are here, and the
// handle the runtime would give.
#include <cstddef>
#include <cstdint>

#include "gemm_kernel_dpbf16.hpp"

extern "C" {

// What crtbegin.o gives a shared object (the thread-local packing buffers of
// dpbf16::compute, never run here, register their destructors with it).
__attribute__((visibility("hidden"))) void* __dso_handle = &__dso_handle;

void* memcpy(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
  return dst;
}

void* memset(void* dst, int v, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<unsigned char>(v);
  return dst;
}

// args: a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, m, n, k, accumulate, bias
// (0: none), packed_b, packed_a, as 64-bit words.
void nnvae_dpbf16_block(const int64_t* args) {
  using namespace nnvae::kernels::gemm;
  Block blk;
  blk.a = View{reinterpret_cast<const float*>(args[0]), args[1], args[2]};
  blk.b = View{reinterpret_cast<const float*>(args[3]), args[4], args[5]};
  blk.c = reinterpret_cast<float*>(args[6]);
  blk.ldc = args[7];
  blk.m = args[8], blk.n = args[9], blk.k = args[10];
  blk.accumulate = args[11] != 0;
  blk.bias = reinterpret_cast<const float*>(args[12]);
  blk.ep = nullptr;
  blk.c_whole = blk.c;
  blk.r0 = 0, blk.c0 = 0;
  blk.bf16 = true;
  dpbf16::compute_with(blk, reinterpret_cast<uint32_t*>(args[13]), reinterpret_cast<uint32_t*>(args[14]));
}

// The packing buffers' sizes in 32-bit words: out[0] for B, out[1] for A.
void nnvae_dpbf16_buffer_words(int64_t* out) {
  out[0] = static_cast<int64_t>(nnvae::kernels::gemm::dpbf16::kPackBWords);
  out[1] = static_cast<int64_t>(nnvae::kernels::gemm::dpbf16::kPackAWords);
}
}
