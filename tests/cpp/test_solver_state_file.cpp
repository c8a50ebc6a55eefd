// Solver state files (.protobuf, NNabla's Optimizer message): the exact bytes
// of a small state, round trips, what a proto3 reader must accept (unknown
// fields, a map key given twice) and the errors for damaged bytes.
#include <nnvae/parameter_file.hpp>
#include <nnvae/solver_state_file.hpp>
#include <string>
#include <vector>

#include "check.hpp"

using namespace nnvae;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// Parameter "w" (2,): t 3, mean [1, -2], var [0.5, 4].
std::vector<SolverStateRecord> small_state() {
  return {{"w", 3, {{"mean", {2}, {1.f, -2.f}}, {"var", {2}, {0.5f, 4.f}}}}};
}

// Optimizer { solver (30) { states (40) { key "w", value { t 3, state_parameter
// { key "mean", value { shape (20) { dim [2] }, data (100) [1, -2] } }, ... } } } }
// (var_values < 2: var's data cut short, its shape still (2)).
std::string small_state_bytes(int var_values = 2) {
  std::string mean = bytes({0x0a, 4}) + "mean" + bytes({0x12, 0x11, 0xa2, 0x01, 3, 0x0a, 1, 2, 0xa2, 0x06, 8}) +
                     bytes({0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0});
  std::string var_data = bytes({0, 0, 0, 0x3f, 0, 0, 0x80, 0x40}).substr(0, 4 * var_values);
  std::string var = bytes({0x0a, 3}) + "var" +
                    bytes({0x12, 9 + 4 * var_values, 0xa2, 0x01, 3, 0x0a, 1, 2, 0xa2, 0x06, 4 * var_values}) + var_data;
  std::string state = bytes({0x08, 3, 0x12, static_cast<int>(mean.size())}) + mean +
                      bytes({0x12, static_cast<int>(var.size())}) + var;
  std::string entry = bytes({0x0a, 1}) + "w" + bytes({0x12, static_cast<int>(state.size())}) + state;
  std::string solver = bytes({0xc2, 0x02, static_cast<int>(entry.size())}) + entry;
  return bytes({0xf2, 0x01, static_cast<int>(solver.size())}) + solver;
}

void check_same(const std::vector<SolverStateRecord>& got, const std::vector<SolverStateRecord>& want) {
  CHECK_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    CHECK_EQ(got[i].name, want[i].name);
    CHECK_EQ(got[i].t, want[i].t);
    CHECK_EQ(got[i].arrays.size(), want[i].arrays.size());
    for (size_t j = 0; j < got[i].arrays.size() && j < want[i].arrays.size(); ++j) {
      CHECK_EQ(got[i].arrays[j].key, want[i].arrays[j].key);
      CHECK(got[i].arrays[j].shape == want[i].arrays[j].shape);
      CHECK(got[i].arrays[j].data == want[i].arrays[j].data);
    }
  }
}

}  // namespace

TEST(solver_state_exact_bytes_and_round_trip) {
  CHECK(encode_solver_states_protobuf(small_state()) == small_state_bytes());
  std::string b = small_state_bytes();
  check_same(decode_solver_states_protobuf(b.data(), b.size(), "s.protobuf"), small_state());
  // Several parameters, SGD's empty state (t 0 omitted), a 0-dim array.
  std::vector<SolverStateRecord> many = {{"fc1/affine/W", 7, {{"mean", {2, 3}, {1, 2, 3, 4, 5, 6}}}},
                                         {"b", 0, {}},
                                         {"s", 1, {{"v", {}, {2.5f}}}}};
  std::string m = encode_solver_states_protobuf(many);
  check_same(decode_solver_states_protobuf(m.data(), m.size(), "m.protobuf"), many);
  CHECK_THROWS_WITH(encode_solver_states_protobuf({{"w", 1, {{"m", {3}, {1.f}}}}}),
                    "state m of parameter w has 1 values but its shape (3,) needs 3");
  CHECK_THROWS_WITH(encode_solver_states_protobuf({{"w", 1, {}}, {"w", 2, {}}}), "parameter w appears twice");
}

TEST(solver_state_reader_accepts_what_proto3_does) {
  // An unknown top-level field before the solver, and the state of "w" given
  // twice (the second, t 9 with no arrays, wins, in the first one's place).
  std::string twice = bytes({0xc2, 0x02, 7, 0x0a, 1, 'w', 0x12, 2, 0x08, 9});
  std::string b = bytes({0x08, 42}) + small_state_bytes() + bytes({0xf2, 0x01, static_cast<int>(twice.size())}) + twice;
  auto got = decode_solver_states_protobuf(b.data(), b.size(), "x.protobuf");
  CHECK_EQ(got.size(), size_t(1));
  CHECK_EQ(got[0].t, uint32_t(9));
  CHECK(got[0].arrays.empty());
}

TEST(solver_state_damaged_bytes) {
  std::string b = small_state_bytes();
  std::string cut = b.substr(0, b.size() - 3);
  CHECK_THROWS_WITH(decode_solver_states_protobuf(cut.data(), cut.size(), "cut.protobuf"),
                    "cut.protobuf: not a valid NNabla protobuf solver state file: Solver message at byte offset 3 "
                    "needs");
  std::string shorter = small_state_bytes(1);  // one value fewer than var's shape holds
  CHECK_THROWS_WITH(decode_solver_states_protobuf(shorter.data(), shorter.size(), "short.protobuf"),
                    "state var of parameter w has 1 values but its shape (2,) needs 2");
  std::string noname = bytes({0xf2, 0x01, 5, 0xc2, 0x02, 2, 0x12, 0});
  CHECK_THROWS_WITH(decode_solver_states_protobuf(noname.data(), noname.size(), "n.protobuf"),
                    "a solver state at byte offset 3 has no parameter name");
  CHECK_THROWS_WITH(decode_solver_states_protobuf(noname.data(), noname.size(), "n.protobuf"),
                    "n.protobuf: ");
}

NNVAE_TEST_MAIN()
