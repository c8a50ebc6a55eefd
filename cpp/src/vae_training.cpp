#include "nnvae/vae_training.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace nnvae {
namespace vae {

namespace f = nnvae::functions;
namespace pf = nnvae::parametric_functions;

namespace {

const Context kCtx{{"cpu:float"}, "CpuCachedArray", "0"};

// Makes `owned` the global generator for the scope (initializers and
// randn(..., -1) draw from it), then stores its advanced state back into
// `owned` and puts the previous global generator back. This way every random
// number of a training run comes from generators the trainer owns and
// checkpoints, whatever else the process draws between calls.
class GlobalGeneratorScope {
 public:
  explicit GlobalGeneratorScope(Generator& owned) : owned_(owned), saved_(global_generator()) {
    global_generator() = owned_;
  }
  ~GlobalGeneratorScope() {
    owned_ = global_generator();
    global_generator() = saved_;
  }
  GlobalGeneratorScope(const GlobalGeneratorScope&) = delete;
  GlobalGeneratorScope& operator=(const GlobalGeneratorScope&) = delete;

 private:
  Generator& owned_;
  Generator saved_;
};

class AutoForwardScope {
 public:
  explicit AutoForwardScope(bool on) : saved_(get_auto_forward()) { set_auto_forward(on); }
  ~AutoForwardScope() { set_auto_forward(saved_); }

 private:
  bool saved_;
};

float scalar_value(const CgVariablePtr& v) { return *v->variable()->cast_data_and_get_pointer<float>(kCtx); }

// The encoder of SPEC §2: (mu, logvar), each (B, latent).
std::pair<CgVariablePtr, CgVariablePtr> build_encoder(CgVariablePtr xa, ParameterDirectory parameters, int latent,
                                                      int hidden) {
  // Fully connected layers, and Elu replaced from original Softplus.
  auto h1 = f::elu(pf::affine(xa, 1, hidden, parameters["fc1"]), 1.0);
  auto h2 = f::elu(pf::affine(h1, 1, hidden, parameters["fc2"]), 1.0);
  // The outputs are the parameters of Gauss probability density.
  auto mu = pf::affine(h2, 1, latent, parameters["fc_mu"]);
  auto logvar = pf::affine(h2, 1, latent, parameters["fc_logvar"]);
  return {mu, logvar};
}

// Batches of `images` as (B, 1, 28, 28) floats pixel/255, written into x.
void fill_images(const ImageSet& set, const int32_t* idx, int64_t n, const CgVariablePtr& x) {
  float* dst = x->variable()->cast_data_and_get_pointer<float>(kCtx, true);
  const float scale = 1.0f / 255.0f;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* src = set.pixels.data() + static_cast<int64_t>(idx[i]) * kPixels;
    for (int p = 0; p < kPixels; ++p) dst[i * kPixels + p] = src[p] * scale;
  }
}

// Consecutive indices first..first+n-1.
std::vector<int32_t> range_indices(int64_t first, int64_t n) {
  std::vector<int32_t> idx(n);
  std::iota(idx.begin(), idx.end(), static_cast<int32_t>(first));
  return idx;
}

void check_model_size(int latent, int hidden) {
  if (latent < 1 || hidden < 1)
    throw std::invalid_argument("latent and hidden sizes must be >= 1, got latent " + std::to_string(latent) +
                                " and hidden " + std::to_string(hidden));
}

void report(const ProgressFn& progress, int64_t done, int64_t total) {
  if (progress && progress(done, total)) throw std::runtime_error("interrupted");
}

}  // namespace

ImageSet::ImageSet(std::vector<uint8_t> px, int64_t n) : pixels(std::move(px)), count(n) {
  if (n < 0 || static_cast<int64_t>(pixels.size()) != n * kPixels)
    throw std::invalid_argument("ImageSet: " + std::to_string(pixels.size()) + " bytes do not make " +
                                std::to_string(n) + " images of 28x28");
}

