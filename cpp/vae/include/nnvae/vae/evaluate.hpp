// Evaluation of a trained VAE's parameters: the negative ELBO, the
// importance-weighted bound on the negative log-likelihood, encoding and
// decoding. Each call that draws noise uses its own generator seeded with
// `seed` and leaves the global one as it was.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "nnvae/nnvae.hpp"
#include "nnvae/vae/images.hpp"

namespace nnvae {
namespace vae {

// The fixed seed of the evaluations' noise, so that runs trained with
// different seeds are compared on the same draws.
constexpr uint32_t kEvaluationSeed = 706;
// Images per evaluation batch (the tutorial's training batch; the result
// does not depend on it beyond rounding).
constexpr int kEvaluationBatchSize = 100;

// Called after each batch with (images done, total); returning true stops
// the evaluation (it then throws std::runtime_error "interrupted").
using ProgressFn = std::function<bool(int64_t, int64_t)>;

// Mean over `images` of the one-sample negative ELBO (the training loss).
double negative_elbo(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images,
                     int batch_size = kEvaluationBatchSize, uint32_t seed = kEvaluationSeed,
                     const ProgressFn& progress = nullptr);

// Mean over `images` of −log (1/k Σ_j p(x, z_j)/q(z_j|x)), z_j ~ q(z|x): the
// importance-weighted bound on the negative log-likelihood (k = 1 gives the
// negative ELBO), a log-mean-exp computed in double around its maximum.
double importance_weighted_nll(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images,
                               int k, uint32_t seed = kEvaluationSeed, const ProgressFn& progress = nullptr);

// The posterior means and log-variances (N, latent) of `images`.
void encode(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images, std::vector<float>& mu,
            std::vector<float>& logvar);

// Pixel probabilities sigmoid(logits) (N, 784) decoded from z (N, latent).
std::vector<float> decode(ParameterDirectory parameters, int latent, int hidden, const std::vector<float>& z);

}  // namespace vae
}  // namespace nnvae
