// top_n_error and image_augmentation: NNabla's values for small cases, naive
// references, what each augmentation option does on its own, determinism
// across thread counts, and the errors for bad input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <nnvae/nnvae.hpp>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace f = nnvae::functions;

namespace {

// ((i·mul) mod m − off)/div for i < n, as in the script that computed
// NNabla's values below.
std::vector<float> pattern(int n, int mul, int m, int off, float div) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = float((i * mul) % m - off) / div;
  return v;
}

// The image of `v` (N, C, H, W) at n, channel c.
std::vector<float> image(const std::vector<float>& v, int64_t n, int64_t c, int64_t C, int64_t H, int64_t W) {
  auto b = v.begin() + (n * C + c) * H * W;
  return std::vector<float>(b, b + H * W);
}

}  // namespace

// --- top_n_error ---------------------------------------------------------------------

// Reference values computed with NNabla 1.39.0 on CPU: F.top_n_error(x, t,
// axis, n) on these inputs. Ties count against the label: row 0's label
// shares the top score, so it is an error for n = 1 but not for n = 2.
TEST(top_n_error_matches_nnabla) {
  auto x = leaf({4, 5}, {0.1f, 0.5f, 0.5f, 0.2f, 0.f, 0.3f, 0.1f, 0.9f, 0.3f, 0.2f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.2f, 0.2f,
                         0.2f, 0.2f, 0.2f},
                false);
  auto t = leaf({4, 1}, {1, 0, 0, 4}, false);
  const std::vector<std::vector<float>> want = {{1, 1, 0, 1}, {0, 1, 0, 1}, {0, 0, 0, 1}};
  for (int n = 1; n <= 3; ++n) {
    auto y = f::top_n_error(x, t, 1, n);
    CHECK_EQ(shape_str(y->shape()), std::string("(4, 1)"));
    y->forward();
    CHECK_ALL_NEAR(data_of(y), want[n - 1], 0);
  }
  auto x3 = leaf({2, 3, 2}, pattern(12, 7, 11, 5, 4.f), false);
  auto t3 = leaf({2, 1, 2}, {0, 2, 1, 1}, false);
  auto y3 = f::top_n_error(x3, t3, 1, 1);
  y3->forward();
  CHECK_ALL_NEAR(data_of(y3), std::vector<float>({1, 1, 1, 0}), 0);
}

TEST(top_n_error_matches_naive_reference) {
  auto x = random_leaf({3, 7, 5}, -1.f, 1.f, 31, false);
  std::vector<float> labels(15);
  for (int i = 0; i < 15; ++i) labels[i] = float((i * 3) % 7);
  auto t = leaf({3, 1, 5}, labels, false);
  auto xv = data_of(x);
  for (int n : {1, 2, 3, 7}) {
    auto y = f::top_n_error(x, t, -2, n);
    y->forward();
    std::vector<float> want;
    for (int o = 0; o < 3; ++o)
      for (int j = 0; j < 5; ++j) {
        const float s = xv[(o * 7 + int(labels[o * 5 + j])) * 5 + j];
        int above = 0;  // classes scoring strictly higher
        for (int k = 0; k < 7; ++k) above += xv[(o * 7 + k) * 5 + j] > s;
        want.push_back(above >= n ? 1.f : 0.f);
      }
    CHECK_ALL_NEAR(data_of(y), want, 0);
  }
}

// The MNIST programs write their labels through a uint8_t pointer; a score
// line holding NaN counts as an error rather than passing as a hit.
TEST(top_n_error_byte_labels_and_nan) {
  auto x = leaf({3, 3}, {0.f, 1.f, 2.f, 5.f, 1.f, 0.f, std::numeric_limits<float>::quiet_NaN(), 1.f, 0.f}, false);
  auto t = std::make_shared<CgVariable>(Shape_t{3, 1}, false);
  uint8_t* tb = t->variable()->cast_data_and_get_pointer<uint8_t>(cpu(), true);
  tb[0] = 2;
  tb[1] = 0;
  tb[2] = 1;
  auto y = f::mean(f::top_n_error(x, t, 1, 1), {0, 1});
  y->forward();
  CHECK_NEAR(scalar_of(y), 1.0 / 3.0, 1e-7);
}

