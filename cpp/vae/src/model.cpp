#include "nnvae/vae/model.hpp"

#include <cmath>
#include <stdexcept>

#include "graph_scopes.hpp"

namespace nnvae {
namespace vae {

namespace f = nnvae::functions;
namespace pf = nnvae::parametric_functions;

namespace {

// Layer indices into vae_layers().
enum { kFc1, kFc2, kFcMu, kFcLogvar, kFc3, kFc4, kFc5 };

CgVariablePtr dense(CgVariablePtr in, const Layer& layer, ParameterDirectory& parameters) {
  return pf::affine(in, 1, static_cast<int>(layer.n_out), parameters[layer.name]);
}

}  // namespace

std::vector<Layer> vae_layers(int latent, int hidden) {
  const int64_t L = latent, H = hidden, P = kPixels;
  return {{"fc1", P, H}, {"fc2", H, H}, {"fc_mu", H, L}, {"fc_logvar", H, L},
          {"fc3", L, H}, {"fc4", H, H}, {"fc5", H, P}};
}

void check_model_size(int latent, int hidden) {
  if (latent < 1 || hidden < 1)
    throw std::invalid_argument("latent and hidden sizes must be >= 1, got latent " + std::to_string(latent) +
                                " and hidden " + std::to_string(hidden));
}

std::pair<CgVariablePtr, CgVariablePtr> build_encoder(CgVariablePtr xa, ParameterDirectory parameters, int latent,
                                                      int hidden) {
  const auto layers = vae_layers(latent, hidden);
  // Fully connected layers, and Elu replaced from original Softplus.
  auto h1 = f::elu(dense(xa, layers[kFc1], parameters), 1.0);
  auto h2 = f::elu(dense(h1, layers[kFc2], parameters), 1.0);
  // The outputs are the parameters of Gauss probability density.
  auto mu = dense(h2, layers[kFcMu], parameters);
  auto logvar = dense(h2, layers[kFcLogvar], parameters);
  return {mu, logvar};
}

CgVariablePtr build_decoder(CgVariablePtr z, ParameterDirectory parameters, int hidden) {
  const auto layers = vae_layers(static_cast<int>(z->shape().back()), hidden);
  // Fully connected layers, and Elu replaced from original Softplus.
  auto h3 = f::elu(dense(z, layers[kFc3], parameters), 1.0);
  auto h4 = f::elu(dense(h3, layers[kFc4], parameters), 1.0);
  return dense(h4, layers[kFc5], parameters);  // (N, 784) logits
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

  // The reparameterization trick. A fixed seed (the tutorial passes 706)
  // would keep one generator in a static graph's node, but a graph rebuilt
  // every step would make a new node re-seeded each time and repeat the same
  // epsilon forever. Seed -1 draws from the global generator in both modes,
  // which the trainer owns (GlobalGeneratorScope): both modes give the same
  // numbers and one generator state is all a checkpoint needs.
  auto epsilon = f::randn(0.0, 1.0, shape_z, -1);
  auto z = mu + sigma * epsilon;

  auto logits = f::reshape(build_decoder(z, parameters, hidden), shape_pb, true);

  // Binarized input
  auto xb = f::greater_equal_scalar(xa, 0.5);
  // KL(q(z|x) || p(z)) = E_q[−log p(z)] − H(q), both without their common
  // constant (latent/2)·log 2π: the entropy H(q) = 1/2 Σ (1 + logvar) ...
  auto entropy_q = 0.5 * f::sum(1.0 + logvar, {1}, false);
  // ... and the cross-entropy E_q[−log p(z)] = 1/2 Σ (mu² + sigma²).
  auto neg_logpz = 0.5 * f::sum(mu * mu + sigma * sigma, {1}, false);
  // −E_q(z|x)[log(p(x|z))]: Bernoulli cross-entropy over the 784 pixels.
  auto neg_logpx = f::sum(f::sigmoid_cross_entropy(logits, xb), {1, 2, 3}, false);
  // The VAE loss, the negative evidence lower bound, averaged over the batch.
  auto loss = f::mean(neg_logpx + neg_logpz - entropy_q, {0}, false);
  return {xa, mu, logvar, epsilon, z, logits, loss};
}

std::vector<std::pair<std::string, Shape_t>> vae_parameter_shapes(int latent, int hidden) {
  std::vector<std::pair<std::string, Shape_t>> out;
  for (const Layer& l : vae_layers(latent, hidden)) {
    out.push_back({l.name + "/affine/W", {l.n_in, l.n_out}});
    out.push_back({l.name + "/affine/b", {l.n_out}});
  }
  return out;
}

void check_vae_parameters(ParameterDirectory parameters, int latent, int hidden) {
  check_model_size(latent, hidden);
  std::string problems;
  const auto expected = vae_parameter_shapes(latent, hidden);
  for (auto& [name, shape] : expected) {
    auto v = parameters.get_parameter(name);
    if (!v)
      problems += "; " + name + " missing (expected " + shape_str(shape) + ")";
    else if (v->shape() != shape)
      problems += "; " + name + " is " + shape_str(v->shape()) + ", expected " + shape_str(shape);
  }
  // Names the model does not have: another model's parameters, or a mix.
  for (auto& [name, var] : parameters.get_parameters()) {
    bool known = false;
    for (auto& e : expected) known = known || e.first == name;
    if (!known) problems += "; unexpected " + name + " " + shape_str(var->shape());
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

void init_fan_in(ParameterDirectory parameters) {
  // n_in is the rows of the layer's W (n_in, n_out); b is (n_out).
  for (auto& [name, var] : parameters.get_parameters()) {
    auto w = parameters.get_parameter(name.substr(0, name.rfind('/')) + "/W");
    const float lim = 1.0f / std::sqrt(static_cast<float>(w->shape()[0]));
    UniformInitializer(-lim, lim).initialize(var->data());
  }
}

}  // namespace vae
}  // namespace nnvae
