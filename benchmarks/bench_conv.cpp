// bench_conv: times the engine's convolution and pooling at LeNet's and
// ResNet's sizes.
//
//   bench_conv [--threads T] [--reps R] [--batch B] [--model lenet|resnet|all] [--cpu 1]
//
// For each layer (LeNet's conv1: B x 1x28x28 -> 20 maps 5x5; conv2: B x
// 20x12x12 -> 50 maps 5x5; ResNet's first residual unit at 32x32: 1x1 64 ->
// 32 maps, 3x3 32 -> 32 with pad 1, 1x1 32 -> 64; the 2x2 max pooling after
// each) prints the best of R runs of
// forward and of backward (gradients to x where it has one, W and b), and,
// for comparison, the same layer's products alone (the engine's matmul on
// columns already made: what im2col adds is the difference) and a direct
// loop over taps vectorised along each output row (no columns). Best of R,
// in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <nnvae/kernels/matmul.hpp>
#include <nnvae/nnvae.hpp>

#include "bench_clock.hpp"

using namespace nnvae;
namespace f = nnvae::functions;

namespace {

using bench::now_ms;

double best_ms(int reps, const std::function<void()>& fn) {
  fn();  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_ms();
    fn();
    best = std::min(best, now_ms() - t0);
  }
  return best;
}

CgVariablePtr filled(const Shape_t& shape, bool need_grad, uint32_t seed) {
  auto v = std::make_shared<CgVariable>(shape, need_grad);
  Generator g(seed);
  float* p = v->variable()->data()->write();
  for (int64_t i = 0; i < v->variable()->size(); ++i) p[i] = g.uniform() - 0.5f;
  return v;
}

// y (N, OC, OH, OW) = valid stride-1 convolution of x (N, C, H, W) by w
// (OC, C, K, K): for every tap, a whole output row at once.
void direct_conv(const float* x, const float* w, float* y, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC,
                 int64_t K) {
  const int64_t OH = H - K + 1, OW = W - K + 1;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OC; ++o) {
      float* yo = y + (n * OC + o) * OH * OW;
      std::fill(yo, yo + OH * OW, 0.f);
      for (int64_t c = 0; c < C; ++c) {
        const float* xc = x + (n * C + c) * H * W;
        const float* wc = w + (o * C + c) * K * K;
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t kh = 0; kh < K; ++kh)
            for (int64_t kw = 0; kw < K; ++kw) {
              const float wv = wc[kh * K + kw];
              const float* xr = xc + (oh + kh) * W + kw;
              float* yr = yo + oh * OW;
#pragma omp simd
              for (int64_t ow = 0; ow < OW; ++ow) yr[ow] += wv * xr[ow];
            }
      }
    }
}

// One layer: x (B, C, H, H), W (OC, C, K, K), zero padding `pad` on both
// sides of both axes; the bias only when `bias`.
void layer(const char* name, int64_t B, int64_t C, int64_t H, int64_t OC, int64_t K, int pad, bool bias,
           bool input_grad, int reps) {
  auto x = filled({B, C, H, H}, input_grad, 1);
  auto w = filled({OC, C, K, K}, true, 2);
  auto b = bias ? filled({OC}, true, 3) : nullptr;
  auto y = f::convolution(x, w, b, 1, {pad, pad}, {}, {}, 1, false);
  // The pooling on a leaf of y's shape, so that it is timed alone.
  auto p = f::max_pooling(filled(y->shape(), true, 4), {2, 2}, {2, 2}, true, {0, 0}, false);
  auto dy = std::make_shared<NdArray>(y->shape());
  dy->fill(0.01f);
  const double fwd = best_ms(reps, [&] { y->forward(); });
  const double bwd = best_ms(reps, [&] { y->backward(dy); });
  const double pf = best_ms(reps, [&] { p->forward(); });
  auto dp = std::make_shared<NdArray>(p->shape());
  dp->fill(0.01f);
  const double pb = best_ms(reps, [&] { p->backward(dp); });

  // The products alone: W (OC, C·K²) · columns (C·K², P) per sample, on
  // ready columns, threaded as the convolution is (samples shared out).
  const int64_t OH = H + 2 * pad - K + 1, P = OH * OH, R = C * K * K;
  std::vector<float> cols(B * R * P, 0.01f), out(B * OC * P), dcol(B * R * P), dw(OC * R);
  const float* wp = w->variable()->data()->read("w");
  const double gemm_f = best_ms(reps, [&] {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < B; ++n)
      kernels::matmul(wp, false, cols.data() + n * R * P, false, out.data() + n * OC * P, OC, R, P, false);
  });
  const float* dyp = dy->read("dy");
  const double gemm_b = best_ms(reps, [&] {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < B; ++n) {
      if (input_grad)
        kernels::matmul(wp, true, dyp + n * OC * P, false, dcol.data() + n * R * P, R, OC, P, false);
      kernels::matmul(dyp + n * OC * P, false, cols.data() + n * R * P, true, dcol.data() + n * R * P, OC, P, R,
                      false);  // (stands in for dW's product: same shape and cost)
    }
  });
  std::vector<float> yd(B * OC * P);
  const double direct = pad ? 0.0 : best_ms(reps, [&] {  // (no padding in the direct loop)
    direct_conv(x->variable()->data()->read("x"), wp, yd.data(), B, C, H, H, OC, K);
  });
  const double gflop_f = 2.0 * B * OC * R * P / 1e9;
  std::printf("%s: B=%lld %lldx%lldx%lld -> %lld maps %lldx%lld, pad %d\n", name, (long long)B, (long long)C,
              (long long)H, (long long)H, (long long)OC, (long long)K, (long long)K, pad);
  std::printf("  convolution forward  %7.2f ms (%5.1f GFLOP/s)   products alone %7.2f ms   direct loop %7.2f ms\n",
              fwd, gflop_f / fwd * 1e3, gemm_f, direct);
  std::printf("  convolution backward %7.2f ms (%5.1f GFLOP/s)   products alone %7.2f ms\n", bwd,
              gflop_f * (input_grad ? 2 : 1) / bwd * 1e3, gemm_b);
  std::printf("  max_pooling 2x2      forward %6.2f ms   backward %6.2f ms\n", pf, pb);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, reps = 20;
  int64_t batch = 128;
  std::string model = "all";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--cpu")) bench::cpu_clock = std::atoi(argv[i + 1]) != 0;
  }
  set_num_threads(threads);
  std::printf("threads %d, best of %d, %s time\n", threads, reps, bench::cpu_clock ? "CPU" : "wall");
  if (model != "resnet") {
    layer("lenet conv1", batch, 1, 28, 20, 5, 0, true, false, reps);
    layer("lenet conv2", batch, 20, 12, 50, 5, 0, true, true, reps);
  }
  if (model != "lenet") {
    layer("resnet unit conv1", batch, 64, 32, 32, 1, 0, false, true, reps);
    layer("resnet unit conv2", batch, 32, 32, 32, 3, 1, false, true, reps);
    layer("resnet unit conv3", batch, 32, 32, 64, 1, 0, false, true, reps);
  }
  return 0;
}
