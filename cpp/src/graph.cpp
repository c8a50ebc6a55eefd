#include "nnvae/graph.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace nnvae {

namespace {
std::atomic<bool> g_auto_forward{false};
// -1: follow g_auto_forward; 0 / 1: this thread's ThreadAutoForwardScope.
thread_local int t_auto_forward = -1;

// Variables reachable from `root`, each after the variables it is computed from.
std::vector<CgVariable*> topological_order(CgVariable* root) {
  std::vector<CgVariable*> order;
  std::unordered_set<CgVariable*> done, on_stack;
  // Iterative depth-first search: (variable, index of the next input to visit).
  std::vector<std::pair<CgVariable*, size_t>> stack{{root, 0}};
  on_stack.insert(root);
  while (!stack.empty()) {
    auto& [v, next] = stack.back();
    auto parent = v->parent();
    if (parent && next < parent->inputs.size()) {
      CgVariable* in = parent->inputs[next++].get();
      if (!done.count(in) && !on_stack.count(in)) {
        on_stack.insert(in);
        stack.push_back({in, 0});
      }
      continue;
    }
    done.insert(v);
    on_stack.erase(v);
    order.push_back(v);
    stack.pop_back();
  }
  return order;
}

std::vector<Variable*> input_variables(const CgFunction& fn) {
  std::vector<Variable*> xs;
  xs.reserve(fn.inputs.size());
  for (auto& in : fn.inputs) xs.push_back(in->variable().get());
  return xs;
}

// Forward reads every input; backward only those it says it needs.
void check_inputs_alive(const CgFunction& fn, bool for_backward = false) {
  for (size_t i = 0; i < fn.inputs.size(); ++i) {
    auto& data = *fn.inputs[i]->variable()->data();
    if (for_backward && !fn.function->backward_needs_input_data(static_cast<int>(i))) continue;
    if (data.cleared())
      throw std::invalid_argument(fn.function->name() + ": input " + std::to_string(i) + " (shape " +
                                  shape_str(data.shape()) +
                                  ") was freed by clear_buffer; run forward from its source again "
                                  "or keep it with set_persistent(true)");
  }
}

bool g_profiling = false;
std::atomic<bool> g_fusion{true};
std::map<std::string, profiling::Entry>& profile_entries() {
  static std::map<std::string, profiling::Entry> entries;
  return entries;
}

// Runs `call`, timing it under `fn`'s name (with `fused`'s, a fused pair:
// "affine+elu") when profiling is on.
template <class Call>
void timed(const Function& fn, bool backward, Call&& call, const Function* fused = nullptr) {
  if (!g_profiling) {
    call();
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  call();
  profiling::record(fused ? fn.name() + "+" + fused->name() : fn.name(), backward,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void run_forward(const CgFunction& fn, Variable* out) {
  check_inputs_alive(fn);
  timed(*fn.function, false, [&] { fn.function->forward(input_variables(fn), out); });
}

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

// Bumped whenever a graph may have changed (a parent or a need_grad set):
// a plan made at an older epoch is made again.
std::atomic<uint64_t> g_graph_epoch{1};
}  // namespace

// What forward and backward need to know about the graph behind a variable,
// all of it fixed while the graph is: its variables in topological order (the
// variable itself last), and per position in that order its function's
// inputs (as positions), the last position whose function reads it, whether
// it gets a gradient and whether backward reads its data.
//
// Fusion candidates, by graph shape (whether they fuse is decided when they
// run: fusion switched on, the consumer offering an epilogue, gradients
// wanted): fuse_forward[k] when the function at k+1 is elementwise on the
// output at k alone and the function at k accepts a forward epilogue;
// grad_fuse[k] = the position of a variable z whose function (elementwise,
// one input y) can run as the epilogue of the backward at k, because that
// function reads z once, as its input grad_fuse_input[k], is the last
// writer of z's gradient (z's other readers come later in the order, so
// their backward ran before), accepts an epilogue on that input's gradient,
// and does not read y (the epilogue writes y's gradient while it runs).
struct ExecutionPlan {
  uint64_t epoch = 0;
  std::vector<CgVariable*> order;
  std::vector<std::vector<size_t>> inputs;
  std::vector<size_t> last_use;
  std::vector<char> need, needed_by_backward;
  std::vector<char> fuse_forward;
  std::vector<size_t> grad_fuse;
  std::vector<int> grad_fuse_input;
};

namespace {
// A function of one input, reading it elementwise: one that may offer an epilogue.
bool single_input(const CgFunction& fn) { return fn.inputs.size() == 1 && !fn.function->shares_input_buffer(); }

void plan_fusion(ExecutionPlan& plan) {
  const auto& order = plan.order;
  const size_t n = order.size();
  plan.fuse_forward.assign(n, 0);
  plan.grad_fuse.assign(n, SIZE_MAX);
  plan.grad_fuse_input.assign(n, -1);
  // The first reader of each variable in the order: its gradient's last writer.
  std::vector<size_t> first_reader(n, SIZE_MAX);
  for (size_t k = 0; k < n; ++k)
    for (size_t j : plan.inputs[k])
      if (first_reader[j] == SIZE_MAX) first_reader[j] = k;
  for (size_t k = 0; k + 1 < n; ++k) {
    auto p = order[k]->parent(), q = order[k + 1]->parent();
    if (p && q && single_input(*q) && plan.inputs[k + 1][0] == k && p->function->accepts_forward_epilogue())
      plan.fuse_forward[k] = 1;
  }
  for (size_t z = 0; z < n; ++z) {
    auto q = order[z]->parent();
    const size_t a = first_reader[z];
    if (!q || !single_input(*q) || a == SIZE_MAX) continue;
    const auto& p = *order[a]->parent();
    const size_t y = plan.inputs[z][0];
    int input = -1, times = 0;
    bool reads_y = false;
    for (size_t i = 0; i < p.inputs.size(); ++i) {
      if (plan.inputs[a][i] == z) input = static_cast<int>(i), ++times;
      reads_y = reads_y || plan.inputs[a][i] == y ||
                p.inputs[i]->variable()->grad() == order[y]->variable()->grad();
    }
    if (times != 1 || reads_y || plan.grad_fuse[a] != SIZE_MAX || !p.function->accepts_grad_epilogue(input)) continue;
    plan.grad_fuse[a] = z;
    plan.grad_fuse_input[a] = input;
  }
}
}  // namespace

const ExecutionPlan& CgVariable::plan() {
  const uint64_t epoch = g_graph_epoch.load();
  if (plan_ && plan_->epoch == epoch) return *plan_;
  auto plan = std::make_unique<ExecutionPlan>();
  plan->epoch = epoch;
  plan->order = topological_order(this);
  const auto& order = plan->order;
  const size_t n = order.size();
  std::unordered_map<CgVariable*, size_t> position;
  for (size_t k = 0; k < n; ++k) position[order[k]] = k;
  plan->inputs.resize(n);
  plan->last_use.assign(n, SIZE_MAX);
  plan->need.assign(n, 0);
  plan->needed_by_backward.assign(n, 0);
  for (size_t k = 0; k < n; ++k) {
    auto parent = order[k]->parent();
    if (parent)
      for (auto& in : parent->inputs) {
        const size_t j = position.at(in.get());
        plan->inputs[k].push_back(j);
        plan->last_use[j] = k;
      }
    // A gradient: leaves, and outputs of sources (randn, rand, constant) the
    // user explicitly marked need_grad, as they say; outputs when any input
    // gets one.
    bool need = false;
    if (!parent || parent->inputs.empty())
      need = order[k]->need_grad();
    else
      for (size_t j : plan->inputs[k]) need = need || plan->need[j];
    plan->need[k] = need;
    if (!parent || !need) continue;
    if (parent->function->backward_needs_output_data()) plan->needed_by_backward[k] = 1;
    for (size_t i = 0; i < parent->inputs.size(); ++i)
      if (parent->function->backward_needs_input_data(static_cast<int>(i)))
        plan->needed_by_backward[plan->inputs[k][i]] = 1;
  }
  plan_fusion(*plan);
  plan_ = std::move(plan);
  return *plan_;
}

void CgVariable::set_need_grad(bool need_grad) {
  if (need_grad != need_grad_) ++g_graph_epoch;
  need_grad_ = need_grad;
}

void CgVariable::set_parent(CgFunctionPtr parent) {
  ++g_graph_epoch;
  parent_ = std::move(parent);
}

CgVariable::CgVariable(Shape_t shape, bool need_grad)
    : variable_(std::make_shared<Variable>(std::move(shape))), need_grad_(need_grad) {}

CgVariable::CgVariable(VariablePtr variable, bool need_grad)
    : variable_(std::move(variable)), need_grad_(need_grad) {
  if (!variable_) throw std::invalid_argument("CgVariable: the variable is null");
}

CgVariable::~CgVariable() {
  // Default destruction recurses (variable -> its function -> the inputs ->
  // their functions ...). Instead, take over every function that only this
  // chain still holds, detaching its inputs' parents before it is freed.
  std::vector<CgFunctionPtr> pending;
  if (parent_) pending.push_back(std::move(parent_));
  while (!pending.empty()) {
    CgFunctionPtr fn = std::move(pending.back());
    pending.pop_back();
    if (fn.use_count() != 1) continue;  // still used elsewhere: dropping our reference is all
    for (auto& in : fn->inputs) {
      if (!in || !in->parent_) continue;
      // Owned by nothing but this function (x * x lists x twice)?
      long refs = std::count(fn->inputs.begin(), fn->inputs.end(), in);
      if (in.use_count() == refs) pending.push_back(std::move(in->parent_));
    }
  }  // each fn is freed here, with inputs that no longer own a parent
}

CgVariablePtr make_parameter(Shape_t shape, bool need_grad) {
  return std::make_shared<CgVariable>(std::move(shape), need_grad);
}

void set_auto_forward(bool on) { g_auto_forward = on; }
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

namespace profiling {
void set_enabled(bool on) { g_profiling = on; }
bool enabled() { return g_profiling; }
void reset() { profile_entries().clear(); }
void record(const std::string& name, bool backward, double seconds) {
  Entry& e = profile_entries()[name];
  e.name = name;
  (backward ? e.backward_seconds : e.forward_seconds) += seconds;
  ++(backward ? e.backward_calls : e.forward_calls);
}
std::vector<Entry> report() {
  std::vector<Entry> out;
  for (auto& kv : profile_entries()) out.push_back(kv.second);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.forward_seconds + a.backward_seconds > b.forward_seconds + b.backward_seconds;
  });
  return out;
}
}  // namespace profiling
bool get_auto_forward() { return t_auto_forward >= 0 ? t_auto_forward == 1 : g_auto_forward.load(); }

ThreadAutoForwardScope::ThreadAutoForwardScope(bool on) : saved_(t_auto_forward) { t_auto_forward = on ? 1 : 0; }
ThreadAutoForwardScope::~ThreadAutoForwardScope() { t_auto_forward = saved_; }

CgVariablePtr connect(std::unique_ptr<Function> function, std::vector<CgVariablePtr> inputs) {
  std::vector<Shape_t> shapes;
  bool need_grad = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i])
      throw std::invalid_argument(function->name() + ": input " + std::to_string(i) + " is null");
    shapes.push_back(inputs[i]->shape());
    need_grad = need_grad || inputs[i]->need_grad();
  }
  Shape_t out_shape = function->setup(shapes);
  auto fn = std::make_shared<CgFunction>();
  fn->function = std::move(function);
  fn->inputs = std::move(inputs);
  auto out = std::make_shared<CgVariable>(out_shape, need_grad);
  out->set_parent(fn);
  if (get_auto_forward()) run_forward(*fn, out->variable().get());
  return out;
}

