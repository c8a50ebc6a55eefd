// Convolution with a few output maps (at most kFewMaps: a generator's last
// layer, DCGAN's conv5 with 64 maps → 1) at stride 1 on a 2-D image,
// without columns. Through columns such a layer is a matrix-vector product
// (1 × C·K times C·K × P) behind C·K·P copied floats (DCGAN's conv5: 451K
// floats, 1.8 MB, per sample and pass), which the copy and the product each
// stream through L3; directly it reads each sample's padded image (C ×
// (H + 2·p1) × (W + 2·p2) floats, 230 KB for conv5) from L2, tap after tap.
//
// The trick: on the padded image, row-major with padded width Wp, output
// position (j1, j2) at tap t reads padded position (j1 + t1·d1, j2 + t2·d2),
// i.e. flat index q + off_t with q = j1·Wp + j2 and off_t = t1·d1·Wp +
// t2·d2. So every tap is one contiguous run over q ∈ [0, n1·Wp): the output
// is computed on full padded rows and its columns j2 >= n2 (which read into
// the next row) are dropped:
//   y[o] (n1 × Wp) = b[o] + Σ_c Σ_t W[o, c, t] · xpad[c][q + off_t]
//   dW[o, c, t]   += Σ_q dypad[o][q] · xpad[c][q + off_t]   (dypad: dy with
//                    zeros in the dropped columns)
// The dropped columns cost Wp / n2 − 1 more multiply-adds (7 % for conv5).
#include <algorithm>
#include <vector>

#include "conv_geometry.hpp"
#include "nnvae/precision.hpp"
#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace nnvae {
namespace detail {

namespace {

// At most this many output maps (measured at DCGAN's conv5 sizes, 64
// maps of 28 × 28 at batch 64, one thread: 1 map 2.0x faster forward and
// backward than through the columns; 4 maps slower backward).
constexpr int64_t kFewMaps = 1;

// The padded sizes and each tap's offset in the padded image.
// The flat outputs are computed in blocks of kBlock (4 vectors of 8): run
// is rounded up to it, the extra outputs dropped like the dropped columns.
constexpr int64_t kBlock = 32;

struct Padded {
  int64_t H, W, Hp, Wp, n1, n2, plane, run;  // run = n1·Wp rounded up to kBlock: the flat outputs
  std::vector<int64_t> off;                  // off[t], t over the taps in row-major order
  explicit Padded(const ConvGeometry& g)
      : H(g.image[1]), W(g.image[2]), Hp(H + 2 * g.pad[1]), Wp(W + 2 * g.pad[2]), n1(g.cols[1]), n2(g.cols[2]),
        plane(Hp * Wp), run((n1 * Wp + kBlock - 1) / kBlock * kBlock) {
    for (int64_t t1 = 0; t1 < g.kernel[1]; ++t1)
      for (int64_t t2 = 0; t2 < g.kernel[2]; ++t2) off.push_back(t1 * g.dilation[1] * Wp + t2 * g.dilation[2]);
  }
  // Floats one sample's padded image needs: its planes, then room for the
  // last plane's dropped outputs reading past it.
  int64_t image_floats(int64_t channels) const { return channels * plane + off.back() + (run - n1 * Wp) + 1; }
};

// full (run) += Σ_t wc[t] · xc[off[t] + q], all T taps of one channel in one
// pass over the outputs (each output loaded and stored once per channel).
void add_taps(float* full, const float* xc, const float* wc, const int64_t* off, int64_t T, int64_t run) {
#ifdef __AVX2__
  for (int64_t q = 0; q < run; q += kBlock) {
    __m256 acc[4];
    for (int v = 0; v < 4; ++v) acc[v] = _mm256_loadu_ps(full + q + 8 * v);
    for (int64_t t = 0; t < T; ++t) {
      const __m256 a = _mm256_broadcast_ss(wc + t);
      const float* src = xc + off[t] + q;
      for (int v = 0; v < 4; ++v) acc[v] = _mm256_fmadd_ps(a, _mm256_loadu_ps(src + 8 * v), acc[v]);
    }
    for (int v = 0; v < 4; ++v) _mm256_storeu_ps(full + q + 8 * v, acc[v]);
  }
#else
  for (int64_t t = 0; t < T; ++t) {
    const float a = wc[t];
    const float* src = xc + off[t];
#pragma omp simd
    for (int64_t q = 0; q < run; ++q) full[q] += a * src[q];
  }
#endif
}

// dwc[t] += Σ_q dyf[q] · xc[off[t] + q] for the T taps of one channel: up
// to 8 taps per pass over the outputs (one load of dyf for 8 products).
void tap_dots(const float* dyf, const float* xc, const int64_t* off, int64_t T, int64_t run, float* dwc) {
#ifdef __AVX2__
  for (int64_t t0 = 0; t0 < T; t0 += 8) {
    const int64_t nt = std::min<int64_t>(8, T - t0);
    __m256 acc[8];
    for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t q = 0; q < run; q += 8) {
      const __m256 d = _mm256_loadu_ps(dyf + q);
      for (int64_t i = 0; i < nt; ++i) acc[i] = _mm256_fmadd_ps(d, _mm256_loadu_ps(xc + off[t0 + i] + q), acc[i]);
    }
    for (int64_t i = 0; i < nt; ++i) {
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, acc[i]);
      float sum = 0.f;
      for (float v : lanes) sum += v;
      dwc[t0 + i] += sum;
    }
  }
#else
  for (int64_t t = 0; t < T; ++t) {
    const float* src = xc + off[t];
    float dot = 0.f;
#pragma omp simd reduction(+ : dot)
    for (int64_t q = 0; q < run; ++q) dot += dyf[q] * src[q];
    dwc[t] += dot;
  }
#endif
}

