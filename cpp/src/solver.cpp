#include "nnvae/solver.hpp"

#include "nnvae/graph.hpp"  // profiling

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnvae {

namespace {
// NNabla takes any learning rate (NaN and negative ones included); nnvae
// refuses those that cannot train: a step of NaN, inf, 0 or the wrong sign.
void check_learning_rate(const std::string& where, float lr) {
  if (!(lr > 0) || !std::isfinite(lr))
    throw std::invalid_argument(where + ": learning rate must be a finite number > 0, got " + std::to_string(lr));
}
}  // namespace

Solver::Solver(const std::string& name, float lr) : lr_(lr) { check_learning_rate(name, lr); }

void Solver::set_learning_rate(float lr) {
  check_learning_rate(name() + ".set_learning_rate", lr);
  std::lock_guard<std::mutex> lock(mutex_);
  lr_ = lr;
}

void Solver::set_parameters(const std::vector<std::pair<std::string, VariablePtr>>& params, bool reset,
                            bool retain_state) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [name, var] : params)
    if (!var) throw std::invalid_argument("set_parameters: parameter " + name + " is null");
  if (reset) params_.clear();
  for (auto& [name, var] : params) {
    auto known = std::find_if(params_.begin(), params_.end(), [&](const Param& p) { return p.name == name; });
    if (known != params_.end()) {
      if (retain_state && var->shape() != known->var->shape())
        throw std::invalid_argument("set_parameters: parameter " + name + " has shape " + shape_str(var->shape()) +
                                    " but its kept state has shape " + shape_str(known->var->shape()));
      if (known->var != var) {
        known->var = var;
        known->zeroed = false;  // the new variable's gradient was never zeroed here
      }
      if (!retain_state) {
        known->state = State();
        init_state(*known);
      }
      continue;
    }
    Param p;
    p.name = name;
    p.var = var;
    init_state(p);
    params_.push_back(std::move(p));
  }
}

std::vector<std::string> Solver::parameter_names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  for (auto& p : params_) names.push_back(p.name);
  return names;
}

namespace {
// Seconds since t0, added to the profile under `name` when profiling is on.
void profile_since(const char* name, std::chrono::steady_clock::time_point t0) {
  if (profiling::enabled())
    profiling::record(name, false, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// A parameter's gradient that backward lost (freed, see
// CgVariable::backward): an error, not an update from zeros or a skip.
void check_not_lost(const std::string& what, const std::string& name, const NdArray& grad) {
  if (grad.cleared())
    throw std::invalid_argument(what + ": the gradient of parameter " + name + " (shape " + shape_str(grad.shape()) +
                                ") was lost: backward could not compute it, as data it reads was freed by "
                                "clear_buffer; run forward before backward, or keep that data with "
                                "set_persistent(true), or zero_grad() first");
}
}  // namespace

void Solver::zero_grad() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto t0 = std::chrono::steady_clock::now();
  for (auto& p : params_) {
    p.var->grad()->zero();
    p.zeroed_version = p.var->grad()->version();
    p.zeroed = true;
  }
  profile_since("solver zero_grad", t0);
}

void Solver::weight_decay(float rate) {
  if (!std::isfinite(rate))
    throw std::invalid_argument(name() + ".weight_decay: decay_rate must be a finite number, got " +
                                std::to_string(rate));
  std::lock_guard<std::mutex> lock(mutex_);
  if (rate == 0.f) return;
  for (auto& p : params_) check_not_lost("weight_decay", p.name, *p.var->grad());
  for (auto& p : params_) {
    if (untouched(p)) continue;  // as update(): no gradient to decay, and none to create
    const float* w = p.var->data()->read("a parameter");
    float* g = p.var->grad()->write_accumulate(true);
    for (int64_t i = 0; i < p.var->size(); ++i) g[i] += rate * w[i];
  }
}

void Solver::update() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Param*> fresh;
  for (auto& p : params_) {
    check_not_lost("update", p.name, *p.var->grad());
    // Untouched since zero_grad (or never given a gradient at all): skip.
    if (!untouched(p) && p.var->grad()->allocated()) fresh.push_back(&p);
  }
  update_all(fresh);
  profile_since("solver update", t0);
}

