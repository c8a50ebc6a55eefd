// The VAE's training loop: Adam on the one-sample negative ELBO over
// shuffled batches, a monitor line every few steps, exact resume.
//
//   VaeConfig cfg;                       // the tutorial's recipe by default
//   VaeTrainer trainer(cfg, train_images, test_images);
//   trainer.train(cfg.iterations, [](const MonitorRecord& r) { ... });
//   double nelbo = negative_elbo(trainer.parameters(), cfg.latent, cfg.hidden, test_images);
//
// Images stay uint8; each batch is converted to pixel/255 floats as it is fetched.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nnvae/nnvae.hpp"
#include "nnvae/vae/config.hpp"
#include "nnvae/vae/images.hpp"
#include "nnvae/vae/model.hpp"

namespace nnvae {
namespace vae {

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
  // The mean loss of test images idx (several validation batches at once).
  float validation_forward(const std::vector<int32_t>& idx);

  VaeConfig config_;
  ImageSet train_, test_;
  ParameterDirectory params_;
  std::shared_ptr<AdamSolver> solver_;
  VaeNet net_;  // static mode: the graph built once
  // Static mode: the validation graphs of a whole pass and of a shorter last
  // pass, built on first use.
  VaeNet val_net_, val_rest_;
  Generator shuffle_gen_, noise_gen_;
  TrainerState state_;  // generators kept in the members above, not in here
};

}  // namespace vae
}  // namespace nnvae
