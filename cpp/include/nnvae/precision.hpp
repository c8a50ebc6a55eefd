// The precision of the matrix products (affine forward and backward, matmul,
// batch_matmul, convolution and deconvolution), engine-wide.
//
// fp32 (the default): the operands are used as stored. bf16: every product
// rounds its two operands to bfloat16 (8-bit mantissa, float32's exponent;
// round to nearest, ties to even; NaN stays NaN) and accumulates in fp32.
// Nothing else changes: storage, parameters, gradients, optimizer states,
// biases and every elementwise function stay fp32.
//
//   nnvae::set_matmul_precision(nnvae::MatmulPrecision::bf16);
//   { nnvae::MatmulPrecisionScope scope(MatmulPrecision::bf16); ... }  // restored on leaving
//
// The setting is process-wide (all threads read the same value); a product
// reads it once when it starts, so all of its blocks use the same precision.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nnvae {

enum class MatmulPrecision { fp32, bf16 };

void set_matmul_precision(MatmulPrecision precision);
MatmulPrecision get_matmul_precision();

// The names, "fp32" and "bf16", in that order: the accepted values of every
// place that takes a precision as text (Python, the trainers' --precision).
const std::vector<std::string>& matmul_precision_names();
std::string matmul_precision_name(MatmulPrecision precision);
// The precision called `name`; std::invalid_argument otherwise, e.g.
//   "unknown matmul precision 'fp16': choose fp32 or bf16"
MatmulPrecision parse_matmul_precision(const std::string& name);

// Sets a precision for its lifetime and restores the one before, also when
// the scope is left by an exception. Process-wide like the setting itself:
// scopes on different threads at once restore in whatever order they end.
class MatmulPrecisionScope {
 public:
  explicit MatmulPrecisionScope(MatmulPrecision precision);
  ~MatmulPrecisionScope();
  MatmulPrecisionScope(const MatmulPrecisionScope&) = delete;
  MatmulPrecisionScope& operator=(const MatmulPrecisionScope&) = delete;

 private:
  MatmulPrecision previous_;
};

// x rounded to bfloat16, returned as the float of the same value: the
// nearest float whose low 16 bits are zero, ties to the even one; values
// beyond bf16's largest finite value round to ±inf as IEEE rounding does;
// ±inf and ±0 stay; a NaN stays a NaN (quiet, sign kept); denormals round
// like any other value (no flush to zero).
float round_to_bf16(float x);
// y[i] = round_to_bf16(x[i]) for i < n (y may be x).
void round_to_bf16(const float* x, float* y, int64_t n);

// How this machine computes bf16 products, chosen once at the first ask
// from what the CPU and the build have:
//   amx          AMX tiles (TDPBF16PS), where the CPU has AMX-BF16 and
//                AMX-TILE and Linux grants the tile state;
//   avx512_bf16  VDPBF16PS, where the CPU has AVX512-BF16;
//   emulated     the operands rounded as above and the fp32 kernel, on any CPU.
// This build has no AMX or AVX512-BF16 kernel yet: it always runs the
// emulation, and the reason says what the CPU has.
enum class Bf16Path { emulated, avx512_bf16, amx };
std::string bf16_path_name(Bf16Path path);

// What the CPU offers (cpuid and the operating system's consent).
struct CpuBf16Features {
  bool avx512_bf16 = false;  // cpuid 7.1 eax bit 5, with the OS saving zmm state (xgetbv)
  bool amx_bf16 = false;     // cpuid 7.0 edx bit 22
  bool amx_tile = false;     // cpuid 7.0 edx bit 24
  bool amx_permitted = false;  // Linux granted the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM)
};

struct Bf16Dispatch {
  Bf16Path path = Bf16Path::emulated;
  // One line: the path and why, e.g.
  //   "emulated: this CPU has no avx512_bf16 and no amx_bf16"
  std::string reason;
  CpuBf16Features cpu;
};

// The choice for this machine (decided once, then the same answer).
const Bf16Dispatch& bf16_dispatch();
// The choice for a CPU with `cpu` (amx_refusal: why Linux refused the tile
// state, when it did), for tests of the reasons.
Bf16Dispatch bf16_dispatch_for(const CpuBf16Features& cpu, const std::string& amx_refusal = "");

}  // namespace nnvae