void CgVariable::forward(bool clear_buffer, bool clear_no_need_grad) {
  const ExecutionPlan& plan = this->plan();
  const auto& order = plan.order;
  const bool fusion = g_fusion.load();
  bool ran_fused = false;  // the function at k ran as the epilogue of the one at k - 1
  for (size_t k = 0; k < order.size(); ++k) {
    CgVariable* v = order[k];
    auto p = v->parent();
    if (!p) continue;
    if (ran_fused) {
      ran_fused = false;
    } else if (fusion && plan.fuse_forward[k]) {
      // The next function, elementwise on v, as the finish of this one.
      check_inputs_alive(*p);
      CgVariable* z = order[k + 1];
      const auto& q = *z->parent();
      const kernels::Epilogue* ep = q.function->forward_epilogue(input_variables(q), z->variable().get());
      if (ep) {
        timed(
            *p->function, false, [&] { p->function->forward_with(input_variables(*p), v->variable().get(), *ep); },
            q.function.get());
        ran_fused = true;
      } else {
        run_forward(*p, v->variable().get());
      }
    } else {
      run_forward(*p, v->variable().get());
    }
    if (!clear_buffer && !clear_no_need_grad) continue;
    // Inputs no later function reads: freed (clear_no_need_grad: unless
    // backward reads them).
    for (size_t j : plan.inputs[k]) {
      CgVariable* u = order[j];
      if (!u->parent() || u == this || u->persistent() || plan.last_use[j] != k) continue;
      if (clear_buffer || !plan.needed_by_backward[j]) u->variable()->data()->clear();
    }
  }
}

