#include "nnvae/vae/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "graph_scopes.hpp"

namespace nnvae {
namespace vae {

std::string format_monitor_line(const MonitorRecord& r) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "iter: %lld, tloss: %f, vloss: %f", static_cast<long long>(r.iteration),
                r.train_loss, r.val_loss);
  return buf;
}

VaeTrainer::VaeTrainer(const VaeConfig& config, ImageSet train, ImageSet test)
    : config_(config), train_(std::move(train)), test_(std::move(test)) {
  config_.validate(train_.count, test_.count);
  if (config_.threads > 0) set_num_threads(config_.threads);
  // One seed: the noise generator first draws the initial parameters, then
  // epsilon; the shuffling generator gets the next seed.
  noise_gen_.seed(config_.seed);
  shuffle_gen_.seed(config_.seed + 1u);
  {
    GlobalGeneratorScope scope(noise_gen_);
    if (config_.graph == GraphMode::static_graph) {
      AutoForwardScope off(false);
      auto x = std::make_shared<CgVariable>(Shape_t{config_.batch_size, 1, kRows, kCols}, false);
      net_ = build_vae(x, params_, config_.latent, config_.hidden);
    } else {
      create_vae_parameters(params_, config_.latent, config_.hidden);
    }
    if (config_.init == "fan-in") init_fan_in(params_);
  }
  solver_ = create_AdamSolver(kCtx, config_.learning_rate, config_.beta1, config_.beta2, config_.eps);
  solver_->set_parameters(params_.get_parameters());
}

void VaeTrainer::shuffle_epoch() {
  // Fisher-Yates over 0..N-1 from the trainer's own generator.
  auto& order = state_.order;
  order.resize(train_.count);
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = train_.count - 1; i > 0; --i) {
    int64_t j = std::min<int64_t>(i, static_cast<int64_t>(shuffle_gen_.uniform() * static_cast<float>(i + 1)));
    std::swap(order[i], order[j]);
  }
  state_.position = 0;
  state_.epoch += 1;
}

void VaeTrainer::next_batch_indices(std::vector<int32_t>& idx) {
  // Each epoch uses floor(N/B) whole batches of a fresh permutation.
  const int64_t B = config_.batch_size;
  if (state_.order.empty() || state_.position + B > batches_per_epoch() * B) shuffle_epoch();
  idx.assign(state_.order.begin() + state_.position, state_.order.begin() + state_.position + B);
  state_.position += B;
}

float VaeTrainer::forward(const std::vector<int32_t>& idx, const ImageSet& set, VaeNet* dynamic_net) {
  const int64_t B = static_cast<int64_t>(idx.size());
  if (config_.graph == GraphMode::static_graph) {
    fill_images(set, idx.data(), B, net_.x);
    net_.loss->forward(false, true);
    return scalar_value(net_.loss);
  }
  auto x = std::make_shared<CgVariable>(Shape_t{B, 1, kRows, kCols}, false);
  fill_images(set, idx.data(), B, x);
  AutoForwardScope on(true);
  VaeNet net = build_vae(x, params_, config_.latent, config_.hidden);
  if (dynamic_net) *dynamic_net = net;
  return scalar_value(net.loss);
}

namespace {
// At most this many validation images go through one forward pass.
constexpr int64_t kValidationPassImages = 1000;
}  // namespace

double VaeTrainer::validation_loss() {
  // V consecutive test batches of B, continuing where the last monitor
  // stopped, taken several batches per forward pass: a few large products
  // keep the threads busier than many small ones (the default 10 batches of
  // 100 are one pass of 1000). The value is the same: a pass's loss is the
  // mean of its batches' losses, and its noise is the same draws in the same
  // order (randn fills its rows one after another from the one generator).
  const int64_t B = config_.batch_size, V = config_.validation_batches;
  const int64_t per_pass = std::clamp<int64_t>(kValidationPassImages / B, 1, V);
  std::vector<int32_t> idx;
  double sum = 0;
  for (int64_t b = 0; b < V; b += per_pass) {
    const int64_t n = std::min(per_pass, V - b) * B;
    idx.resize(n);
    for (int64_t i = 0; i < n; ++i) idx[i] = static_cast<int32_t>((state_.val_cursor + i) % test_.count);
    state_.val_cursor = (state_.val_cursor + n) % test_.count;
    sum += static_cast<double>(validation_forward(idx)) * (n / B);
  }
  return sum / V;
}