TEST(top_n_error_bad_input) {
  auto x = random_leaf({2, 5}, 0.f, 1.f, 1);
  for (float bad : {5.f, -1.f, 2.5f, std::numeric_limits<float>::quiet_NaN()}) {
    auto y = f::top_n_error(x, leaf({2, 1}, {1.f, bad}, false), 1, 1);
    CHECK_THROWS_WITH(y->forward(), "top_n_error: target value ");
    CHECK_THROWS_WITH(y->forward(), " at position 1 of target (shape (2, 1)) is not a class index of x (shape (2, 5)): "
                                    "labels must be integers in [0, 5), the size of axis 1");
  }
  CHECK_THROWS_WITH(f::top_n_error(x, leaf({2}, {0, 1}, false), 1, 1),
                    "top_n_error: target has shape (2,) but x has shape (2, 5); target must be x's shape with 1 at "
                    "axis 1, i.e. (2, 1)");
  CHECK_THROWS_WITH(f::top_n_error(x, leaf({2, 1}, {0, 1}, false), 2, 1),
                    "top_n_error: axis 2 is out of range for shape (2, 5)");
  CHECK_THROWS_WITH(f::top_n_error(x, leaf({2, 1}, {0, 1}, false), 1, 0), "top_n_error: n must be >= 1, got 0");
  // No gradient: a loss through it is refused, naming it.
  auto e = f::sum(f::top_n_error(x, leaf({2, 1}, {0, 1}, false), 1, 1));
  e->forward();
  CHECK_THROWS_WITH(backward_ones(e), "top_n_error has no gradient with respect to input 0");
}

// --- image_augmentation ------------------------------------------------------------------

// Reference values computed with NNabla 1.39.0 on CPU, one thread
// (OMP_NUM_THREADS=1: NNabla's threads share the generator), from
// F.image_augmentation on these inputs: first with the arguments of NNabla's
// ResNet MNIST example (scale, rotation, aspect ratio, distortion,
// brightness, contrast about 0.5 and noise, seed 0), then with padding, a
// smaller output, flips and per-channel brightness and contrast (seed 7).
TEST(image_augmentation_matches_nnabla) {
  auto x = leaf({2, 1, 6, 7}, pattern(84, 13, 17, 0, 16.f), false);
  auto y = f::image_augmentation(x, {1, 6, 7}, {0, 0}, 0.9f, 1.1f, 0.3f, 1.3f, 0.1f, false, false, 0.5f, false, 1.5f,
                                 0.5f, false, 0.1f, 0);
  y->forward();
  CHECK_ALL_NEAR(
      data_of(y),
      std::vector<float>(
          {-0.21561149f, 0.21081099f,   0.32210407f,   0.056525245f, -0.27637243f,  0.49439815f,  0.45166495f,
           0.13717303f,  -0.15198314f,  0.46389318f,   0.44161913f,  -0.077046253f, 0.21686341f,  0.41860703f,
           0.042916488f, 0.2897619f,    -0.0013921388f, -0.31914026f, 0.55413264f,   -0.051615905f, 0.41315886f,
           -0.23454046f, 0.5376327f,    0.45817629f,   -0.027131688f, 0.047265247f, 0.37769327f,  0.011579482f,
           0.17333734f,  -0.0078428676f, 0.67976165f,  0.4682627f,   0.030878277f,  -0.074861117f, -0.18543275f,
           0.31529924f,  0.012983823f,  -0.0071132369f, -0.039589614f, 0.4320519f,  -0.021175204f, -0.093460903f,
           0.14945589f,  0.42197451f,   0.31141415f,   0.16818367f,  0.008447771f,  0.33356231f,  0.40596548f,
           0.17021711f,  0.01913666f,   -0.11681326f,  0.28663343f,  0.22989352f,   0.141653f,    -0.024858387f,
           0.40313113f,  0.28155202f,   0.12200854f,   -0.0070795733f, 0.3626028f,  0.33577004f,  0.19266103f,
           0.013205628f, 0.42714745f,   0.33255529f,   0.22457141f,  0.046423793f,  -0.1216359f,  0.2513659f,
           0.25127426f,  0.10533312f,   -0.02824772f,  0.27065375f,  0.32985628f,   0.17603914f,  0.0027353775f,
           0.45764145f,  0.300868f,     0.17285904f,   -0.015828146f, 0.43336979f,  0.40798384f,  0.25045344f}),
      2e-5);

  auto xc = leaf({1, 3, 5, 5}, pattern(75, 13, 17, 0, 16.f), false);
  auto yc = f::image_augmentation(xc, {3, 4, 6}, {1, 2}, 0.8f, 1.25f, 0.5f, 1.2f, 0.f, true, true, 0.2f, true, 1.3f,
                                  0.25f, true, 0.f, 7);
  CHECK_EQ(shape_str(yc->shape()), std::string("(1, 3, 4, 6)"));
  yc->forward();
  CHECK_ALL_NEAR(
      data_of(yc),
      std::vector<float>(
          {0.56069028f,  0.52396679f,  0.72064197f,  -0.15646157f, 0.11413459f,  0.3095611f,   0.78734607f,
           0.75062263f,  0.6051321f,   0.11834438f,  0.38894051f,  0.53621686f,  0.10449691f,  0.26126719f,
           0.12255421f,  0.39315036f,  0.62542927f,  0.76287276f,  -0.09166345f, -0.021134019f, 0.28618562f,
           0.59350526f,  0.12584853f,  -0.15917519f, 0.87938303f,  0.83825213f,  0.84562665f,  0.076162785f,
           0.37923425f,  0.59811479f,  0.26766938f,  0.45961326f,  0.080877811f, 0.38394928f,  0.68702078f,
           0.85197252f,  0.10165849f,  0.085592806f, 0.38866442f,  0.69173598f,  0.95189166f,  1.1058302f,
           0.14873758f,  0.22773154f,  0.57193393f,  0.91613632f,  0.39235413f,  0.073123455f, 0.64037985f,
           0.61261594f,  0.011372089f, 0.098194793f, 0.30277237f,  0.4505198f,   0.22746447f,  0.35702929f,
           0.1013775f,   0.30595505f,  0.51053268f,  0.62187731f,  0.11540477f,  0.10456018f,  0.30913779f,
           0.43632454f,  0.25777721f,  0.024579212f, 0.14718381f,  0.20050587f,  0.43284735f,  0.19904797f,
           0.029840067f, 0.096143216f}),
      2e-5);
}