// A snapshot: the arrays are copied, so later updates do not change it (its
// step count t is a copy too).
std::map<std::string, Solver::State> Solver::get_states() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, State> out;
  for (auto& p : params_) {
    State& s = out[p.name];
    s.t = p.state.t;
    for (auto& [key, arr] : p.state.arrays) {
      auto copy = std::make_shared<NdArray>(arr->shape());
      const float* src = arr->read("a solver state");
      std::copy(src, src + arr->size(), copy->write());
      s.arrays[key] = copy;
    }
  }
  return out;
}

std::string step_count_out_of_range(const std::string& name, const std::string& t) {
  return "set_states: parameter " + name + ": step count t = " + t + " is outside [0, " +
         std::to_string(Solver::kMaxStepCount) + "] (NNabla's state files hold it as a uint32)";
}

namespace {

// "mean, var", or "no state arrays".
std::string key_list(const std::vector<std::string>& keys) {
  if (keys.empty()) return "no state arrays";
  std::string out;
  for (auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

// The solver nnvae has whose state arrays are `keys`, or "".
std::string solver_keeping(const std::vector<std::string>& keys) {
  const std::unique_ptr<Solver> solvers[] = {std::make_unique<AdamSolver>(0.001f, 0.9f, 0.999f, 1e-8f),
                                             std::make_unique<SgdSolver>(0.001f)};
  for (auto& s : solvers)
    if (s->state_keys() == keys) return s->name();
  return "";
}

// A float as its shortest exact text: "-0.5", "1e-30", "nan", "-inf".
std::string float_text(float v) {
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof text, v).ptr);
}

// The position of the flat index i in `shape`: "(1, 2)".
std::string position(const Shape_t& shape, int64_t i) {
  std::vector<int64_t> at(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    at[d] = i % shape[d];
    i /= shape[d];
  }
  return shape_str(at);
}

}  // namespace

std::string Solver::impossible_state_value(const std::string&, float value) const {
  return std::isfinite(value) ? "" : "a solver state must be a finite number";
}

std::string AdamSolver::impossible_state_value(const std::string& key, float value) const {
  const std::string why = Solver::impossible_state_value(key, value);
  if (!why.empty() || key != kVar || !(value < 0)) return why;
  return "Adam's var, a running mean of squared gradients, cannot be negative";
}

void Solver::set_states(const std::map<std::string, State>& states) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::vector<std::string> own = state_keys();
  for (auto& p : params_) {
    auto it = states.find(p.name);
    if (it == states.end()) throw std::invalid_argument("set_states: no state for parameter " + p.name);
    const State& given = it->second;
    std::vector<std::string> keys;  // sorted: a std::map's keys
    for (auto& kv : given.arrays) keys.push_back(kv.first);
    if (keys != own) {
      const std::string other = solver_keeping(keys);
      if (!other.empty())
        throw std::invalid_argument("set_states: parameter " + p.name + " has the states of " + other + " (" +
                                    key_list(keys) + ") but this solver is " + name() + " (" + key_list(own) + ")");
      throw std::invalid_argument("set_states: parameter " + p.name + " has state arrays (" + key_list(keys) +
                                  ") but this solver, " + name() + ", keeps (" + key_list(own) + ")");
    }
    for (auto& [key, arr] : p.state.arrays) {
      const NdArrayPtr& g = given.arrays.at(key);
      if (g && g->cleared())
        throw std::invalid_argument("set_states: state " + key + " of parameter " + p.name + " was freed");
      if (!g || g->shape() != arr->shape())
        throw std::invalid_argument("set_states: state " + key + " of parameter " + p.name + " is missing or has shape " +
                                    (g ? shape_str(g->shape()) : std::string("none")) + " instead of " +
                                    shape_str(arr->shape()));
      const float* v = g->read("a solver state");
      for (int64_t i = 0; i < g->size(); ++i) {
        const std::string why = impossible_state_value(key, v[i]);
        if (!why.empty())
          throw std::invalid_argument("set_states: state " + key + " of parameter " + p.name + " holds " +
                                      float_text(v[i]) + " at " + position(g->shape(), i) + ": " + why);
      }
    }
    if (given.t < 0 || given.t > kMaxStepCount)
      throw std::invalid_argument(step_count_out_of_range(p.name, std::to_string(given.t)));
  }
  for (auto& p : params_) {
    const State& s = states.at(p.name);
    for (auto& [key, arr] : p.state.arrays) {
      const float* src = s.arrays.at(key)->read("a solver state");
      std::copy(src, src + arr->size(), arr->write());
    }
    p.state.t = s.t;
  }
}