// ---------------------------------------------------------------------------
// The model

CgVariablePtr build_decoder(CgVariablePtr z, ParameterDirectory parameters, int hidden) {
  // Fully connected layers, and Elu replaced from original Softplus.
  auto h3 = f::elu(pf::affine(z, 1, hidden, parameters["fc3"]), 1.0);
  auto h4 = f::elu(pf::affine(h3, 1, hidden, parameters["fc4"]), 1.0);
  return pf::affine(h4, 1, kPixels, parameters["fc5"]);  // (N, 784) logits
}

VaeNet build_vae(CgVariablePtr xa, ParameterDirectory parameters, int latent, int hidden) {
  check_model_size(latent, hidden);
  const Shape_t& sx = xa->shape();
  if (sx.size() != 4 || sx[1] != 1 || sx[2] != kRows || sx[3] != kCols)
    throw std::invalid_argument("build_vae: the input must be (B, 1, 28, 28), got " + shape_str(sx));
  const int batch = static_cast<int>(sx[0]);
  std::vector<int> shape_z{batch, latent};
  std::vector<int> shape_pb{batch, 1, kRows, kCols};

  auto [mu, logvar] = build_encoder(xa, parameters, latent, hidden);
  auto sigma = f::exp(logvar * 0.5);

  // The reparameterization trick. The tutorial passes seed 706: a static
  // graph then keeps one generator in the node that advances every step, but
  // a dynamic graph makes a new node (re-seeded with 706) every step and would
  // repeat the same epsilon forever. Seed -1 draws from the global generator
  // in both modes, which the trainer owns (GlobalGeneratorScope): both modes
  // give the same numbers and one generator state is all a checkpoint needs.
  auto epsilon = f::randn(0.0, 1.0, shape_z, -1);
  auto z = mu + sigma * epsilon;

  auto h5 = build_decoder(z, parameters, hidden);
  auto prob = f::reshape(h5, shape_pb, true);

  // Binarized input
  auto xb = f::greater_equal_scalar(xa, 0.5);
  // E_q(z|x)[log(q(z|x))] without the constant terms that cancel in the sum.
  auto logqz = 0.5 * f::sum(1.0 + logvar, {1}, false);
  // E_q(z|x)[log(p(z))] likewise (with the sign flipped: both terms are the KL).
  auto logpz = 0.5 * f::sum(mu * mu + sigma * sigma, {1}, false);
  // −E_q(z|x)[log(p(x|z))]: Bernoulli cross-entropy over the 784 pixels.
  auto logpx = f::sum(f::sigmoid_cross_entropy(prob, xb), {1, 2, 3}, false);
  // The VAE loss, the negative evidence lower bound, averaged over the batch.
  auto loss = f::mean(logpx + logpz - logqz, {0}, false);
  return {xa, mu, logvar, epsilon, z, prob, loss};
}

std::vector<std::pair<std::string, Shape_t>> vae_parameter_shapes(int latent, int hidden) {
  const int64_t L = latent, H = hidden, P = kPixels;
  const std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> layers{
      {"fc1", {P, H}}, {"fc2", {H, H}}, {"fc_mu", {H, L}}, {"fc_logvar", {H, L}},
      {"fc3", {L, H}}, {"fc4", {H, H}}, {"fc5", {H, P}}};
  std::vector<std::pair<std::string, Shape_t>> out;
  for (auto& [name, io] : layers) {
    out.push_back({name + "/affine/W", {io.first, io.second}});
    out.push_back({name + "/affine/b", {io.second}});
  }
  return out;
}