// With every option at its default, each image comes out unchanged (the
// sampling lands exactly on the pixels).
TEST(image_augmentation_defaults_are_identity) {
  auto x = random_leaf({3, 2, 5, 9}, -1.f, 1.f, 41, false);
  auto y = f::image_augmentation(x);
  CHECK_EQ(shape_str(y->shape()), std::string("(3, 2, 5, 9)"));
  y->forward();
  CHECK_ALL_NEAR(data_of(y), data_of(x), 0);
  auto x2 = random_leaf({4, 6}, -1.f, 1.f, 42, false);  // one image, no channel axis
  auto y2 = f::image_augmentation(x2, {4, 6});
  y2->forward();
  CHECK_ALL_NEAR(data_of(y2), data_of(x2), 0);
}

// Each option on its own, checked for what it does to every image.
TEST(image_augmentation_options_one_at_a_time) {
  const int64_t N = 16, C = 2, H = 4, W = 5;
  auto x = random_leaf({N, C, H, W}, 0.f, 1.f, 43, false);
  auto xv = data_of(x);
  // flip_lr: each image is unchanged or mirrored left-right, both happen.
  auto fl = f::image_augmentation(x, {}, {0, 0}, 1, 1, 0, 1, 0, true, false, 0, false, 1, 0, false, 0, 3);
  fl->forward();
  auto flv = data_of(fl);
  int mirrored = 0;
  for (int64_t n = 0; n < N; ++n) {
    bool same = true, mirror = true;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const float got = flv[((n * C + c) * H + i) * W + j];
          same = same && got == xv[((n * C + c) * H + i) * W + j];
          mirror = mirror && got == xv[((n * C + c) * H + i) * W + (W - 1 - j)];
        }
    CHECK(same || mirror);
    mirrored += mirror;
  }
  CHECK(mirrored > 0 && mirrored < N);
  // brightness: one offset in [−0.3, 0.3] per image, the same on every channel.
  auto br = f::image_augmentation(x, {}, {0, 0}, 1, 1, 0, 1, 0, false, false, 0.3f, false, 1, 0, false, 0, 4);
  br->forward();
  auto brv = data_of(br);
  for (int64_t n = 0; n < N; ++n) {
    const float b = brv[n * C * H * W] - xv[n * C * H * W];
    CHECK(std::fabs(b) <= 0.3f + 1e-6f);
    for (int64_t k = 0; k < C * H * W; ++k) CHECK_NEAR(brv[n * C * H * W + k] - xv[n * C * H * W + k], b, 1e-6);
  }
  // contrast about a centre: (v − 0.5)·c + 0.5 with c in [1/2, 2], per channel with contrast_each.
  auto ct = f::image_augmentation(x, {}, {0, 0}, 1, 1, 0, 1, 0, false, false, 0, false, 2.f, 0.5f, true, 0, 5);
  ct->forward();
  auto ctv = data_of(ct);
  bool channels_differ = false;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<float> gains;
    for (int64_t c = 0; c < C; ++c) {
      auto in = image(xv, n, c, C, H, W), out = image(ctv, n, c, C, H, W);
      size_t far = 0;  // the pixel farthest from the centre gives the gain most exactly
      for (size_t k = 0; k < in.size(); ++k) far = std::fabs(in[k] - 0.5f) > std::fabs(in[far] - 0.5f) ? k : far;
      const float g = (out[far] - 0.5f) / (in[far] - 0.5f);
      CHECK(g >= 0.5f - 1e-4f && g <= 2.f + 1e-4f);
      for (int64_t k = 0; k < H * W; ++k) CHECK_NEAR(out[k], (in[k] - 0.5f) * g + 0.5f, 1e-4);
      gains.push_back(g);
    }
    channels_differ = channels_differ || std::fabs(gains[0] - gains[1]) > 1e-3f;
  }
  CHECK(channels_differ);
  // noise: differences of a standard deviation below `noise`, not all zero.
  auto nz = f::image_augmentation(x, {}, {0, 0}, 1, 1, 0, 1, 0, false, false, 0, false, 1, 0, false, 0.05f, 6);
  nz->forward();
  auto nzv = data_of(nz);
  double s2 = 0;
  for (size_t k = 0; k < xv.size(); ++k) s2 += std::pow(nzv[k] - xv[k], 2);
  const double sd = std::sqrt(s2 / xv.size());
  CHECK(sd > 0.005 && sd < 0.05);
}

