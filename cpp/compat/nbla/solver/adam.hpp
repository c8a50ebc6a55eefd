// nbla::create_AdamSolver(ctx, alpha, beta1, beta2, eps): nnvae's Adam, with
// set_parameters(params, reset, retain_state), zero_grad(), update().
#pragma once
#include <nbla/context.hpp>
#include <nnvae/solver.hpp>
