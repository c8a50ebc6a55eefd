// The tutorial's VAE (SPEC §2): the model written with the tutorial's own
// expressions, its training loop, and its evaluation.
//
//   VaeConfig cfg;                       // the tutorial's recipe by default
//   VaeTrainer trainer(cfg, train_images, test_images);
//   trainer.train(cfg.iterations, [](const MonitorRecord& r) { ... });
//   double nelbo = negative_elbo(trainer.parameters(), cfg.latent, cfg.hidden, test_images);
//
// Images are uint8 MNIST-like pictures, 784 pixels each, row-major; they stay
// uint8 and each batch is converted to pixel/255 floats as it is fetched.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nnvae/nnvae.hpp"
#include "nnvae/vae/config.hpp"
#include "nnvae/vae/images.hpp"
#include "nnvae/vae/synthetic.hpp"

namespace nnvae {
namespace vae {

// ---------------------------------------------------------------------------
// The model

// The nodes of one VAE graph over a batch of B images.
struct VaeNet {
  CgVariablePtr x;        // (B, 1, 28, 28) pixel/255, the input
  CgVariablePtr mu;       // (B, latent)
  CgVariablePtr logvar;   // (B, latent)
  CgVariablePtr epsilon;  // (B, latent) ~ N(0, 1)
  CgVariablePtr z;        // (B, latent) = mu + sigma·epsilon
  CgVariablePtr prob;     // (B, 1, 28, 28) Bernoulli logits
  CgVariablePtr loss;     // () mean one-sample negative ELBO, nats per image
};

// SPEC §2 on input x (B, 1, 28, 28), creating or reusing the parameters fc1,
// fc2, fc_mu, fc_logvar, fc3, fc4, fc5 (in that order) in `parameters`.
// epsilon comes from randn(..., seed -1), i.e. the global generator, in both
// graph modes (see vae_training.cpp).
VaeNet build_vae(CgVariablePtr x, ParameterDirectory parameters, int latent = 50, int hidden = 500);

// The decoder alone: logits (N, 784) from z (N, latent), on existing parameters.
CgVariablePtr build_decoder(CgVariablePtr z, ParameterDirectory parameters, int hidden = 500);

// Full names and shapes of the model's parameters, in creation order.
std::vector<std::pair<std::string, Shape_t>> vae_parameter_shapes(int latent = 50, int hidden = 500);

// Throws std::invalid_argument listing every parameter of the model that
// `parameters` lacks or holds with another shape (evaluation must never
// create fresh random ones).
void check_vae_parameters(ParameterDirectory parameters, int latent = 50, int hidden = 500);

// Creates the parameters in `parameters` (Glorot-uniform W, zero b) drawing
// from the global generator, without computing anything.
void create_vae_parameters(ParameterDirectory parameters, int latent = 50, int hidden = 500);

// ---------------------------------------------------------------------------
// Training

// One monitor line: `iter: 9, tloss: 503.848297, vloss: 405.502197`.
struct MonitorRecord {
  int64_t iteration;  // 0-based index of the last step of the interval
  double train_loss;  // mean training loss of the interval's steps
  double val_loss;    // mean loss over the validation batches
};
std::string format_monitor_line(const MonitorRecord& r);

enum class StopReason { finished, stopped, nonfinite };

struct TrainResult {
  StopReason reason = StopReason::finished;
  int64_t iteration = 0;  // steps completed so far (the next step's index)
  double bad_loss = 0;    // the non-finite loss, when reason == nonfinite
};

// Everything besides parameters and solver states that an exact resume needs.
struct TrainerState {
  int64_t iteration = 0;        // steps completed
  int64_t epoch = 0;            // epochs started
  int64_t position = 0;         // next batch's offset into `order`
  std::vector<int32_t> order;   // this epoch's shuffled image indices
  std::string shuffle_generator;
  std::string noise_generator;  // epsilon's generator (see build_vae)
  double loss_sum = 0;          // training losses of the current monitor interval
  int64_t loss_count = 0;
  int64_t val_cursor = 0;       // next validation image
};

class VaeTrainer {
 public:
  using MonitorFn = std::function<void(const MonitorRecord&)>;
  // Called before every step; returning true stops training cleanly there.
  using StopFn = std::function<bool()>;

  VaeTrainer(const VaeConfig& config, ImageSet train, ImageSet test);

  // Runs steps until `until` steps are done (at most config.iterations),
  // calling on_monitor at the end of each monitor interval. Stops early when
  // should_stop says so or when a loss is not finite (that step is not applied).
  TrainResult train(int64_t until, const MonitorFn& on_monitor = nullptr, const StopFn& should_stop = nullptr);

  const VaeConfig& config() const { return config_; }
  int64_t iteration() const { return state_.iteration; }
  int64_t batches_per_epoch() const { return train_.count / config_.batch_size; }
  ParameterDirectory parameters() const { return params_; }
  std::shared_ptr<AdamSolver> solver() const { return solver_; }

  // The loop's own state, for checkpoints; set_state checks its consistency.
  TrainerState state() const;
  void set_state(const TrainerState& state);

 private:
  void next_batch_indices(std::vector<int32_t>& idx);
  void shuffle_epoch();
  void load_batch(const ImageSet& set, const std::vector<int32_t>& idx, CgVariablePtr x) const;
  // One forward pass on `x`'s data (static) or on a new graph (dynamic); the
  // loss value and, for training, the net to back-propagate through.
  float forward(const std::vector<int32_t>& idx, const ImageSet& set, VaeNet* dynamic_net);
  double validation_loss();

  VaeConfig config_;
  ImageSet train_, test_;
  ParameterDirectory params_;
  std::shared_ptr<AdamSolver> solver_;
  VaeNet net_;  // static mode: the graph built once
  Generator shuffle_gen_, noise_gen_;
  TrainerState state_;  // generators kept in the members above, not in here
};

// ---------------------------------------------------------------------------
// Evaluation (parameters of an existing model; each call uses its own
// generator seeded with `seed` and leaves the global one as it was)

// Called after each batch with (images done, total); returning true stops
// the evaluation (it then throws std::runtime_error "interrupted").
using ProgressFn = std::function<bool(int64_t, int64_t)>;

// Mean over `images` of the one-sample negative ELBO (the training loss).
double negative_elbo(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images,
                     int batch_size = 100, uint32_t seed = 706, const ProgressFn& progress = nullptr);

// Mean over `images` of −log (1/k Σ_j p(x, z_j)/q(z_j|x)), z_j ~ q(z|x): the
// importance-weighted bound on the negative log-likelihood (k = 1 gives the
// negative ELBO), a log-mean-exp computed in double around its maximum.
double importance_weighted_nll(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images,
                               int k, uint32_t seed = 706, const ProgressFn& progress = nullptr);

// The posterior means and log-variances (N, latent) of `images`.
void encode(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images, std::vector<float>& mu,
            std::vector<float>& logvar);

// Pixel probabilities sigmoid(logits) (N, 784) decoded from z (N, latent).
std::vector<float> decode(ParameterDirectory parameters, int latent, int hidden, const std::vector<float>& z);

}  // namespace vae
}  // namespace nnvae
