// The computation graph (nbla::CgVariable, and the operators + - * / on
// CgVariablePtr): nnvae's graph and its operators.
#pragma once
#include <nbla/computation_graph/variable.hpp>
#include <nnvae/functions.hpp>
