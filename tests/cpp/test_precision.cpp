// The product precision setting (nnvae/precision.hpp): the names and the
// error for a bad one, the scoped form (restored on leaving, also through an
// exception; nested), the setting seen from other threads and by products on
// several threads, the bf16 rounding of chosen values (ties, NaN, inf,
// overflow, denormals) in the scalar and the array form, and the bf16
// path's choice and reason for CPUs with and without the fast paths.
#include <cmath>
#include <cstring>
#include <limits>
#include <nnvae/kernels/matmul.hpp>
#include <nnvae/nnvae.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"

using namespace nnvae;

namespace {

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

float from_bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// The bits of x rounded, by the scalar and by the array form (the array's
// 16-lane path: x at every lane of 16 values, and in the scalar tail).
uint32_t rounded_bits(float x) {
  const uint32_t scalar = bits(round_to_bf16(x));
  std::vector<float> in(19, x), out(19);
  round_to_bf16(in.data(), out.data(), 19);
  for (float y : out)
    if (bits(y) != scalar && !(std::isnan(y) && std::isnan(round_to_bf16(x))))
      FAIL_AT("the array rounding of bits " << std::hex << bits(x) << " gives " << bits(y) << ", the scalar "
                                            << scalar);
  return scalar;
}

}  // namespace

TEST(the_default_is_fp32_and_names_parse_both_ways) {
  CHECK(get_matmul_precision() == MatmulPrecision::fp32);
  CHECK(matmul_precision_names() == (std::vector<std::string>{"fp32", "bf16"}));
  for (MatmulPrecision p : {MatmulPrecision::fp32, MatmulPrecision::bf16})
    CHECK(parse_matmul_precision(matmul_precision_name(p)) == p);
  set_matmul_precision(MatmulPrecision::bf16);
  CHECK(get_matmul_precision() == MatmulPrecision::bf16);
  set_matmul_precision(MatmulPrecision::fp32);
}

TEST(a_bad_name_is_refused_naming_it_and_the_accepted_ones) {
  for (const char* bad : {"fp16", "BF16", "", "bf16 "}) {
    try {
      parse_matmul_precision(bad);
      FAIL_AT("'" << bad << "' was accepted");
    } catch (const std::invalid_argument& e) {
      CHECK_EQ(std::string(e.what()), "unknown matmul precision '" + std::string(bad) + "': choose fp32 or bf16");
    }
  }
}

TEST(the_scope_restores_the_previous_setting_also_on_an_exception) {
  {
    MatmulPrecisionScope outer(MatmulPrecision::bf16);
    CHECK(get_matmul_precision() == MatmulPrecision::bf16);
    {
      MatmulPrecisionScope inner(MatmulPrecision::fp32);
      CHECK(get_matmul_precision() == MatmulPrecision::fp32);
    }
    CHECK(get_matmul_precision() == MatmulPrecision::bf16);
  }
  CHECK(get_matmul_precision() == MatmulPrecision::fp32);
  try {
    MatmulPrecisionScope scope(MatmulPrecision::bf16);
    throw std::runtime_error("leaving the scope");
  } catch (const std::runtime_error&) {
  }
  CHECK(get_matmul_precision() == MatmulPrecision::fp32);
}

TEST(the_setting_is_seen_by_other_threads) {
  MatmulPrecisionScope scope(MatmulPrecision::bf16);
  MatmulPrecision seen = MatmulPrecision::fp32;
  std::thread([&] { seen = get_matmul_precision(); }).join();
  CHECK(seen == MatmulPrecision::bf16);
  // And one set on another thread is seen here.
  std::thread([] { set_matmul_precision(MatmulPrecision::fp32); }).join();
  CHECK(get_matmul_precision() == MatmulPrecision::fp32);
}

TEST(a_bf16_product_on_two_threads_equals_the_one_on_one_thread) {
  // Large enough to be cut across the threads; the blocks are independent,
  // so the cut changes no sum: the two results are equal to the bit.
  const int64_t m = 300, k = 200, n = 257;
  Generator g(4);
  std::vector<float> a(size_t(m * k)), b(size_t(k * n));
  for (auto* v : {&a, &b})
    for (auto& e : *v) e = g.uniform() * 2 - 1;
  MatmulPrecisionScope scope(MatmulPrecision::bf16);
  std::vector<float> c1(size_t(m * n)), c2(size_t(m * n)), cr(size_t(m * n));
  set_num_threads(1);
  kernels::matmul(a.data(), false, b.data(), false, c1.data(), m, k, n, false);
  set_num_threads(2);
  kernels::matmul(a.data(), false, b.data(), false, c2.data(), m, k, n, false);
  // The same as the fp32 product of the operands rounded beforehand.
  std::vector<float> ar(a.size()), br(b.size());
  round_to_bf16(a.data(), ar.data(), int64_t(a.size()));
  round_to_bf16(b.data(), br.data(), int64_t(b.size()));
  {
    MatmulPrecisionScope fp32(MatmulPrecision::fp32);
    kernels::matmul(ar.data(), false, br.data(), false, cr.data(), m, k, n, false);
  }
  set_num_threads(1);
  CHECK(c1 == c2);
  if (bf16_dispatch().path == Bf16Path::emulated) {
    CHECK(c1 == cr);  // the emulation is that product
  } else {
    // A matrix unit sums the same products in another order (VDPBF16PS: a
    // pair at a time): within fp32's rounding of sums of length k.
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double terms = 0;
        for (int64_t p = 0; p < k; ++p) terms += std::fabs(double(ar[size_t(i * k + p)]) * br[size_t(p * n + j)]);
        CHECK(std::fabs(double(c1[size_t(i * n + j)]) - cr[size_t(i * n + j)]) <= 2.0 * (k + 1) * 0x1p-24 * terms);
      }
  }
}

