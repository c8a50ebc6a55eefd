// nnvae_vae: the VAE built on the engine, its training and evaluation, and
// the MNIST IDX reader.
//
//   #include <nnvae/vae.hpp>
//   using namespace nnvae::vae;
#pragma once
#include "nnvae/vae/config.hpp"
#include "nnvae/vae/evaluate.hpp"
#include "nnvae/vae/idx.hpp"
#include "nnvae/vae/images.hpp"
#include "nnvae/vae/model.hpp"
#include "nnvae/vae/synthetic.hpp"
#include "nnvae/vae/trainer.hpp"
