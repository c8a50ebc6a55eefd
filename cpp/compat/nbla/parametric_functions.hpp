// nbla::parametric_functions and ParameterDirectory: nnvae's (pf::affine
// creates "affine/W" and "affine/b" under the directory's scope).
#pragma once
#include <nbla/context.hpp>
#include <nnvae/parameter.hpp>
#include <nnvae/parametric_functions.hpp>
