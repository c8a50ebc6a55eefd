// Which bf16 product path this machine runs (precision.hpp, bf16_dispatch):
// the CPU's features from cpuid, the operating system's consent from xgetbv
// (it must save the registers' state on a context switch) and, for AMX on
// Linux, the tile state requested with arch_prctl; then the fastest path
// for which this build has a kernel.
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "functions/gemm_kernel_dpbf16.hpp"
#include "nnvae/precision.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define NNVAE_X86 1
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace nnvae {

namespace {

// The kernels this build has for the fast paths. AVX512-BF16's is built
// into every x86-64 build (gemm_kernel_dpbf16.cpp); AMX's is not written
// yet (it waits for a machine, or an emulator, that can run and test it).
// A kernel added here is chosen by bf16_dispatch().
constexpr bool kAmxKernel = false;
constexpr bool kAvx512Bf16Kernel = kernels::gemm::dpbf16::built();

#ifdef NNVAE_X86
// The register state the operating system saves (XCR0), 0 without OSXSAVE.
uint64_t enabled_state() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  // OSXSAVE
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

// Asks Linux for the AMX tile data state (needed before the first tile
// instruction of the process); true when granted. `why` gets the refusal.
bool request_amx_state(std::string& why) {
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0) return true;
  why = std::string("arch_prctl(ARCH_REQ_XCOMP_PERM): ") + std::strerror(errno);
  return false;
#else
  why = "the tile state request is only written for Linux";
  return false;
#endif
}
#endif

CpuBf16Features detect(std::string& amx_refusal) {
  CpuBf16Features f;
#ifdef NNVAE_X86
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const unsigned max_subleaf = a;
  const bool avx512f = b & (1u << 16);
  f.amx_bf16 = d & (1u << 22);
  f.amx_tile = d & (1u << 24);
  bool cpu_avx512_bf16 = false;
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) cpu_avx512_bf16 = a & (1u << 5);
  const uint64_t xcr0 = enabled_state();
  const uint64_t zmm_state = 0xE6;            // SSE, AVX, opmask, upper halves of zmm0-15, zmm16-31
  const uint64_t tile_state = 3ull << 17;     // tile configuration, tile data
  f.avx512_bf16 = avx512f && cpu_avx512_bf16 && (xcr0 & zmm_state) == zmm_state;
  if (f.amx_bf16 && f.amx_tile && (xcr0 & tile_state) == tile_state) f.amx_permitted = request_amx_state(amx_refusal);
  else if (f.amx_bf16 && f.amx_tile) amx_refusal = "the operating system does not enable the tile state";
#endif
  return f;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  return s;
}

}  // namespace

std::string bf16_path_name(Bf16Path path) {
  switch (path) {
    case Bf16Path::amx: return "amx";
    case Bf16Path::avx512_bf16: return "avx512_bf16";
    case Bf16Path::emulated: return "emulated";
  }
  return "?";
}

Bf16Dispatch bf16_dispatch_for(const CpuBf16Features& cpu, const std::string& amx_refusal) {
  Bf16Dispatch d;
  d.cpu = cpu;
  const bool amx = cpu.amx_bf16 && cpu.amx_tile;
  const std::string amx_unusable = "amx_bf16 (unusable: " + (amx_refusal.empty() ? "not granted" : amx_refusal) + ")";
  if (kAmxKernel && amx && cpu.amx_permitted) {
    d.path = Bf16Path::amx;
    d.reason = "amx: this CPU has amx_bf16 and amx_tile, and Linux granted the tile state";
    return d;
  }
  if (kAvx512Bf16Kernel && cpu.avx512_bf16) {
    d.path = Bf16Path::avx512_bf16;
    d.reason = "avx512_bf16: this CPU has avx512_bf16";
    if (amx && cpu.amx_permitted) d.reason += " and amx_bf16 (this build has no amx kernel yet)";
    else if (amx) d.reason += " and " + amx_unusable;
    return d;
  }
  d.path = Bf16Path::emulated;
  std::vector<std::string> has, lacks;
  (cpu.avx512_bf16 ? has : lacks).push_back("avx512_bf16");
  if (amx && cpu.amx_permitted) has.push_back("amx_bf16");
  else if (amx) has.push_back(amx_unusable);
  else lacks.push_back(cpu.amx_bf16 ? "amx_tile" : "amx_bf16");
  d.reason = "emulated: this CPU";
  if (!has.empty()) d.reason += " has " + joined(has);
  if (!has.empty() && !lacks.empty()) d.reason += " but";
  if (!lacks.empty()) {
    d.reason += " has no " + lacks[0];
    for (size_t i = 1; i < lacks.size(); ++i) d.reason += " and no " + lacks[i];
  }
  if (!has.empty()) {
    std::vector<std::string> unbuilt;
    if (cpu.avx512_bf16 && !kAvx512Bf16Kernel) unbuilt.push_back("avx512_bf16");
    if (amx && !kAmxKernel) unbuilt.push_back("amx");
    if (!unbuilt.empty()) d.reason += "; this build has no " + unbuilt[0] + (unbuilt.size() > 1 ? " or amx" : "") + " kernel";
  }
  return d;
}

const Bf16Dispatch& bf16_dispatch() {
  static const Bf16Dispatch d = [] {
    std::string refusal;
    const CpuBf16Features cpu = detect(refusal);
    return bf16_dispatch_for(cpu, refusal);
  }();
  return d;
}

}  // namespace nnvae
