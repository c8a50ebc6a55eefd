// The computation graph: variables and the functions between them, building
// (connect), releasing, the execution plan a variable keeps, and the forward
// and backward loops that run it; profiling and the auto-forward switch.
// Which pairs fuse and running a fused pair: graph_fusion.cpp.
#include "nnvae/graph.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "graph_fusion.hpp"

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
}  // namespace

namespace detail {
std::vector<Variable*> input_variables(const CgFunction& fn) {
  std::vector<Variable*> xs;
  xs.reserve(fn.inputs.size());
  for (auto& in : fn.inputs) xs.push_back(in->variable().get());
  return xs;
}

void check_inputs_alive(const CgFunction& fn) {
  for (size_t i = 0; i < fn.inputs.size(); ++i) {
    auto& data = *fn.inputs[i]->variable()->data();
    if (data.cleared())
      throw std::invalid_argument(fn.function->name() + ": input " + std::to_string(i) + " (shape " +
                                  shape_str(data.shape()) +
                                  ") was freed by clear_buffer; run forward from its source again "
                                  "or keep it with set_persistent(true)");
  }
}
}  // namespace detail

using detail::check_inputs_alive;
using detail::input_variables;
using detail::timed;

namespace {
bool g_profiling = false;
std::map<std::string, profiling::Entry>& profile_entries() {
  static std::map<std::string, profiling::Entry> entries;
  return entries;
}

// Leaf gradients an earlier backward lost (see CgVariable::backward), each
// with its array's version then: one is still lost while it stays freed and
// unwritten (zero_grad() or a write changes the version). A leaf that shares
// an intermediate's buffers (CgVariable(variable, need_grad)) may find its
// gradient freed by clear_buffer too; that one was not lost, and backward
// writes it afresh.
std::mutex g_lost_mutex;
std::map<const NdArray*, std::pair<std::weak_ptr<NdArray>, uint64_t>> g_lost;

void remember_lost(const NdArrayPtr& grad) {
  std::lock_guard<std::mutex> lock(g_lost_mutex);
  for (auto it = g_lost.begin(); it != g_lost.end();)
    it = it->second.first.expired() ? g_lost.erase(it) : std::next(it);
  g_lost[grad.get()] = {grad, grad->version()};
}

bool still_lost(const NdArrayPtr& grad) {
  if (!grad->cleared()) return false;
  std::lock_guard<std::mutex> lock(g_lost_mutex);
  auto it = g_lost.find(grad.get());
  return it != g_lost.end() && it->second.first.lock() == grad && it->second.second == grad->version();
}

// Whether fn's backward (for its output v) has the data it reads: the inputs
// and output it needs not freed by clear_buffer.
bool backward_runs(const CgFunction& fn, CgVariable* v) {
  for (size_t i = 0; i < fn.inputs.size(); ++i)
    if (fn.function->backward_needs_input_data(static_cast<int>(i)) && fn.inputs[i]->variable()->data()->cleared())
      return false;
  return !(fn.function->backward_needs_output_data() && v->variable()->data()->cleared());
}

void run_forward(const CgFunction& fn, Variable* out) {
  check_inputs_alive(fn);
  timed(*fn.function, false, [&] { fn.function->forward(input_variables(fn), out); });
}

// Bumped whenever a graph may have changed (a parent or a need_grad set):
// a plan made at an older epoch is made again.
std::atomic<uint64_t> g_graph_epoch{1};
}  // namespace

// What forward and backward need to know about the graph behind a variable,
// all of it fixed while the graph is: its variables in topological order (the
// variable itself last), and per position in that order its function's
// inputs (as positions), the last position whose function reads it, whether
// it gets a gradient and whether backward reads its data; and which
// neighbouring functions may fuse (graph_fusion.hpp).
struct ExecutionPlan {
  uint64_t epoch = 0;
  std::vector<CgVariable*> order;
  std::vector<std::vector<size_t>> inputs;
  std::vector<size_t> last_use;
  std::vector<char> need, needed_by_backward;
  detail::FusionPlan fusion;
};

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
  plan->fusion = detail::plan_fusion(order, plan->inputs);
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
  const bool fusion = get_fusion();
  bool ran_fused = false;  // the function at k ran as the epilogue of the one at k - 1
  for (size_t k = 0; k < order.size(); ++k) {
    CgVariable* v = order[k];
    auto p = v->parent();
    if (!p) continue;
    if (ran_fused) {
      ran_fused = false;
    } else if (fusion && plan.fusion.fuse_forward[k] && detail::forward_fused(*p, v, order[k + 1])) {
      ran_fused = true;
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
  // Gradients backward cannot compute: a function whose backward reads data
  // that clear_buffer freed (an earlier backward(clear_buffer) over a shared
  // part of the graph, or forward(clear_buffer)), or whose output's gradient
  // is itself lost, does not run, and loses the gradients of its inputs
  // instead: they are freed, so that reading one is an error and a solver
  // refuses to update from it, until the next zero_grad() or forward and
  // backward. Gradients that do not depend on it are computed as usual (a
  // GAN's discriminator loss back-propagated into a generator whose buffers
  // the generator's own backward freed). A leaf's gradient freed earlier stays
  // lost: accumulating into it would silently start again from zero.
  std::vector<char> lost(order.size(), 0);
  auto lose = [&](size_t j) {
    lost[j] = 1;
    order[j]->variable()->grad()->clear();
    if (!order[j]->parent()) remember_lost(order[j]->variable()->grad());
  };
  // Positions whose function's backward already ran as an epilogue.
  std::vector<char> fused(order.size(), 0);
  const bool fusion = get_fusion();
  for (size_t k = order.size(); k-- > 0;) {
    CgVariable* v = order[k];
    auto p = v->parent();
    if (!p) continue;
    const std::vector<size_t>& pos = plan.inputs[k];
    if (need[k] && !fused[k] && (lost[k] || !backward_runs(*p, v))) {
      for (size_t j : pos)
        if (need[j]) lose(j);
    } else if (need[k] && !fused[k]) {
      if (!written[k]) v->variable()->grad()->zero();
      size_t n = p->inputs.size();
      std::vector<bool> propagate(n), accumulate(n);
      for (size_t i = 0; i < n; ++i) {
        CgVariable* u = p->inputs[i].get();
        if (need[pos[i]] && !lost[pos[i]] && !u->parent() && still_lost(u->variable()->grad())) lose(pos[i]);
        propagate[i] = need[pos[i]] && !lost[pos[i]];
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
      // The elementwise function whose output's gradient this one writes last,
      // as its epilogue, when they fuse now (graph_fusion.cpp) and the
      // gradient it writes is not lost.
      const size_t z = plan.fusion.grad_fuse[k];
      bool epilogue_lost = false;
      if (z != SIZE_MAX) {
        const size_t y = plan.inputs[z][0];
        if (need[y] && !lost[y] && !order[y]->parent() && still_lost(order[y]->variable()->grad())) lose(y);
        epilogue_lost = lost[y];
      }
      if (!(fusion && !epilogue_lost &&
            detail::backward_fused(plan.fusion, order, plan.inputs, k, propagate, accumulate, written, fused)))
        timed(*p->function, true,
              [&] { p->function->backward(input_variables(*p), v->variable().get(), propagate, accumulate); });
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
