// nbla::CgVariable and CgVariablePtr: nnvae's graph variables.
#pragma once
#include <nbla/context.hpp>
#include <nnvae/graph.hpp>
