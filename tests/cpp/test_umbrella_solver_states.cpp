// The umbrella header alone lets a training program save and restore solver
// states with the .protobuf codec: an Adam solver's states, taken after three steps, go through
// encode_solver_states_protobuf / decode_solver_states_protobuf into a second
// solver, and the next step of both leaves bit-identical parameters; SGD's
// states (a step count, no arrays) go through as well.
#include <algorithm>
#include <map>
#include <nnvae/nnvae.hpp>
#include <string>
#include <vector>

#include "check.hpp"

using namespace nnvae;

namespace {

const Context& cpu() {
  static const Context ctx{{"cpu:float"}, "CpuCachedArray", "0"};
  return ctx;
}

VariablePtr variable(const Shape_t& shape, const std::vector<float>& values) {
  auto v = std::make_shared<Variable>(shape);
  std::copy(values.begin(), values.end(), v->cast_data_and_get_pointer<float>(cpu(), /*write_only=*/true));
  return v;
}

std::vector<float> values(const NdArrayPtr& a) {
  const float* p = a->cast<float>(cpu());
  return std::vector<float>(p, p + a->size());
}

// Parameters w (2, 3) and b (3,), and the gradient of step s for each.
std::vector<std::pair<std::string, VariablePtr>> parameters() {
  return {{"fc/affine/W", variable({2, 3}, {0.5f, -1, 2, 0.25f, 0, -3})}, {"fc/affine/b", variable({3}, {0, 1, -1})}};
}
void step(Solver& solver, const std::vector<std::pair<std::string, VariablePtr>>& params, int s) {
  solver.zero_grad();
  for (auto& [name, v] : params) {
    float* g = v->cast_grad_and_get_pointer<float>(cpu());
    for (int64_t i = 0; i < v->size(); ++i) g[i] = 0.1f * float((i + 1) * (s + 2) % 7) - 0.3f;
  }
  solver.update();
}

// A solver's states as the codec's records and back (engine array names).
std::vector<SolverStateRecord> records(const std::map<std::string, Solver::State>& states) {
  std::vector<SolverStateRecord> out;
  for (auto& [name, st] : states) {
    SolverStateRecord rec{name, static_cast<uint32_t>(st.t), {}};
    for (auto& [key, arr] : st.arrays) rec.arrays.push_back({key, arr->shape(), values(arr)});
    out.push_back(std::move(rec));
  }
  return out;
}
std::map<std::string, Solver::State> states(const std::vector<SolverStateRecord>& recs) {
  std::map<std::string, Solver::State> out;
  for (auto& rec : recs) {
    Solver::State& st = out[rec.name];
    st.t = rec.t;
    for (auto& a : rec.arrays) {
      auto arr = std::make_shared<NdArray>(a.shape);
      std::copy(a.data.begin(), a.data.end(), arr->cast<float>(cpu(), /*write_only=*/true));
      st.arrays[a.key] = arr;
    }
  }
  return out;
}

std::vector<SolverStateRecord> through_codec(const Solver& solver) {
  std::string bytes = encode_solver_states_protobuf(records(solver.get_states()));
  return decode_solver_states_protobuf(bytes.data(), bytes.size(), "states.protobuf");
}

}  // namespace

TEST(adam_states_round_trip_through_the_codec) {
  auto trained = parameters();
  auto adam = create_AdamSolver(cpu(), 0.01f, 0.9f, 0.999f, 1e-8f);
  adam->set_parameters(trained);
  for (int s = 0; s < 3; ++s) step(*adam, trained, s);

  auto decoded = through_codec(*adam);
  CHECK_EQ(decoded.size(), size_t(2));
  CHECK_EQ(decoded[0].t, uint32_t(3));
  CHECK_EQ(decoded[0].arrays.size(), size_t(2));  // m and v

  // A second solver on copies of the parameters, restored from the bytes.
  std::vector<std::pair<std::string, VariablePtr>> copies;
  for (auto& [name, v] : trained) copies.push_back({name, variable(v->shape(), values(v->data()))});
  auto resumed = create_AdamSolver(cpu(), 0.01f, 0.9f, 0.999f, 1e-8f);
  resumed->set_parameters(copies);
  resumed->set_states(states(decoded));
  step(*adam, trained, 3);
  step(*resumed, copies, 3);
  for (size_t i = 0; i < trained.size(); ++i) {
    auto want = values(trained[i].second->data()), got = values(copies[i].second->data());
    CHECK(got == want);
  }
  CHECK_EQ(resumed->get_states().at("fc/affine/b").t, int64_t(4));
}

TEST(sgd_states_round_trip_through_the_codec) {
  auto params = parameters();
  auto sgd = create_SgdSolver(cpu(), 0.1f);
  sgd->set_parameters(params);
  for (int s = 0; s < 2; ++s) step(*sgd, params, s);
  auto decoded = through_codec(*sgd);
  CHECK_EQ(decoded.size(), size_t(2));
  for (auto& rec : decoded) {
    CHECK_EQ(rec.t, static_cast<uint32_t>(sgd->get_states().at(rec.name).t));
    CHECK(rec.arrays.empty());
  }
  auto restored = create_SgdSolver(cpu(), 0.1f);
  restored->set_parameters(params);
  restored->set_states(states(decoded));
  CHECK_EQ(restored->get_states().at("fc/affine/W").t, sgd->get_states().at("fc/affine/W").t);
}

NNVAE_TEST_MAIN()