void check_vae_parameters(ParameterDirectory parameters, int latent, int hidden) {
  check_model_size(latent, hidden);
  std::string problems;
  for (auto& [name, shape] : vae_parameter_shapes(latent, hidden)) {
    auto v = parameters.get_parameter(name);
    if (!v)
      problems += "; " + name + " missing (expected " + shape_str(shape) + ")";
    else if (v->shape() != shape)
      problems += "; " + name + " is " + shape_str(v->shape()) + ", expected " + shape_str(shape);
  }
  if (!problems.empty())
    throw std::invalid_argument("the parameters do not fit the VAE (latent " + std::to_string(latent) + ", hidden " +
                                std::to_string(hidden) + "): " + problems.substr(2));
}

void create_vae_parameters(ParameterDirectory parameters, int latent, int hidden) {
  // Building a one-image graph creates every parameter; nothing is computed.
  AutoForwardScope off(false);
  auto x = std::make_shared<CgVariable>(Shape_t{1, 1, kRows, kCols}, false);
  build_vae(x, parameters, latent, hidden);
}

std::string format_monitor_line(const MonitorRecord& r) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "iter: %lld, tloss: %f, vloss: %f", static_cast<long long>(r.iteration),
                r.train_loss, r.val_loss);
  return buf;
}

// ---------------------------------------------------------------------------
// Training

namespace {
// Redraws every parameter of layer L from U(±1/sqrt(n_in)), n_in being the
// rows of L's W: (n_in, n_out); b: (n_out).
void reinitialize_fan_in(ParameterDirectory parameters) {
  for (auto& [name, var] : parameters.get_parameters()) {
    auto w = parameters.get_parameter(name.substr(0, name.rfind('/')) + "/W");
    const float lim = 1.0f / std::sqrt(static_cast<float>(w->shape()[0]));
    UniformInitializer(-lim, lim).initialize(var->data());
  }
}
}  // namespace

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
    if (config_.init == "fan-in") reinitialize_fan_in(params_);
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

double VaeTrainer::validation_loss() {
  // Consecutive test batches, continuing where the last monitor stopped.
  const int64_t B = config_.batch_size;
  std::vector<int32_t> idx(B);
  double sum = 0;
  for (int b = 0; b < config_.validation_batches; ++b) {
    for (int64_t i = 0; i < B; ++i) idx[i] = static_cast<int32_t>((state_.val_cursor + i) % test_.count);
    state_.val_cursor = (state_.val_cursor + B) % test_.count;
    sum += forward(idx, test_, nullptr);
  }
  return sum / config_.validation_batches;
}