float VaeTrainer::validation_forward(const std::vector<int32_t>& idx) {
  if (config_.graph != GraphMode::static_graph) return forward(idx, test_, nullptr);
  const int64_t n = static_cast<int64_t>(idx.size());
  // The first pass's size is that of every pass but perhaps the last.
  VaeNet& net = !val_net_.loss || val_net_.x->shape()[0] == n ? val_net_ : val_rest_;
  if (!net.loss || net.x->shape()[0] != n) {
    AutoForwardScope off(false);
    net = build_vae(std::make_shared<CgVariable>(Shape_t{n, 1, kRows, kCols}, false), params_, config_.latent,
                    config_.hidden);
  }
  fill_images(test_, idx.data(), n, net.x);
  // Nothing is kept for a backward pass.
  net.loss->forward(true, false);
  return scalar_value(net.loss);
}

TrainResult VaeTrainer::train(int64_t until, const MonitorFn& on_monitor, const StopFn& should_stop) {
  until = std::min(until, config_.iterations);
  GlobalGeneratorScope scope(noise_gen_);
  MatmulPrecisionScope precision(config_.precision);  // the steps' and the monitor lines' products
  std::vector<int32_t> idx;
  while (state_.iteration < until) {
    if (should_stop && should_stop()) return {StopReason::stopped, state_.iteration, 0};
    next_batch_indices(idx);
    // One step: zero_grad, forward, loss grad = 1, backward, Adam update.
    solver_->zero_grad();
    VaeNet dynamic_net;
    float loss = forward(idx, train_, &dynamic_net);
    if (!std::isfinite(loss)) return {StopReason::nonfinite, state_.iteration, loss};
    VaeNet& net = config_.graph == GraphMode::static_graph ? net_ : dynamic_net;
    net.loss->variable()->grad()->fill(1.0);
    net.loss->backward(nullptr, true);
    solver_->update();

    state_.loss_sum += loss;
    state_.loss_count += 1;
    state_.iteration += 1;
    if (state_.iteration % config_.monitor_interval == 0) {
      MonitorRecord r{state_.iteration - 1, state_.loss_sum / state_.loss_count, validation_loss()};
      state_.loss_sum = 0;
      state_.loss_count = 0;
      if (on_monitor) on_monitor(r);
    }
  }
  return {StopReason::finished, state_.iteration, 0};
}

TrainerState VaeTrainer::state() const {
  TrainerState s = state_;
  s.shuffle_generator = shuffle_gen_.state();
  s.noise_generator = noise_gen_.state();
  return s;
}

void VaeTrainer::set_state(const TrainerState& s) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("trainer state: " + what); };
  const int64_t B = config_.batch_size;
  if (s.iteration < 0 || s.iteration > config_.iterations)
    fail("iteration " + std::to_string(s.iteration) + " is outside 0.." + std::to_string(config_.iterations));
  if (!s.order.empty() && static_cast<int64_t>(s.order.size()) != train_.count)
    fail("the shuffle order has " + std::to_string(s.order.size()) + " entries for " +
         std::to_string(train_.count) + " training images");
  std::vector<char> seen(train_.count, 0);
  for (int32_t i : s.order) {
    if (i < 0 || i >= train_.count || seen[i]) fail("the shuffle order is not a permutation of 0.." +
                                                    std::to_string(train_.count - 1));
    seen[i] = 1;
  }
  if (s.position < 0 || s.position > batches_per_epoch() * B || s.position % B != 0)
    fail("position " + std::to_string(s.position) + " does not fit batches of " + std::to_string(B));
  if (s.loss_count < 0 || s.loss_count >= config_.monitor_interval)
    fail("loss count " + std::to_string(s.loss_count) + " is outside 0.." +
         std::to_string(config_.monitor_interval - 1));
  if (s.val_cursor < 0 || s.val_cursor >= test_.count)
    fail("validation cursor " + std::to_string(s.val_cursor) + " is outside 0.." + std::to_string(test_.count - 1));
  Generator shuffle, noise;
  shuffle.set_state(s.shuffle_generator);
  noise.set_state(s.noise_generator);
  state_ = s;
  state_.shuffle_generator.clear();
  state_.noise_generator.clear();
  shuffle_gen_ = shuffle;
  noise_gen_ = noise;
}

}  // namespace vae
}  // namespace nnvae
