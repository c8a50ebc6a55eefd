// Fusion in the graph executor: the switch, which pairs of a plan may fuse
// (plan_fusion), and running a product with the elementwise function after it
// as its epilogue, forward and backward. The executor loops that call these
// are in graph.cpp.
#include "graph_fusion.hpp"

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace nnvae {

namespace {
std::atomic<bool> g_fusion{true};

// A function of one input, reading it elementwise: one that may offer an epilogue.
bool single_input(const CgFunction& fn) { return fn.inputs.size() == 1 && !fn.function->shares_input_buffer(); }

// Whether backward's checks on `fn` (output v) would pass: its output
// computed (or freed, when backward does not read it), the inputs it reads
// computed and not freed. A fused backward runs only then, so that a graph
// that fails fails at the same function, with the same message, as unfused.
bool backward_ready(const CgFunction& fn, CgVariable* v) {
  const auto& out = *v->variable()->data();
  if (!out.allocated() && !out.cleared()) return false;
  if (fn.function->backward_needs_output_data() && out.cleared()) return false;
  for (size_t i = 0; i < fn.inputs.size(); ++i) {
    if (!fn.function->backward_needs_input_data(static_cast<int>(i))) continue;
    const auto& in = *fn.inputs[i]->variable()->data();
    if (in.cleared() || (fn.inputs[i]->parent() && !in.allocated())) return false;
  }
  return true;
}
}  // namespace

void set_fusion(bool on) { g_fusion = on; }
bool get_fusion() { return g_fusion.load(); }

void Function::forward_with(const std::vector<Variable*>&, Variable*, const kernels::Epilogue&) {
  throw std::logic_error(name() + ": forward_with called, but it accepts no epilogue");
}
void Function::backward_with(const std::vector<Variable*>&, Variable*, const std::vector<bool>&,
                             const std::vector<bool>&, int input, const kernels::Epilogue&) {
  throw std::logic_error(name() + ": backward_with called, but it accepts no epilogue on input " +
                         std::to_string(input) + "'s gradient");
}

namespace detail {

FusionPlan plan_fusion(const std::vector<CgVariable*>& order, const std::vector<std::vector<size_t>>& inputs) {
  FusionPlan plan;
  const size_t n = order.size();
  plan.fuse_forward.assign(n, 0);
  plan.grad_fuse.assign(n, SIZE_MAX);
  plan.grad_fuse_input.assign(n, -1);
  // The first reader of each variable in the order: its gradient's last writer.
  std::vector<size_t> first_reader(n, SIZE_MAX);
  for (size_t k = 0; k < n; ++k)
    for (size_t j : inputs[k])
      if (first_reader[j] == SIZE_MAX) first_reader[j] = k;
  for (size_t k = 0; k + 1 < n; ++k) {
    auto p = order[k]->parent(), q = order[k + 1]->parent();
    if (p && q && single_input(*q) && inputs[k + 1][0] == k && p->function->accepts_forward_epilogue())
      plan.fuse_forward[k] = 1;
  }
  for (size_t z = 0; z < n; ++z) {
    auto q = order[z]->parent();
    const size_t a = first_reader[z];
    if (!q || !single_input(*q) || a == SIZE_MAX) continue;
    const auto& p = *order[a]->parent();
    const size_t y = inputs[z][0];
    int input = -1, times = 0;
    bool reads_y = false;
    for (size_t i = 0; i < p.inputs.size(); ++i) {
      if (inputs[a][i] == z) input = static_cast<int>(i), ++times;
      reads_y = reads_y || inputs[a][i] == y || p.inputs[i]->variable()->grad() == order[y]->variable()->grad();
    }
    if (times != 1 || reads_y || plan.grad_fuse[a] != SIZE_MAX || !p.function->accepts_grad_epilogue(input)) continue;
    plan.grad_fuse[a] = z;
    plan.grad_fuse_input[a] = input;
  }
  return plan;
}

bool forward_fused(const CgFunction& p, CgVariable* v, CgVariable* z) {
  // The next function, elementwise on v, as the finish of this one.
  check_inputs_alive(p);
  const auto& q = *z->parent();
  const kernels::Epilogue* ep = q.function->forward_epilogue(input_variables(q), z->variable().get());
  if (!ep) return false;
  timed(
      *p.function, false, [&] { p.function->forward_with(input_variables(p), v->variable().get(), *ep); },
      q.function.get());
  return true;
}

bool backward_fused(const FusionPlan& fusion, const std::vector<CgVariable*>& order,
                    const std::vector<std::vector<size_t>>& inputs, size_t k, const std::vector<bool>& propagate,
                    const std::vector<bool>& accumulate, std::vector<char>& written, std::vector<char>& fused) {
  // z's function (z = q(y)) as the epilogue of this one's product that
  // writes z's gradient last (plan_fusion), when that product writes it
  // at all and q's backward would run now and pass its checks.
  const size_t z = fusion.grad_fuse[k];
  if (z == SIZE_MAX || !propagate[fusion.grad_fuse_input[k]]) return false;
  CgVariable* v = order[k];
  const CgFunction& p = *v->parent();
  const CgFunction& q = *order[z]->parent();
  CgVariable* y = q.inputs[0].get();
  if (!q.function->differentiable(0) || !backward_ready(q, order[z])) return false;
  const size_t yk = inputs[z][0];
  const bool acc = written[yk] || (!y->parent() && !y->variable()->grad()->reads_as_zero());
  const kernels::Epilogue* ep = q.function->backward_epilogue(input_variables(q), order[z]->variable().get(), acc);
  if (!ep) return false;
  timed(
      *p.function, true,
      [&] {
        p.function->backward_with(input_variables(p), v->variable().get(), propagate, accumulate,
                                  fusion.grad_fuse_input[k], *ep);
      },
      q.function.get());
  written[yk] = 1;
  fused[z] = 1;
  return true;
}

}  // namespace detail
}  // namespace nnvae
