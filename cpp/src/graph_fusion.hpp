// Fusion in the graph executor (private to the engine): which neighbouring
// pairs of a plan may run as one call, a product with an elementwise function
// as its epilogue, and running such a pair forward or backward
// (graph_fusion.cpp). Also the executor's helpers both halves share
// (graph.cpp).
#pragma once
#include <chrono>
#include <cstddef>
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {
namespace detail {

// The data of `fn`'s inputs, in order.
std::vector<Variable*> input_variables(const CgFunction& fn);
// Forward reads every input: throws, naming the function and input, when one
// was freed by clear_buffer. (Backward loses the gradients instead:
// CgVariable::backward.)
void check_inputs_alive(const CgFunction& fn);

// Runs `call`, timing it under `fn`'s name (with `fused`'s, a fused pair:
// "affine+elu") when profiling is on.
template <class Call>
void timed(const Function& fn, bool backward, Call&& call, const Function* fused = nullptr) {
  if (!profiling::enabled()) {
    call();
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  call();
  profiling::record(fused ? fn.name() + "+" + fused->name() : fn.name(), backward,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// Fusion candidates of a plan, by graph shape, per position k in its order
// (whether they fuse is decided when they run: fusion switched on, the
// consumer offering an epilogue, gradients wanted): fuse_forward[k] when the
// function at k+1 is elementwise on the output at k alone and the function at
// k accepts a forward epilogue; grad_fuse[k] = the position of a variable z
// whose function (elementwise, one input y) can run as the epilogue of the
// backward at k, because that function reads z once, as its input
// grad_fuse_input[k], is the last writer of z's gradient (z's other readers
// come later in the order, so their backward ran before), accepts an epilogue
// on that input's gradient, and does not read y (the epilogue writes y's
// gradient while it runs). SIZE_MAX and -1 where none.
struct FusionPlan {
  std::vector<char> fuse_forward;
  std::vector<size_t> grad_fuse;
  std::vector<int> grad_fuse_input;
};

// The candidates of the graph whose variables are `order` (topological, each
// after its inputs) with per position its function's inputs as positions.
FusionPlan plan_fusion(const std::vector<CgVariable*>& order, const std::vector<std::vector<size_t>>& inputs);

// Forward of `p` (output v) with the function computing z (elementwise on v)
// as its epilogue. False, having run nothing, when that function offers no
// epilogue: then each runs on its own.
bool forward_fused(const CgFunction& p, CgVariable* v, CgVariable* z);

// Backward of the function at position k (its gradient flags `propagate`,
// `accumulate`) with the function at fusion.grad_fuse[k] as its epilogue, when
// there is one, its gradient is propagated, and that function's backward
// would run now and pass its checks. Then it marks the epilogue's input's
// gradient in `written` and its position in `fused`, and returns true; else
// it runs nothing and returns false.
bool backward_fused(const FusionPlan& fusion, const std::vector<CgVariable*>& order,
                    const std::vector<std::vector<size_t>>& inputs, size_t k, const std::vector<bool>& propagate,
                    const std::vector<bool>& accumulate, std::vector<char>& written, std::vector<char>& fused);

}  // namespace detail
}  // namespace nnvae
