#include "nnvae/vae/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "graph_scopes.hpp"
#include "nnvae/vae/model.hpp"

namespace nnvae {
namespace vae {

namespace f = nnvae::functions;

namespace {

// Calls body(first, n) for consecutive chunks [first, first + n) of `count`
// items, n <= chunk, with auto-forward off; after each chunk reports
// (first + n, count) to `progress`, which may stop the loop by throwing
// std::runtime_error "interrupted".
template <typename Body>
void for_each_chunk(int64_t count, int64_t chunk, const ProgressFn& progress, Body body) {
  AutoForwardScope off(false);
  for (int64_t first = 0; first < count; first += chunk) {
    const int64_t n = std::min(chunk, count - first);
    body(first, n);
    if (progress && progress(first + n, count)) throw std::runtime_error("interrupted");
  }
}

// Copies the (n, width) rows of `v` into out rows first..first+n-1.
void copy_rows(const CgVariablePtr& v, int64_t first, int64_t n, int64_t width, std::vector<float>& out) {
  const float* src = v->variable()->cast_data_and_get_pointer<float>(kCtx);
  std::copy(src, src + n * width, out.begin() + first * width);
}

}  // namespace

double negative_elbo(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images, int batch_size,
                     uint32_t seed, const ProgressFn& progress) {
  check_vae_parameters(parameters, latent, hidden);
  if (images.count < 1) throw std::invalid_argument("negative_elbo: no images");
  if (batch_size < 1) throw std::invalid_argument("negative_elbo: batch size must be >= 1");
  Generator gen(seed);
  GlobalGeneratorScope scope(gen);
  // One graph for the full batches and one for the remainder; the loss is a
  // batch mean, so each batch counts with its size.
  VaeNet full, rest;
  double total = 0;
  for_each_chunk(images.count, batch_size, progress, [&](int64_t first, int64_t n) {
    VaeNet& net = n == batch_size ? full : rest;
    if (!net.loss || net.x->shape()[0] != n) {
      auto x = std::make_shared<CgVariable>(Shape_t{n, 1, kRows, kCols}, false);
      net = build_vae(x, parameters, latent, hidden);
    }
    fill_image_range(images, first, n, net.x);
    net.loss->forward(true, false);
    total += static_cast<double>(scalar_value(net.loss)) * n;
  });
  return total / images.count;
}

double importance_weighted_nll(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images, int k,
                               uint32_t seed, const ProgressFn& progress) {
  check_vae_parameters(parameters, latent, hidden);
  if (images.count < 1) throw std::invalid_argument("importance_weighted_nll: no images");
  if (k < 1) throw std::invalid_argument("importance_weighted_nll: k must be >= 1, got " + std::to_string(k));
  Generator gen(seed);
  GlobalGeneratorScope scope(gen);
  // About 2000 decoded rows per batch: B images times k samples each.
  const int64_t per_batch = std::max<int64_t>(1, 2000 / k);
  const int L = latent;
  double total = 0;
  for_each_chunk(images.count, per_batch, progress, [&](int64_t first, int64_t n) {
    const int B = static_cast<int>(n);
    auto xa = std::make_shared<CgVariable>(Shape_t{B, 1, kRows, kCols}, false);
    fill_image_range(images, first, B, xa);

    // q(z|x) = N(mu, sigma²) per image, k draws each: z (B, k, L).
    auto [mu, logvar] = build_encoder(xa, parameters, latent, hidden);
    auto mu3 = f::reshape(mu, {B, 1, L}, false);
    auto logvar3 = f::reshape(logvar, {B, 1, L}, false);
    auto epsilon = f::randn(0.0, 1.0, {B, k, L}, -1);
    auto z = mu3 + f::exp(logvar3 * 0.5) * epsilon;
    auto logits = f::reshape(build_decoder(f::reshape(z, {B * k, L}, false), parameters, hidden), {B, k, kPixels},
                             false);
    // Binarised targets repeated over the k samples: (B, 1, 784) → (B, k, 784).
    auto xb = f::greater_equal_scalar(f::reshape(xa, {B, 1, kPixels}, false), 0.5) + f::constant(0.f, {B, k, kPixels});
    // log w = log p(x|z) + log p(z) − log q(z|x), each (B, k); the (L/2)·log 2π
    // of the two Gaussians cancel, and (z − mu)²/sigma² = epsilon².
    auto logpx = -1.0 * f::sum(f::sigmoid_cross_entropy(logits, xb), {2}, false);
    auto logpz = -0.5 * f::sum(z * z, {2}, false);
    auto logqz = -0.5 * f::sum(epsilon * epsilon, {2}, false) - 0.5 * f::sum(logvar3, {2}, false);
    auto logw = logpx + logpz - logqz;
    logw->forward(true, false);

    const float* lw = logw->variable()->cast_data_and_get_pointer<float>(kCtx);
    for (int b = 0; b < B; ++b) {
      // −log mean_j exp(lw_j) = −(m + log mean_j exp(lw_j − m)), m = max_j lw_j.
      const float* row = lw + static_cast<int64_t>(b) * k;
      double m = *std::max_element(row, row + k);
      double s = 0;
      for (int j = 0; j < k; ++j) s += std::exp(static_cast<double>(row[j]) - m);
      total += -(m + std::log(s / k));
    }
  });
  return total / images.count;
}

void encode(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images, std::vector<float>& mu_out,
            std::vector<float>& logvar_out) {
  check_vae_parameters(parameters, latent, hidden);
  mu_out.assign(images.count * latent, 0.f);
  logvar_out.assign(images.count * latent, 0.f);
  for_each_chunk(images.count, 1000, nullptr, [&](int64_t first, int64_t n) {
    auto x = std::make_shared<CgVariable>(Shape_t{n, 1, kRows, kCols}, false);
    fill_image_range(images, first, n, x);
    auto [mu, logvar] = build_encoder(x, parameters, latent, hidden);
    mu->forward(false, false);
    logvar->forward(false, false);
    copy_rows(mu, first, n, latent, mu_out);
    copy_rows(logvar, first, n, latent, logvar_out);
  });
}

std::vector<float> decode(ParameterDirectory parameters, int latent, int hidden, const std::vector<float>& z_in) {
  check_vae_parameters(parameters, latent, hidden);
  if (z_in.size() % latent != 0)
    throw std::invalid_argument("decode: " + std::to_string(z_in.size()) + " values are not rows of latent size " +
                                std::to_string(latent));
  const int64_t count = static_cast<int64_t>(z_in.size()) / latent;
  std::vector<float> out(count * kPixels);
  for_each_chunk(count, 1000, nullptr, [&](int64_t first, int64_t n) {
    auto z = std::make_shared<CgVariable>(Shape_t{n, latent}, false);
    std::copy(z_in.begin() + first * latent, z_in.begin() + (first + n) * latent,
              z->variable()->cast_data_and_get_pointer<float>(kCtx, true));
    auto p = f::sigmoid(build_decoder(z, parameters, hidden));
    p->forward(true, false);
    copy_rows(p, first, n, kPixels, out);
  });
  return out;
}

}  // namespace vae
}  // namespace nnvae