// Seeds: the same seed gives the same images, node after node; seed −1 draws
// from the global generator (the same after set_seed). Threads change nothing.
TEST(image_augmentation_seeds_and_threads) {
  auto x = random_leaf({9, 1, 12, 10}, 0.f, 1.f, 44, false);
  auto make = [&](int seed) {
    auto y = f::image_augmentation(x, {1, 12, 10}, {1, 1}, 0.9f, 1.1f, 0.3f, 1.3f, 0.1f, true, true, 0.5f, true, 1.5f,
                                   0.5f, true, 0.1f, seed);
    y->forward();
    return data_of(y);
  };
  auto a = make(0), b = make(0), c = make(1);
  CHECK_ALL_NEAR(a, b, 0);
  CHECK(a != c);
  set_seed(5);
  auto g1 = make(-1);
  set_seed(5);
  auto g2 = make(-1);
  CHECK_ALL_NEAR(g1, g2, 0);
  const int threads = get_num_threads();
  set_num_threads(1);
  auto one = make(0);
  set_num_threads(2);
  auto two = make(0);
  set_num_threads(threads);
  CHECK_ALL_NEAR(one, two, 0);
  CHECK_ALL_NEAR(one, a, 0);
}

TEST(image_augmentation_bad_input) {
  auto x = random_leaf({2, 1, 6, 6}, 0.f, 1.f, 45, false);
  CHECK_THROWS_WITH(f::image_augmentation(random_leaf({6}, 0.f, 1.f, 1, false)),
                    "image_augmentation: x must have at least 2 axes (height, width), got shape (6,)");
  CHECK_THROWS_WITH(f::image_augmentation(x, {3, 6, 6}),
                    "image_augmentation: shape (3, 6, 6) does not fit x of shape (2, 1, 6, 6)");
  CHECK_THROWS_WITH(f::image_augmentation(x, {1, 0, 6}), "height and width must be > 0");
  CHECK_THROWS_WITH(f::image_augmentation(x, {6}), "image_augmentation: shape must have 2 to 4 entries");
  CHECK_THROWS_WITH(f::image_augmentation(x, {}, {1}), "image_augmentation: pad must be two sizes >= 0");
  CHECK_THROWS_WITH(f::image_augmentation(x, {}, {0, -1}), "pad must be two sizes >= 0 (height, width), got (0, -1)");
  CHECK_THROWS_WITH(f::image_augmentation(x, {}, {0, 0}, 0.f),
                    "image_augmentation: min_scale must be a finite number > 0");
  CHECK_THROWS_WITH(f::image_augmentation(x, {}, {0, 0}, 1.f, -1.f), "max_scale must be a finite number > 0");
  CHECK_THROWS_WITH(f::image_augmentation(x, {}, {0, 0}, 1, 1, 0, 0.f), "aspect_ratio must be a finite number > 0");
  CHECK_THROWS_WITH(f::image_augmentation(x, {}, {0, 0}, 1, 1, 0, 1, 0, false, false, 0, false, 0.f),
                    "contrast must be a finite number > 0");
  CHECK_THROWS_WITH(f::image_augmentation(x, {}, {0, 0}, 1, 1, std::numeric_limits<float>::infinity()),
                    "image_augmentation: angle must be finite");
  // No gradient.
  auto xg = random_leaf({1, 1, 3, 3}, 0.f, 1.f, 46);
  auto l = f::sum(f::image_augmentation(xg));
  l->forward();
  CHECK_THROWS_WITH(backward_ones(l), "image_augmentation has no gradient with respect to input 0");
}

NNVAE_TEST_MAIN()
