// bench_matmul: the engine's product kernel against Eigen's, in GFLOP/s, at
// the shapes NNabla's MNIST programs multiply.
//
//   bench_matmul [--threads T] [--reps R] [--cpu 1]
//
// Each row is one product C (m, n) = op(A) (m, k) · op(B) (k, n) as
// kernels::matmul takes it (A or B transposed as the layer's backward pass
// reads it), timed as the best of R runs on each kernel, alternated. The
// shapes: the VAE's and VAT's affine layers at batch 100 (forward, dX = dY·Wᵀ,
// dW = Xᵀ·dY) and per-image convolution products of LeNet and ResNet
// (forward W·columns, dW = dY·columnsᵀ, dcolumns = Wᵀ·dY). With --cpu 1 the
// time is the process's CPU time (on a busy machine it leaves out the slices
// other processes take).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <nnvae/kernels/matmul.hpp>
#include <nnvae/nnvae.hpp>

#include "bench_clock.hpp"

using namespace nnvae;
namespace k = nnvae::kernels;

namespace {

using bench::now_ms;

struct Shape {
  const char* what;
  bool ta, tb;
  int64_t m, k, n;
};

const Shape kShapes[] = {
    {"VAE fc1 forward X·W (batch 100)", false, false, 100, 784, 500},
    {"VAE fc1 dX = dY·Wt", false, true, 100, 500, 784},
    {"VAE fc1 dW = Xt·dY", true, false, 784, 100, 500},
    {"VAT fc2 forward X·W (batch 100)", false, false, 100, 1200, 1200},
    {"VAT fc2 dX = dY·Wt", false, true, 100, 1200, 1200},
    {"VAT fc2 dW = Xt·dY", true, false, 1200, 100, 1200},
    {"VAT fc2 forward (batch 250)", false, false, 250, 1200, 1200},
    {"LeNet conv1 forward W·cols (20x25, 576)", false, false, 20, 25, 576},
    {"LeNet conv2 forward W·cols (50x500, 64)", false, false, 50, 500, 64},
    {"LeNet conv2 dW = dY·colst", false, true, 50, 64, 500},
    {"LeNet conv2 dcols = Wt·dY", true, false, 500, 50, 64},
    {"ResNet 3x3 forward W·cols (32x288, 784)", false, false, 32, 288, 784},
    {"ResNet 3x3 dW = dY·colst", false, true, 32, 784, 288},
    {"ResNet 3x3 dcols = Wt·dY", true, false, 288, 32, 784},
    {"ResNet 1x1 forward (64x32, 784)", false, false, 64, 32, 784},
    {"ResNet 1x1 dW (64x784, 32)", false, true, 64, 784, 32},
    {"DCGAN deconv dcols (256x128, 64)", true, false, 256 * 9, 128, 49},
    {"square 512", false, false, 512, 512, 512},
};

double best_ms(const Shape& s, const std::vector<float>& a, const std::vector<float>& b, std::vector<float>& c,
               int reps) {
  // Enough calls per timing that one lasts about a millisecond or more.
  const double flops = 2.0 * s.m * s.k * s.n;
  const int calls = std::max(1, int(2e7 / flops));
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_ms();
    for (int i = 0; i < calls; ++i) k::matmul(a.data(), s.ta, b.data(), s.tb, c.data(), s.m, s.k, s.n, false);
    best = std::min(best, (now_ms() - t0) / calls);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, reps = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    if (opt == "--threads") threads = std::atoi(argv[i + 1]);
    else if (opt == "--reps") reps = std::atoi(argv[i + 1]);
    else if (opt == "--cpu") bench::cpu_clock = std::atoi(argv[i + 1]) != 0;
    else {
      std::fprintf(stderr, "bench_matmul: unknown option %s (--threads T, --reps R, --cpu 1)\n", argv[i]);
      return 2;
    }
  }
  set_num_threads(threads);
  if (!k::native_product_kernel_available()) std::printf("(this build has no native kernel: both columns are Eigen)\n");
  std::printf("%-44s %8s %8s %7s\n", "product (m, k, n)", "native", "Eigen", "ratio");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const Shape& s : kShapes) {
    std::vector<float> a(size_t(s.m * s.k)), b(size_t(s.k * s.n)), c(size_t(s.m * s.n));
    for (float& v : a) v = u(rng);
    for (float& v : b) v = u(rng);
    double native = 1e30, eigen = 1e30;
    for (int round = 0; round < 3; ++round) {  // alternated, best of all
      k::set_product_kernel(k::ProductKernel::kNative);
      native = std::min(native, best_ms(s, a, b, c, reps));
      k::set_product_kernel(k::ProductKernel::kEigen);
      eigen = std::min(eigen, best_ms(s, a, b, c, reps));
    }
    const double gflop = 2.0 * s.m * s.k * s.n * 1e-6;  // per ms = GFLOP/s
    std::printf("%-44s %8.1f %8.1f %6.2fx   (%lld, %lld, %lld)\n", s.what, gflop / native, gflop / eigen,
                eigen / native, (long long)s.m, (long long)s.k, (long long)s.n);
  }
  k::set_product_kernel(k::ProductKernel::kNative);
  return 0;
}
