// The engine's AVX-512 product kernels on an emulated CPU (tests/emulated):
// the fp32 AVX-512 kernel (gemm_kernel.cpp, with its dot-product path
// gemm_dot.cpp and its bf16 emulation) and the AVX512-BF16 kernel
// (gemm_kernel_dpbf16.cpp), called as matmul.cpp calls them, one block at a
// time. Built with their sources into a shared object without the C
// library or the C++ runtime, so what they ask of those is here: a bump
// allocator for the packing buffers, one thread's thread-local storage,
// and the handles a runtime would give.
#include <cstddef>
#include <cstdint>

#include "gemm_kernel.hpp"
#include "gemm_kernel_dpbf16.hpp"

namespace {
alignas(64) unsigned char arena[16 << 20];  // the packing buffers (a few MB)
size_t arena_used = 0;
alignas(64) unsigned char tls_block[4096];  // the thread-local variables (zero-initialised)
}  // namespace

extern "C" {

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

void* aligned_alloc(size_t align, size_t n) {
  const size_t at = (arena_used + align - 1) / align * align;
  if (at + n > sizeof arena) return nullptr;
  arena_used = at + n;
  return arena + at;
}

void free(void*) {}

int __cxa_thread_atexit(void (*)(void*), void*, void*) { return 0; }  // one thread, never ended

struct TlsIndex {
  unsigned long module, offset;
};
void* __tls_get_addr(TlsIndex* index) { return tls_block + index->offset; }

// args: a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, m, n, k, accumulate, bias
// (0: none), bf16, as 64-bit words.
static nnvae::kernels::gemm::Block block_of(const int64_t* args) {
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
  blk.bf16 = args[13] != 0;
  return blk;
}

// The AVX512-BF16 kernel (the block is bf16 whatever args[13] says).
void nnvae_dpbf16_block(const int64_t* args) { nnvae::kernels::gemm::dpbf16::compute(block_of(args)); }

// The fp32 AVX-512 kernel, in fp32 or (args[13]) rounding to bf16 as it packs.
void nnvae_avx512_block(const int64_t* args) { nnvae::kernels::gemm::compute(block_of(args)); }
}