void CgVariable::backward(NdArrayPtr grad, bool clear_buffer) {
  const ExecutionPlan& plan = this->plan();
  const auto& order = plan.order;
  const auto& need = plan.need;
  auto root_grad = variable_->grad();
  if (grad) {
    if (grad->size() != root_grad->size())
      throw std::invalid_argument("backward: grad of shape " + shape_str(grad->shape()) +
                                  " does not fit the variable's shape " + shape_str(shape()));
    const float* src = grad->read("backward: the given grad");
    std::copy(src, src + grad->size(), root_grad->write());
  } else if (!root_grad->allocated()) {
    throw std::invalid_argument("backward: the grad of the variable of shape " + shape_str(shape()) +
                                " was never set; fill it first (variable()->grad()->fill(1)) or pass "
                                "a grad array");
  }
  if (!need.back()) return;  // this variable, last in the order

  // Intermediate gradients are written by the first function that reaches
  // them and added to by the rest. Leaves accumulate across backward calls,
  // except into a gradient that holds only zeros it has not written yet
  // (never written, or zeroed by the solver's zero_grad): there the first
  // writer writes, which spares a pass of zeros over every parameter.
  std::vector<char> written(order.size(), 0);
  written.back() = 1;
  // Positions whose function's backward already ran as an epilogue.
  std::vector<char> fused(order.size(), 0);
  const bool fusion = g_fusion.load();
  for (size_t k = order.size(); k-- > 0;) {
    CgVariable* v = order[k];
    auto p = v->parent();
    if (!p) continue;
    const std::vector<size_t>& pos = plan.inputs[k];
    if (need[k] && !fused[k]) {
      if (!written[k]) v->variable()->grad()->zero();
      size_t n = p->inputs.size();
      std::vector<bool> propagate(n), accumulate(n);
      for (size_t i = 0; i < n; ++i) {
        CgVariable* u = p->inputs[i].get();
        propagate[i] = need[pos[i]];
        if (propagate[i] && !p->function->differentiable(static_cast<int>(i)))
          throw std::invalid_argument(p->function->name() + " has no gradient with respect to input " +
                                      std::to_string(i) + " (shape " + shape_str(u->shape()) +
                                      "), but that input needs one; set need_grad=false on it or "
                                      "take it out of the path to the loss");
        bool seen_earlier = false;
        for (size_t j = 0; j < i; ++j) seen_earlier = seen_earlier || (propagate[j] && pos[j] == pos[i]);
        accumulate[i] = written[pos[i]] || seen_earlier ||
                        (!u->parent() && !u->variable()->grad()->reads_as_zero());
      }
      // Outputs that were never computed (no forward since the graph was
      // built) would back-propagate from zeros without a word.
      auto& out_data = *v->variable()->data();
      if (!out_data.allocated() && !out_data.cleared())
        throw std::invalid_argument("backward: the output of " + p->function->name() + " (shape " +
                                    shape_str(v->shape()) + ")" + (v == this ? ", the variable backward was called on," : "") +
                                    " was never computed; call forward() on the graph first");
      for (size_t i = 0; i < p->inputs.size(); ++i) {
        auto& u = p->inputs[i];
        auto& in_data = *u->variable()->data();
        if (u->parent() && p->function->backward_needs_input_data(static_cast<int>(i)) && !in_data.allocated() &&
            !in_data.cleared())
          throw std::invalid_argument("backward: input " + std::to_string(i) + " of " + p->function->name() +
                                      " (the output of " + u->parent()->function->name() + ", shape " +
                                      shape_str(u->shape()) + ") was never computed; call forward() first");
      }
      check_inputs_alive(*p, true);
      if (p->function->backward_needs_output_data() && v->variable()->data()->cleared())
        throw std::invalid_argument(p->function->name() + ": its output (shape " + shape_str(v->shape()) +
                                    ") was freed by clear_buffer; backward needs it");
      // z's function (z = q(y)) as the epilogue of this one's product that
      // writes z's gradient last (plan_fusion), when that product writes it
      // at all and q's backward would run now and pass its checks.
      const size_t z = fusion ? plan.grad_fuse[k] : SIZE_MAX;
      const kernels::Epilogue* ep = nullptr;
      const CgFunction* q = nullptr;
      if (z != SIZE_MAX && propagate[plan.grad_fuse_input[k]]) {
        q = order[z]->parent().get();
        CgVariable* y = q->inputs[0].get();
        if (q->function->differentiable(0) && backward_ready(*q, order[z])) {
          const size_t yk = plan.inputs[z][0];
          const bool acc = written[yk] || (!y->parent() && !y->variable()->grad()->reads_as_zero());
          ep = q->function->backward_epilogue(input_variables(*q), order[z]->variable().get(), acc);
        }
      }
      if (ep) {
        timed(
            *p->function, true,
            [&] {
              p->function->backward_with(input_variables(*p), v->variable().get(), propagate, accumulate,
                                         plan.grad_fuse_input[k], *ep);
            },
            q->function.get());
        written[plan.inputs[z][0]] = 1;
        fused[z] = 1;
      } else {
        timed(*p->function, true,
              [&] { p->function->backward(input_variables(*p), v->variable().get(), propagate, accumulate); });
      }
      for (size_t i = 0; i < n; ++i)
        if (propagate[i]) written[pos[i]] = 1;
    }
    if (clear_buffer && v != this && !v->persistent()) {
      v->variable()->data()->clear();
      v->variable()->grad()->clear();
    }
  }
}

}  // namespace nnvae
