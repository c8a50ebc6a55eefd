// Solver::set_states refuses what no state file can hold or what another
// solver kept, naming the values, and changes nothing when it refuses: a step
// count outside [0, kMaxStepCount] (NNabla's files keep it as a uint32), the
// state arrays of another solver (Adam's into SGD and back, naming both), an
// unknown set of arrays, a wrong shape in one parameter's state, a value no
// update can make (NaN or an infinity in any state, a negative Adam var).
#include <nnvae/nnvae.hpp>

#include <limits>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;

namespace {

// An Adam solver over w (3,) and b (2,).
std::shared_ptr<AdamSolver> adam_over_w_and_b() {
  auto adam = create_AdamSolver(cpu());
  adam->set_parameters({{"w", leaf({3}, {1, 2, 3})->variable()}, {"b", leaf({2}, {4, 5})->variable()}});
  return adam;
}

// The states as plain values, to compare before and after.
std::string dump(const Solver& s) {
  std::string out;
  for (auto& [name, st] : s.get_states()) {
    out += name + " t=" + std::to_string(st.t);
    for (auto& [key, arr] : st.arrays) {
      out += " " + key + ":";
      const float* p = arr->read("a state");
      for (int64_t i = 0; i < arr->size(); ++i) out += std::to_string(p[i]) + ",";
    }
    out += "\n";
  }
  return out;
}

}  // namespace

TEST(step_counts_outside_a_uint32_are_refused) {
  auto adam = adam_over_w_and_b();
  auto states = adam->get_states();
  states["b"].t = 7;
  states["w"].t = Solver::kMaxStepCount;
  adam->set_states(states);
  CHECK_EQ(adam->get_states()["w"].t, int64_t(4294967295));
  const std::string before = dump(*adam);
  for (int64_t t : {int64_t(-1), Solver::kMaxStepCount + 1, int64_t(1) << 62}) {
    auto bad = adam->get_states();
    bad["b"].t = 1;
    bad["w"].t = t;
    CHECK_THROWS_WITH(adam->set_states(bad), "set_states: parameter w: step count t = " + std::to_string(t) +
                                                 " is outside [0, 4294967295] (NNabla's state files hold it as "
                                                 "a uint32)");
    CHECK_EQ(dump(*adam), before);
  }
}

TEST(another_solvers_states_are_refused_naming_both) {
  auto adam = adam_over_w_and_b();
  auto sgd = create_SgdSolver(cpu());
  sgd->set_parameters({{"w", leaf({3}, {1, 2, 3})->variable()}});
  CHECK_THROWS_WITH(sgd->set_states(adam->get_states()),
                    "set_states: parameter w has the states of Adam (mean, var) but this solver is Sgd "
                    "(no state arrays)");
  auto sgd_states = sgd->get_states();
  sgd_states["b"] = sgd_states["w"];
  CHECK_THROWS_WITH(adam->set_states(sgd_states),
                    "set_states: parameter w has the states of Sgd (no state arrays) but this solver is Adam "
                    "(mean, var)");
  auto odd = adam->get_states();
  odd["w"].arrays["m"] = odd["w"].arrays["mean"];
  CHECK_THROWS_WITH(adam->set_states(odd),
                    "set_states: parameter w has state arrays (m, mean, var) but this solver, Adam, keeps "
                    "(mean, var)");
}

TEST(one_bad_state_changes_no_other) {
  auto adam = adam_over_w_and_b();
  const std::string before = dump(*adam);
  auto states = adam->get_states();
  states["b"].arrays["mean"]->fill(9.f);  // a valid state for b
  states["b"].t = 5;
  states["w"].arrays["var"] = std::make_shared<NdArray>(Shape_t{4});
  CHECK_THROWS_WITH(adam->set_states(states), "set_states: state var of parameter w is missing or has shape (4,) "
                                              "instead of (3,)");
  CHECK_EQ(dump(*adam), before);
}

TEST(impossible_state_values_are_refused_naming_them) {
  auto adam = adam_over_w_and_b();
  const std::string before = dump(*adam);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  struct Case {
    const char* key;
    float value;
    std::string message;
  };
  const std::string finite = ": a solver state must be a finite number";
  const Case cases[] = {
      {"var", -0.5f, "set_states: state var of parameter w holds -0.5 at (1,): Adam's var, a running mean of "
                     "squared gradients, cannot be negative"},
      {"var", -1e-30f, "set_states: state var of parameter w holds -1e-30 at (1,): Adam's var, a running mean of "
                       "squared gradients, cannot be negative"},
      {"var", inf, "set_states: state var of parameter w holds inf at (1,)" + finite},
      {"var", nan, "set_states: state var of parameter w holds nan at (1,)" + finite},
      {"mean", -inf, "set_states: state mean of parameter w holds -inf at (1,)" + finite},
      {"mean", nan, "set_states: state mean of parameter w holds nan at (1,)" + finite},
  };
  for (const Case& c : cases) {
    auto states = adam->get_states();
    states["b"].arrays["mean"]->fill(3.f);  // a valid state for b
    states["w"].arrays[c.key]->write_accumulate(true)[1] = c.value;
    CHECK_THROWS_WITH(adam->set_states(states), c.message);
    CHECK_EQ(dump(*adam), before);
  }
  // A negative mean and a var of 0 (or -0) are states Adam makes.
  auto states = adam->get_states();
  float* mean = states["w"].arrays["mean"]->write_accumulate(true);
  float* var = states["w"].arrays["var"]->write_accumulate(true);
  mean[0] = -2.f;
  var[0] = -0.f;
  var[2] = 1e-38f;
  adam->set_states(states);
  CHECK_EQ(adam->get_states()["w"].arrays["mean"]->read("a state")[0], -2.f);
}

NNVAE_TEST_MAIN()