// xpad (C, Hp, Wp) = x (C, H, W) with p1 rows and p2 columns of zeros
// around it (and zeros after the last plane).
void pad_image(const float* x, int64_t channels, const ConvGeometry& g, const Padded& d, float* xpad) {
  std::fill(xpad, xpad + d.image_floats(channels), 0.f);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < d.H; ++i)
      std::copy_n(x + (c * d.H + i) * d.W, d.W, xpad + c * d.plane + (i + g.pad[1]) * d.Wp + g.pad[2]);
}

}  // namespace

bool few_maps_applies(const ConvSizes& s) {
  const ConvGeometry& g = s.g;
  return !s.transposed && s.group == 1 && s.OC <= kFewMaps && g.image[0] == 1 && g.cols[0] == 1 &&
         g.kernel[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 && !g.identity() &&
         get_matmul_precision() == MatmulPrecision::fp32;  // bf16 products round their operands: columns then
}

// y (N, OC, n1, n2) = conv(x (N, C, H, W), w (OC, C, K)) + b (OC) [b may be null].
void few_maps_forward(const float* x, const float* w, const float* b, float* y, const ConvSizes& s) {
  const Padded d(s.g);
  const int64_t C = s.C, K = s.g.kernel_size(), P = d.n1 * d.n2, T = static_cast<int64_t>(d.off.size());
  const int threads = sample_threads(s.N, s.work());
  std::vector<float> room(static_cast<size_t>(threads * (d.image_floats(C) + d.run)));
  for_each_sample(s.N, threads, [&](int64_t n, int t) {
    float* xpad = room.data() + t * (d.image_floats(C) + d.run);
    float* full = xpad + d.image_floats(C);  // one output map on full padded rows (n1, Wp)
    pad_image(x + n * C * d.H * d.W, C, s.g, d, xpad);
    for (int64_t o = 0; o < s.OC; ++o) {
      std::fill(full, full + d.run, b ? b[o] : 0.f);
      for (int64_t c = 0; c < C; ++c) add_taps(full, xpad + c * d.plane, w + (o * C + c) * K, d.off.data(), T, d.run);
      float* yo = y + (n * s.OC + o) * P;
      for (int64_t j1 = 0; j1 < d.n1; ++j1) std::copy_n(full + j1 * d.Wp, d.n2, yo + j1 * d.n2);
    }
  });
}

// dw (OC, C, K) (+)= Σ_n dy[n] ⋆ x[n]; db (OC) (+)= Σ dy. Either may be null.
void few_maps_backward_w(const float* x, const float* dy, float* dw, float* db, const ConvSizes& s, bool acc_w,
                         bool acc_b) {
  const Padded d(s.g);
  const int64_t C = s.C, K = s.g.kernel_size(), P = d.n1 * d.n2, T = static_cast<int64_t>(d.off.size());
  const int64_t w_size = s.OC * C * K;
  const int threads = sample_threads(s.N, s.work());
  const int64_t each = d.image_floats(C) + d.run;
  std::vector<float> room(static_cast<size_t>(threads * each));
  std::vector<float> dw_parts(static_cast<size_t>(threads * w_size), 0.f), db_parts(size_t(threads * s.OC), 0.f);
  for_each_sample(s.N, threads, [&](int64_t n, int t) {
    float* xpad = room.data() + t * each;
    float* full = xpad + d.image_floats(C);  // dy[n, o] on full padded rows, zeros in the dropped columns
    pad_image(x + n * C * d.H * d.W, C, s.g, d, xpad);
    for (int64_t o = 0; o < s.OC; ++o) {
      const float* dyo = dy + (n * s.OC + o) * P;
      std::fill(full, full + d.run, 0.f);
      float sum = 0.f;
      for (int64_t j1 = 0; j1 < d.n1; ++j1) {
        std::copy_n(dyo + j1 * d.n2, d.n2, full + j1 * d.Wp);
        for (int64_t j2 = 0; j2 < d.n2; ++j2) sum += dyo[j1 * d.n2 + j2];
      }
      db_parts[size_t(t * s.OC + o)] += sum;
      float* dwo = dw_parts.data() + t * w_size + o * C * K;
      for (int64_t c = 0; dw && c < C; ++c) tap_dots(full, xpad + c * d.plane, d.off.data(), T, d.run, dwo + c * K);
    }
  });
  if (dw) reduce_parts(dw_parts.data(), threads, w_size, dw, acc_w);
  if (db) reduce_parts(db_parts.data(), threads, s.OC, db, acc_b);
}

}  // namespace detail
}  // namespace nnvae
