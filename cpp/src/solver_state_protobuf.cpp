// The solver state codec: SolverStateRecords to and from the bytes of the
// Optimizer message NNabla's save_states writes (see solver_state_file.hpp).
#include "nnvae/solver_state_file.hpp"

#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "nnvae/parameter_file.hpp"
#include "protobuf_wire.hpp"

namespace nnvae {

namespace {

using namespace protobuf_wire;

// Field numbers of the messages (SolverStateParameter's: protobuf_wire).
constexpr uint32_t kSolver = 30;                  // Optimizer.solver
constexpr uint32_t kStates = 40;                  // Solver.states
constexpr uint32_t kT = 1, kStateParameter = 2;   // SolverState
constexpr uint32_t kKey = 1, kValue = 2;          // a map entry

// A map entry's key and the [start, end) of its value message (empty when
// absent: proto3's default).
struct Entry {
  std::string key;
  size_t start = 0, end = 0;
};

Entry decode_entry(const Reader& outer, size_t start, size_t end, const char* map_name) {
  Reader r{outer.bytes, start, end};
  Entry entry;
  entry.start = entry.end = start;
  while (!r.done()) {
    size_t at;
    auto [field, wt] = r.key(at);
    if (field == kKey) {
      r.expect((std::string(map_name) + " key").c_str(), wt, {kLen}, at);
      auto [s, e] = r.length_delimited(std::string(map_name) + " key");
      entry.key.assign(reinterpret_cast<const char*>(r.bytes + s), e - s);
    } else if (field == kValue) {
      r.expect((std::string(map_name) + " value").c_str(), wt, {kLen}, at);
      std::tie(entry.start, entry.end) = r.length_delimited(std::string(map_name) + " value");
    } else {
      r.skip(field, wt, at);
    }
  }
  return entry;
}

// Keeps map entries in the order their keys first appear; a key given again
// replaces the value, as protobuf's maps do.
template <typename T>
T& slot(std::vector<T>& items, std::unordered_map<std::string, size_t>& index, const std::string& key) {
  auto [it, fresh] = index.emplace(key, items.size());
  if (fresh) items.emplace_back();
  return items[it->second];
}

SolverStateRecord decode_state(const Reader& outer, const Entry& entry) {
  Reader r{outer.bytes, entry.start, entry.end};
  SolverStateRecord rec;
  rec.name = entry.key;
  std::unordered_map<std::string, size_t> index;
  while (!r.done()) {
    size_t at;
    auto [field, wt] = r.key(at);
    if (field == kT) {
      r.expect("SolverState.t", wt, {kVarint}, at);
      rec.t = static_cast<uint32_t>(r.varint());  // uint32: the low 32 bits, as protobuf reads it
    } else if (field == kStateParameter) {
      r.expect("SolverState.state_parameter", wt, {kLen}, at);
      auto [s, e] = r.length_delimited("SolverState.state_parameter entry");
      Entry item = decode_entry(r, s, e, "SolverState.state_parameter");
      Reader v{r.bytes, item.start, item.end};
      ShapedFloats values;
      while (!v.done()) {
        size_t at2;
        auto [f2, wt2] = v.key(at2);
        if (!read_shaped_field(v, f2, wt2, at2, "SolverStateParameter", values)) v.skip(f2, wt2, at2);
      }
      StateArrayRecord& array = slot(rec.arrays, index, item.key);
      array = StateArrayRecord{item.key, {}, {}};
      finish_shaped(v, values, "state " + printable(item.key) + " of parameter " + printable(rec.name), array.shape,
                    array.data);
    } else {
      r.skip(field, wt, at);
    }
  }
  return rec;
}

void decode_solver(const Reader& outer, size_t start, size_t end, std::vector<SolverStateRecord>& states,
                   std::unordered_map<std::string, size_t>& index) {
  Reader r{outer.bytes, start, end};
  for_each_message(r, kStates, "Solver.states", "Solver.states entry", [&](size_t s, size_t e, size_t at) {
    Entry entry = decode_entry(r, s, e, "Solver.states");
    if (entry.key.empty()) r.fail("a solver state at byte offset " + std::to_string(at) + " has no parameter name");
    slot(states, index, entry.key) = decode_state(r, entry);
  });
}

}  // namespace

std::string encode_solver_states_protobuf(const std::vector<SolverStateRecord>& states) {
  std::string solver;
  std::unordered_set<std::string> seen;
  for (const auto& st : states) {
    if (st.name.empty()) throw std::invalid_argument("encode solver states: a state has an empty parameter name");
    if (!seen.insert(st.name).second)
      throw std::invalid_argument("encode solver states: parameter " + st.name + " appears twice");
    std::string state;
    if (st.t != 0) {  // proto3 omits zero
      put_key(state, kT, kVarint);
      put_varint(state, st.t);
    }
    std::unordered_set<std::string> keys;
    for (const auto& a : st.arrays) {
      if (!keys.insert(a.key).second)
        throw std::invalid_argument("encode solver states: state " + a.key + " of parameter " + st.name +
                                    " appears twice");
      if (int64_t(a.data.size()) != shape_size(a.shape))
        throw std::invalid_argument("encode solver states: state " + a.key + " of parameter " + st.name + " has " +
                                    std::to_string(a.data.size()) + " values but its shape " + shape_str(a.shape) +
                                    " needs " + std::to_string(shape_size(a.shape)));
      std::string value, entry;
      put_shaped(value, a.shape, a.data);
      put_bytes(entry, kKey, a.key);
      put_bytes(entry, kValue, value);
      put_bytes(state, kStateParameter, entry);
    }
    std::string entry;
    put_bytes(entry, kKey, st.name);
    put_bytes(entry, kValue, state);
    put_bytes(solver, kStates, entry);
  }
  std::string out;
  put_bytes(out, kSolver, solver);
  return out;
}

std::vector<SolverStateRecord> decode_solver_states_protobuf(const char* bytes, size_t size,
                                                             const std::string& source) {
  Reader r{reinterpret_cast<const unsigned char*>(bytes), 0, size};
  std::vector<SolverStateRecord> states;
  std::unordered_map<std::string, size_t> index;
  try {
    // A message field given twice merges: each Solver adds its states.
    for_each_message(r, kSolver, "Optimizer.solver", "Solver message",
                     [&](size_t s, size_t e, size_t) { decode_solver(r, s, e, states, index); });
  } catch (const Malformed& m) {
    throw ParameterFileError(source, "not a valid NNabla protobuf solver state file: " + m.what);
  }
  return states;
}

}  // namespace nnvae
