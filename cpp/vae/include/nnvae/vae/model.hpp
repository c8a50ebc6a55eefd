// The VAE: a Gaussian encoder q(z|x) and a Bernoulli decoder p(x|z), each two
// ELU hidden layers, written with the engine's functions as the tutorial
// writes them, and its parameters.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nnvae/nnvae.hpp"
#include "nnvae/vae/config.hpp"
#include "nnvae/vae/images.hpp"

namespace nnvae {
namespace vae {

// One affine layer: parameters `name`/affine/W (n_in, n_out) and /b (n_out).
struct Layer {
  std::string name;
  int64_t n_in, n_out;
};

// The model's seven layers in creation order, the one table of its sizes:
// fc1 (784, H), fc2 (H, H), fc_mu (H, L), fc_logvar (H, L), fc3 (L, H),
// fc4 (H, H), fc5 (H, 784) for latent L and hidden H.
std::vector<Layer> vae_layers(int latent, int hidden);

// Throws std::invalid_argument unless latent >= 1 and hidden >= 1.
void check_model_size(int latent, int hidden);

// The nodes of one VAE graph over a batch of B images.
struct VaeNet {
  CgVariablePtr x;        // (B, 1, 28, 28) pixel/255, the input
  CgVariablePtr mu;       // (B, latent)
  CgVariablePtr logvar;   // (B, latent)
  CgVariablePtr epsilon;  // (B, latent) ~ N(0, 1)
  CgVariablePtr z;        // (B, latent) = mu + sigma·epsilon
  CgVariablePtr logits;   // (B, 1, 28, 28) Bernoulli logits of the pixels
  CgVariablePtr loss;     // () mean one-sample negative ELBO, nats per image
};

// The whole model on input x (B, 1, 28, 28), creating or reusing the
// parameters of vae_layers() in `parameters`. epsilon comes from
// randn(..., seed -1), i.e. the global generator, so that a static graph and
// a graph rebuilt every step draw the same numbers.
VaeNet build_vae(CgVariablePtr x, ParameterDirectory parameters, int latent = kTutorialLatent,
                 int hidden = kTutorialHidden);

// The encoder alone: (mu, logvar), each (B, latent), from x (B, ...).
std::pair<CgVariablePtr, CgVariablePtr> build_encoder(CgVariablePtr x, ParameterDirectory parameters, int latent,
                                                      int hidden);

// The decoder alone: logits (N, 784) from z (N, latent).
CgVariablePtr build_decoder(CgVariablePtr z, ParameterDirectory parameters, int hidden = kTutorialHidden);

// Full names and shapes of the model's parameters, in creation order.
std::vector<std::pair<std::string, Shape_t>> vae_parameter_shapes(int latent = kTutorialLatent,
                                                                  int hidden = kTutorialHidden);

// Throws std::invalid_argument listing every parameter of the model that
// `parameters` lacks or holds with another shape (evaluation must never
// create fresh random ones), and every parameter it holds that the model
// does not have.
void check_vae_parameters(ParameterDirectory parameters, int latent = kTutorialLatent, int hidden = kTutorialHidden);

// Creates the parameters in `parameters` (Glorot-uniform W, zero b) drawing
// from the global generator, without computing anything.
void create_vae_parameters(ParameterDirectory parameters, int latent = kTutorialLatent, int hidden = kTutorialHidden);

// Redraws every parameter of each layer, W and b, from U(±1/sqrt(n_in))
// (PyTorch nn.Linear's initialisation) from the global generator, in
// creation order.
void init_fan_in(ParameterDirectory parameters);

}  // namespace vae
}  // namespace nnvae
