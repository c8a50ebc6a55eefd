// nbla::functions: nnvae's functions (f::elu, f::sum, f::reshape, ...).
#pragma once
#include <nbla/context.hpp>
#include <nnvae/functions.hpp>
