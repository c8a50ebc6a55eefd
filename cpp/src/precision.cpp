// The product precision setting (precision.hpp) and the array rounding.
#include "nnvae/precision.hpp"

#include <atomic>
#include <cstring>
#include <stdexcept>

#include "functions/bf16_round.hpp"

namespace nnvae {

namespace {
std::atomic<MatmulPrecision> g_precision{MatmulPrecision::fp32};
}  // namespace

void set_matmul_precision(MatmulPrecision precision) { g_precision.store(precision); }

MatmulPrecision get_matmul_precision() { return g_precision.load(); }

const std::vector<std::string>& matmul_precision_names() {
  static const std::vector<std::string> names = {"fp32", "bf16"};
  return names;
}

std::string matmul_precision_name(MatmulPrecision precision) {
  return matmul_precision_names()[precision == MatmulPrecision::fp32 ? 0 : 1];
}

MatmulPrecision parse_matmul_precision(const std::string& name) {
  const auto& names = matmul_precision_names();
  if (name == names[0]) return MatmulPrecision::fp32;
  if (name == names[1]) return MatmulPrecision::bf16;
  throw std::invalid_argument("unknown matmul precision '" + name + "': choose " + names[0] + " or " + names[1]);
}

MatmulPrecisionScope::MatmulPrecisionScope(MatmulPrecision precision) : previous_(g_precision.exchange(precision)) {}

MatmulPrecisionScope::~MatmulPrecisionScope() { g_precision.store(previous_); }

float round_to_bf16(float x) { return bf16::round_scalar(x); }

void round_to_bf16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    bf16::F32x16 v;
    std::memcpy(&v, x + i, sizeof v);
    bf16::round_x16(v);
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < n; ++i) y[i] = bf16::round_scalar(x[i]);
}

}  // namespace nnvae
