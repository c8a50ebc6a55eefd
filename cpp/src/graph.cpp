#include "nnvae/graph.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
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
std::map<std::string, profiling::Entry>& profile_entries() {
  static std::map<std::string, profiling::Entry> entries;
  return entries;
}

// Runs `call`, timing it under `fn`'s name when profiling is on.
template <class Call>
void timed(const Function& fn, bool backward, Call&& call) {
  if (!g_profiling) {
    call();
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  call();
  profiling::record(fn.name(), backward,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void run_forward(const CgFunction& fn, Variable* out) {
  check_inputs_alive(fn);
  timed(*fn.function, false, [&] { fn.function->forward(input_variables(fn), out); });
}

// Whether each variable in `order` gets a gradient: leaves as they say,
// outputs when any input does.
std::unordered_map<CgVariable*, bool> gradient_flags(const std::vector<CgVariable*>& order) {
  std::unordered_map<CgVariable*, bool> need;
  for (CgVariable* v : order) {
    auto parent = v->parent();
    bool n = false;
    if (!parent || parent->inputs.empty()) {
      // Leaves, and outputs of sources (randn, rand, constant) the user
      // explicitly marked need_grad: their gradient is asked for by name.
      n = v->need_grad();
    } else {
      for (auto& in : parent->inputs) n = n || need[in.get()];
    }
    need[v] = n;
  }
  return need;
}
}  // namespace

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
  auto order = topological_order(this);
  // Position of the last function that reads each variable.
  std::unordered_map<CgVariable*, size_t> last_use;
  for (size_t k = 0; k < order.size(); ++k)
    if (auto p = order[k]->parent())
      for (auto& in : p->inputs) last_use[in.get()] = k;

  // Which data backward will read (only asked for with clear_no_need_grad).
  std::unordered_set<CgVariable*> needed_by_backward;
  if (clear_no_need_grad && !clear_buffer) {
    auto need = gradient_flags(order);
    for (CgVariable* v : order) {
      auto p = v->parent();
      if (!p || !need[v]) continue;
      if (p->function->backward_needs_output_data()) needed_by_backward.insert(v);
      for (size_t i = 0; i < p->inputs.size(); ++i)
        if (p->function->backward_needs_input_data(static_cast<int>(i)))
          needed_by_backward.insert(p->inputs[i].get());
    }
  }

  for (size_t k = 0; k < order.size(); ++k) {
    CgVariable* v = order[k];
    auto p = v->parent();
    if (!p) continue;
    run_forward(*p, v->variable().get());
    if (!clear_buffer && !clear_no_need_grad) continue;
    for (auto& in : p->inputs) {
      CgVariable* u = in.get();
      if (!u->parent() || u == this || u->persistent() || last_use[u] != k) continue;
      if (clear_buffer || !needed_by_backward.count(u)) u->variable()->data()->clear();
    }
  }
}

void CgVariable::backward(NdArrayPtr grad, bool clear_buffer) {
  auto order = topological_order(this);
  auto need = gradient_flags(order);
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
  if (!need[this]) return;

  // Intermediate gradients are written by the first function that reaches
  // them and added to by the rest; leaves always accumulate.
  std::unordered_set<CgVariable*> written{this};
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    CgVariable* v = *it;
    auto p = v->parent();
    if (!p) continue;
    if (need[v]) {
      if (!written.count(v)) v->variable()->grad()->zero();
      size_t n = p->inputs.size();
      std::vector<bool> propagate(n), accumulate(n);
      for (size_t i = 0; i < n; ++i) {
        CgVariable* u = p->inputs[i].get();
        propagate[i] = need[u];
        if (propagate[i] && !p->function->differentiable(static_cast<int>(i)))
          throw std::invalid_argument(p->function->name() + " has no gradient with respect to input " +
                                      std::to_string(i) + " (shape " + shape_str(u->shape()) +
                                      "), but that input needs one; set need_grad=false on it or "
                                      "take it out of the path to the loss");
        bool seen_earlier = false;
        for (size_t j = 0; j < i; ++j) seen_earlier = seen_earlier || (propagate[j] && p->inputs[j].get() == u);
        accumulate[i] = !u->parent() || written.count(u) || seen_earlier;
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
      timed(*p->function, true,
            [&] { p->function->backward(input_variables(*p), v->variable().get(), propagate, accumulate); });
      for (size_t i = 0; i < n; ++i)
        if (propagate[i]) written.insert(p->inputs[i].get());
    }
    if (clear_buffer && v != this && !v->persistent()) {
      v->variable()->data()->clear();
      v->variable()->grad()->clear();
    }
  }
}

}  // namespace nnvae