AdamSolver::AdamSolver(float alpha, float beta1, float beta2, float eps)
    : Solver("Adam", alpha), beta1_(beta1), beta2_(beta2), eps_(eps) {
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    throw std::invalid_argument("Adam: beta1 and beta2 must be in [0, 1), got " + std::to_string(beta1) + " and " +
                                std::to_string(beta2));
  if (!(eps > 0)) throw std::invalid_argument("Adam: eps must be > 0, got " + std::to_string(eps));
}

void AdamSolver::init_state(Param& p) {
  // NNabla's names for Adam's two moments, so that state files go both ways.
  for (const char* key : {kMean, kVar}) {
    auto a = std::make_shared<NdArray>(p.var->shape());
    a->zero();
    p.state.arrays[key] = a;
  }
  p.state.t = 0;
}

namespace {
// Adam on n elements: m = b1·m + (1−b1)·g, v = b2·v + (1−b2)·g²,
// w −= alpha_t·m / (sqrt(v) + eps). w, m, v, g: n floats each, not overlapping.
void adam_range(float* __restrict w, float* __restrict m, float* __restrict v, const float* __restrict g, int64_t n,
                float alpha_t, float b1, float b2, float eps) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = b1 * m[i] + (1.f - b1) * gi;
    const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= alpha_t * mi / (std::sqrt(vi) + eps);
  }
}
}  // namespace

void AdamSolver::update_all(const std::vector<Param*>& params) {
  // One job per parameter: its buffers, its size and its step size alpha_t.
  struct Job {
    float *w, *m, *v;
    const float* g;
    int64_t n;
    float alpha_t;
  };
  std::vector<Job> jobs;
  jobs.reserve(params.size());
  int64_t total = 0;
  for (Param* p : params) {
    p->state.t += 1;
    const double t = static_cast<double>(p->state.t);
    const float alpha_t = static_cast<float>(lr_ * std::sqrt(1.0 - std::pow(double(beta2_), t)) /
                                             (1.0 - std::pow(double(beta1_), t)));
    jobs.push_back({p->var->data()->write_accumulate(true), p->state.arrays[kMean]->write_accumulate(true),
                    p->state.arrays[kVar]->write_accumulate(true), p->var->grad()->read("a gradient"),
                    p->var->size(), alpha_t});
    total += p->var->size();
  }
  const float b1 = beta1_, b2 = beta2_, eps = eps_;
  // The update reads w, g, m, v and writes w, m, v: 28 bytes per element
  // against a few arithmetic operations, so beyond the caches it runs at the
  // memory's streaming rate (1.36 M parameters: ~38 MB per step). The
  // parameters are laid end to end and each thread takes one contiguous range
  // of that sequence (a parameter may be split between two threads): one
  // stream per array per thread, no per-parameter scheduling, and the threads
  // meet once, at the end of the region. Each element's result does not
  // depend on the split.
#pragma omp parallel if (total > (1 << 16))
  {
    int threads = 1, me = 0;
#ifdef _OPENMP
    threads = omp_get_num_threads();
    me = omp_get_thread_num();
#endif
    // This thread's range [lo, hi) of the whole sequence.
    auto cut = [&](int k) { return total * k / threads; };
    const int64_t lo = cut(me), hi = cut(me + 1);
    int64_t start = 0;  // the current parameter's first position in the sequence
    for (const Job& job : jobs) {
      const int64_t a = std::max(lo, start) - start, b = std::min(hi, start + job.n) - start;
      start += job.n;
      if (a < b) adam_range(job.w + a, job.m + a, job.v + a, job.g + a, b - a, job.alpha_t, b1, b2, eps);
    }
  }
}

SgdSolver::SgdSolver(float lr) : Solver("Sgd", lr) {}

void SgdSolver::update_one(Param& p) {
  int64_t n = p.var->size();
  float* w = p.var->data()->write_accumulate(true);
  const float* g = p.var->grad()->read("a gradient");
  for (int64_t i = 0; i < n; ++i) w[i] -= lr_ * g[i];
}

std::shared_ptr<AdamSolver> create_AdamSolver(const Context& ctx, float alpha, float beta1, float beta2, float eps) {
  check_context(ctx);
  return std::make_shared<AdamSolver>(alpha, beta1, beta2, eps);
}

std::shared_ptr<SgdSolver> create_SgdSolver(const Context& ctx, float lr) {
  check_context(ctx);
  return std::make_shared<SgdSolver>(lr);
}

}  // namespace nnvae