TEST(rounding_goes_to_the_nearest_and_ties_to_even) {
  CHECK_EQ(rounded_bits(1.0f), 0x3F800000u);
  CHECK_EQ(rounded_bits(from_bits(0x3F807FFFu)), 0x3F800000u);  // below half: down
  CHECK_EQ(rounded_bits(from_bits(0x3F808000u)), 0x3F800000u);  // half, even below: down
  CHECK_EQ(rounded_bits(from_bits(0x3F808001u)), 0x3F810000u);  // above half: up
  CHECK_EQ(rounded_bits(from_bits(0x3F818000u)), 0x3F820000u);  // half, odd below: up to even
  CHECK_EQ(rounded_bits(from_bits(0xBF818000u)), 0xBF820000u);  // the same negative
  CHECK_EQ(rounded_bits(from_bits(0x3F7FFFFFu)), 0x3F800000u);  // carries into the exponent
  CHECK_EQ(rounded_bits(0.0f), 0x00000000u);
  CHECK_EQ(rounded_bits(-0.0f), 0x80000000u);
}

TEST(rounding_keeps_inf_and_nan_and_overflows_to_inf) {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK_EQ(rounded_bits(inf), 0x7F800000u);
  CHECK_EQ(rounded_bits(-inf), 0xFF800000u);
  CHECK_EQ(rounded_bits(std::numeric_limits<float>::max()), 0x7F800000u);  // past bf16's largest + half a step
  CHECK_EQ(rounded_bits(-std::numeric_limits<float>::max()), 0xFF800000u);
  CHECK_EQ(rounded_bits(from_bits(0x7F7F7FFFu)), 0x7F7F0000u);  // just below half: bf16's largest
  // NaNs stay NaN, with their sign and the upper half of their payload; a
  // payload only in the low half would otherwise become inf.
  CHECK_EQ(rounded_bits(from_bits(0x7FC00000u)), 0x7FC00000u);
  CHECK_EQ(rounded_bits(from_bits(0xFFC00001u)), 0xFFC00000u);
  CHECK_EQ(rounded_bits(from_bits(0x7F800001u)), 0x7FC00000u);
  CHECK_EQ(rounded_bits(from_bits(0x7FBF8000u)), 0x7FFF0000u);
}

TEST(denormals_round_like_any_other_value) {
  CHECK_EQ(rounded_bits(from_bits(0x00000001u)), 0x00000000u);  // the smallest: to zero
  CHECK_EQ(rounded_bits(from_bits(0x00008000u)), 0x00000000u);  // half, even below
  CHECK_EQ(rounded_bits(from_bits(0x00018000u)), 0x00020000u);  // half, odd below
  CHECK_EQ(rounded_bits(from_bits(0x00010001u)), 0x00010000u);  // a bf16 denormal kept
  CHECK_EQ(rounded_bits(from_bits(0x007FFFFFu)), 0x00800000u);  // the largest: up to the smallest normal
  CHECK_EQ(rounded_bits(from_bits(0x80018000u)), 0x80020000u);
}

TEST(the_bf16_path_names_what_the_cpu_lacks_or_has) {
  CHECK_EQ(bf16_dispatch_for(CpuBf16Features{}).reason, "emulated: this CPU has no avx512_bf16 and no amx_bf16");
  CpuBf16Features avx;
  avx.avx512_bf16 = true;
  // x86-64 builds have the AVX512-BF16 kernel (gemm_kernel_dpbf16.cpp), no AMX kernel yet.
#if defined(__x86_64__)
  CHECK(bf16_dispatch_for(avx).path == Bf16Path::avx512_bf16);
  CHECK_EQ(bf16_dispatch_for(avx).reason, "avx512_bf16: this CPU has avx512_bf16");
  CpuBf16Features amx = avx;
  amx.amx_bf16 = amx.amx_tile = amx.amx_permitted = true;
  const Bf16Dispatch d = bf16_dispatch_for(amx);
  CHECK(d.path == Bf16Path::avx512_bf16);
  CHECK_EQ(d.reason, "avx512_bf16: this CPU has avx512_bf16 and amx_bf16 (this build has no amx kernel yet)");
  amx.amx_permitted = false;
  CHECK_EQ(bf16_dispatch_for(amx, "arch_prctl(ARCH_REQ_XCOMP_PERM): Operation not permitted").reason,
           "avx512_bf16: this CPU has avx512_bf16 and amx_bf16 (unusable: arch_prctl(ARCH_REQ_XCOMP_PERM): "
           "Operation not permitted)");
  CpuBf16Features amx_only;
  amx_only.amx_bf16 = amx_only.amx_tile = amx_only.amx_permitted = true;
  CHECK_EQ(bf16_dispatch_for(amx_only).reason,
           "emulated: this CPU has amx_bf16 but has no avx512_bf16; this build has no amx kernel");
#endif
  // This machine's answer is one of those, and stays the same.
  const Bf16Dispatch& here = bf16_dispatch();
  CHECK(here.path == (here.cpu.avx512_bf16 ? Bf16Path::avx512_bf16 : Bf16Path::emulated));
  CHECK(here.reason.rfind(bf16_path_name(here.path) + ": this CPU ", 0) == 0);
  CHECK(&bf16_dispatch() == &bf16_dispatch());
  CHECK_EQ(bf16_path_name(Bf16Path::amx), "amx");
  CHECK_EQ(bf16_path_name(Bf16Path::avx512_bf16), "avx512_bf16");
}

NNVAE_TEST_MAIN()
