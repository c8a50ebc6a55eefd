// Solvers: Adam (NNabla's update form) and SGD over a set of parameters.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "nnvae/array.hpp"

namespace nnvae {

// Thread safety: every public member takes the solver's own lock, so one
// solver may be used from several threads (an update() running while another
// thread calls set_parameters waits for it, and the other way round).
class Solver {
 public:
  // The per-parameter state a checkpoint saves: named arrays and a step count.
  struct State {
    std::map<std::string, NdArrayPtr> arrays;
    int64_t t = 0;
  };
  // The largest step count t a state may hold: NNabla's state files keep it
  // as a uint32.
  static constexpr int64_t kMaxStepCount = 4294967295;

  virtual ~Solver() = default;
  virtual std::string name() const = 0;
  // The names of the state arrays kept per parameter (Adam: mean, var; SGD:
  // none), sorted.
  virtual std::vector<std::string> state_keys() const = 0;

  // reset=true first forgets every parameter and its state. Then each
  // (name, variable): a new name is added with a fresh state; a known name
  // takes the given variable and, with retain_state, keeps its state (the
  // shape must match), otherwise starts a fresh state. A dynamic-graph loop
  // calls set_parameters(params, false, true) every step.
  void set_parameters(const std::vector<std::pair<std::string, VariablePtr>>& params, bool reset = true,
                      bool retain_state = false);
  std::vector<std::string> parameter_names() const;
  // Zeroes every gradient; update() then skips parameters left untouched.
  void zero_grad();
  // Adds rate·w to the gradient of each parameter update() would update
  // (those touched since zero_grad, or never zeroed), as NNabla does: no
  // parameters, no change. rate must be finite.
  void weight_decay(float rate);
  void update();

  float learning_rate() const { return lr_; }
  // lr must be a finite number > 0 (NNabla takes any; nnvae refuses NaN, inf,
  // 0 and negative rates, naming the call).
  void set_learning_rate(float lr);

  // A snapshot (copies of the state arrays), for checkpoints.
  std::map<std::string, State> get_states() const;
  // Restores states saved by get_states: a state for every parameter, with
  // exactly this solver's state arrays (another solver's are refused, naming
  // both), each of the parameter's shape, every value one the solver can
  // have made (impossible_state_value), and 0 <= t <= kMaxStepCount. All or
  // nothing: every state is checked before any is set. The state file
  // readers (Python's load_states, .protobuf and .h5) restore through it.
  void set_states(const std::map<std::string, State>& states);
  // Why `value` cannot be an element of the state array `key`, or "" when it
  // can: no state holds NaN or an infinity; a solver adds its own bounds.
  virtual std::string impossible_state_value(const std::string& key, float value) const;

 protected:
  // name: the solver's, for the message refusing a learning rate.
  Solver(const std::string& name, float lr);
  struct Param {
    std::string name;
    VariablePtr var;
    State state;
    uint64_t zeroed_version = 0;
    bool zeroed = false;
  };
  // No gradient since zero_grad: update() skips it, weight_decay too.
  static bool untouched(const Param& p) { return p.zeroed && p.var->grad()->version() == p.zeroed_version; }
  virtual void init_state(Param& p) = 0;
  virtual void update_one(Param& p) = 0;
  // Updates every parameter in `params` (those with a fresh gradient); by
  // default one after another.
  virtual void update_all(const std::vector<Param*>& params) {
    for (Param* p : params) update_one(*p);
  }
  float lr_;
  std::vector<Param> params_;
  // Held by every public member (not by init_state / update_one).
  mutable std::mutex mutex_;
};
using SolverPtr = std::shared_ptr<Solver>;

// Adam: t += 1; alpha_t = alpha·sqrt(1 − beta2^t)/(1 − beta1^t);
// m = beta1·m + (1 − beta1)·g; v = beta2·v + (1 − beta2)·g²;
// w −= alpha_t·m/(sqrt(v) + eps).
class AdamSolver : public Solver {
 public:
  // The state arrays of each parameter: m and v above (NNabla's names).
  static constexpr const char* kMean = "mean";
  static constexpr const char* kVar = "var";
  AdamSolver(float alpha, float beta1, float beta2, float eps);
  std::string name() const override { return "Adam"; }
  std::vector<std::string> state_keys() const override { return {kMean, kVar}; }
  // v, a running mean of squared gradients, is never below 0.
  std::string impossible_state_value(const std::string& key, float value) const override;

 private:
  void init_state(Param& p) override;
  void update_one(Param& p) override { update_all({&p}); }
  // All parameters in one parallel region, each element read and written once.
  void update_all(const std::vector<Param*>& params) override;
  float beta1_, beta2_, eps_;
};

// w −= lr·g.
class SgdSolver : public Solver {
 public:
  explicit SgdSolver(float lr);
  std::string name() const override { return "Sgd"; }
  std::vector<std::string> state_keys() const override { return {}; }

 private:
  void init_state(Param&) override {}
  void update_one(Param& p) override;
};

// The message for a step count t outside [0, Solver::kMaxStepCount] in the
// state of parameter `name`; t as text (a Python int may not fit int64).
std::string step_count_out_of_range(const std::string& name, const std::string& t);

std::shared_ptr<AdamSolver> create_AdamSolver(const Context& ctx, float alpha = 0.001f, float beta1 = 0.9f,
                                              float beta2 = 0.999f, float eps = 1e-8f);
std::shared_ptr<SgdSolver> create_SgdSolver(const Context& ctx, float lr = 0.001f);

}  // namespace nnvae