TrainResult VaeTrainer::train(int64_t until, const MonitorFn& on_monitor, const StopFn& should_stop) {
  until = std::min(until, config_.iterations);
  GlobalGeneratorScope scope(noise_gen_);
  std::vector<int32_t> idx;
  while (state_.iteration < until) {
    if (should_stop && should_stop()) return {StopReason::stopped, state_.iteration, 0};
    next_batch_indices(idx);
    // The tutorial's step: zero_grad, forward, grad = 1, backward, update.
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

// ---------------------------------------------------------------------------
// Evaluation

double negative_elbo(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images, int batch_size,
                     uint32_t seed, const ProgressFn& progress) {
  check_vae_parameters(parameters, latent, hidden);
  if (images.count < 1) throw std::invalid_argument("negative_elbo: no images");
  if (batch_size < 1) throw std::invalid_argument("negative_elbo: batch size must be >= 1");
  Generator gen(seed);
  GlobalGeneratorScope scope(gen);
  AutoForwardScope off(false);
  // One graph for the full batches and one for the remainder; the loss is a
  // batch mean, so each batch counts with its size.
  VaeNet full, rest;
  double total = 0;
  for (int64_t first = 0; first < images.count; first += batch_size) {
    const int64_t n = std::min<int64_t>(batch_size, images.count - first);
    VaeNet& net = n == batch_size ? full : rest;
    if (!net.loss || net.x->shape()[0] != n) {
      auto x = std::make_shared<CgVariable>(Shape_t{n, 1, kRows, kCols}, false);
      net = build_vae(x, parameters, latent, hidden);
    }
    auto idx = range_indices(first, n);
    fill_images(images, idx.data(), n, net.x);
    net.loss->forward(true, false);
    total += static_cast<double>(scalar_value(net.loss)) * n;
    report(progress, first + n, images.count);
  }
  return total / images.count;
}

double importance_weighted_nll(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images, int k,
                               uint32_t seed, const ProgressFn& progress) {
  check_vae_parameters(parameters, latent, hidden);
  if (images.count < 1) throw std::invalid_argument("importance_weighted_nll: no images");
  if (k < 1) throw std::invalid_argument("importance_weighted_nll: k must be >= 1, got " + std::to_string(k));
  Generator gen(seed);
  GlobalGeneratorScope scope(gen);
  AutoForwardScope off(false);
  // About 2000 decoded rows per batch: B images times k samples each.
  const int64_t per_batch = std::max<int64_t>(1, 2000 / k);
  double total = 0;
  for (int64_t first = 0; first < images.count; first += per_batch) {
    const int B = static_cast<int>(std::min<int64_t>(per_batch, images.count - first));
    const int L = latent;
    auto xa = std::make_shared<CgVariable>(Shape_t{B, 1, kRows, kCols}, false);
    auto idx = range_indices(first, B);
    fill_images(images, idx.data(), B, xa);

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
    report(progress, first + B, images.count);
  }
  return total / images.count;
}

void encode(ParameterDirectory parameters, int latent, int hidden, const ImageSet& images, std::vector<float>& mu_out,
            std::vector<float>& logvar_out) {
  check_vae_parameters(parameters, latent, hidden);
  AutoForwardScope off(false);
  mu_out.assign(images.count * latent, 0.f);
  logvar_out.assign(images.count * latent, 0.f);
  const int64_t chunk = 1000;
  for (int64_t first = 0; first < images.count; first += chunk) {
    const int64_t n = std::min(chunk, images.count - first);
    auto x = std::make_shared<CgVariable>(Shape_t{n, 1, kRows, kCols}, false);
    auto idx = range_indices(first, n);
    fill_images(images, idx.data(), n, x);
    auto [mu, logvar] = build_encoder(x, parameters, latent, hidden);
    mu->forward(false, false);
    logvar->forward(false, false);
    const float* m = mu->variable()->cast_data_and_get_pointer<float>(kCtx);
    const float* v = logvar->variable()->cast_data_and_get_pointer<float>(kCtx);
    std::copy(m, m + n * latent, mu_out.begin() + first * latent);
    std::copy(v, v + n * latent, logvar_out.begin() + first * latent);
  }
}

std::vector<float> decode(ParameterDirectory parameters, int latent, int hidden, const std::vector<float>& z_in) {
  check_vae_parameters(parameters, latent, hidden);
  check_model_size(latent, hidden);
  if (z_in.size() % latent != 0)
    throw std::invalid_argument("decode: " + std::to_string(z_in.size()) + " values are not rows of latent size " +
                                std::to_string(latent));
  AutoForwardScope off(false);
  const int64_t count = static_cast<int64_t>(z_in.size()) / latent;
  std::vector<float> out(count * kPixels);
  const int64_t chunk = 1000;
  for (int64_t first = 0; first < count; first += chunk) {
    const int64_t n = std::min(chunk, count - first);
    auto z = std::make_shared<CgVariable>(Shape_t{n, latent}, false);
    std::copy(z_in.begin() + first * latent, z_in.begin() + (first + n) * latent,
              z->variable()->cast_data_and_get_pointer<float>(kCtx, true));
    auto p = f::sigmoid(build_decoder(z, parameters, hidden));
    p->forward(true, false);
    const float* src = p->variable()->cast_data_and_get_pointer<float>(kCtx);
    std::copy(src, src + n * kPixels, out.begin() + first * kPixels);
  }
  return out;
}

}  // namespace vae
}  // namespace nnvae
