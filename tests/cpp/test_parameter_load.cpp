// Loading a parameter file into a directory is all or nothing: random
// parameter sets, random files holding one record that does not fit (a
// shape other than the directory's parameter of that name) anywhere, and a
// failed load leaves every parameter bit for bit as it was, with its shape,
// its need_grad and its variable, and adds none. Both entry points:
// nnvae::load_parameters (throws) and nbla::utils::load_parameters (returns
// false).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nbla_utils/parameters.hpp>
#include <nnvae/nnvae.hpp>
#include <nnvae/parameter_file.hpp>
#include <random>
#include <sstream>

#include "check.hpp"

using namespace nnvae;
using namespace nnvae_test;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/nnvae_test_pl_" + std::to_string(::getpid()) + "_" + name;
}

// One parameter as the test sees it: name, shape, need_grad, the exact bytes
// of its values, and the variable holding them.
struct Seen {
  std::string name, shape;
  bool need_grad;
  std::string bytes;
  CgVariablePtr var;
};

std::vector<Seen> snapshot(const ParameterDirectory& params) {
  std::vector<Seen> out;
  for (auto& [name, v] : params.get_cg_parameters()) {
    const float* p = v->variable()->data()->read("a parameter");
    out.push_back({name, shape_str(v->shape()), v->need_grad(),
                   std::string(reinterpret_cast<const char*>(p), sizeof(float) * v->variable()->size()), v});
  }
  return out;
}

void check_unchanged(const std::vector<Seen>& before, const std::vector<Seen>& after, const std::string& what) {
  if (before.size() != after.size())
    throw Failure{what + ": " + std::to_string(before.size()) + " parameters before, " +
                  std::to_string(after.size()) + " after"};
  for (size_t i = 0; i < before.size(); ++i) {
    const Seen &b = before[i], &a = after[i];
    if (b.name != a.name || b.shape != a.shape || b.need_grad != a.need_grad || b.bytes != a.bytes || b.var != a.var)
      throw Failure{what + ": parameter " + b.name + " " + b.shape + " changed (now " + a.name + " " + a.shape + ")"};
  }
}

Shape_t random_shape(std::mt19937& rng) {
  Shape_t s(rng() % 4);
  for (auto& d : s) d = rng() % 4;
  return s;
}

std::vector<float> random_values(std::mt19937& rng, const Shape_t& shape) {
  std::vector<float> v(shape_size(shape));
  for (auto& x : v) {
    uint32_t bits = rng();
    std::memcpy(&x, &bits, sizeof x);  // any float, NaNs with payloads included
  }
  return v;
}

}  // namespace

TEST(a_failed_load_changes_no_parameter) {
  std::mt19937 rng(20240611);
  const char* parts[] = {"a", "b", "enc", "fc1", "W"};
  const std::string path = temp_path("p.protobuf");
  for (int round = 0; round < 300; ++round) {
    // Distinct names, none of them a scope of another.
    std::vector<std::string> names;
    const size_t count = 2 + rng() % 6;
    while (names.size() < count) {
      std::string n = parts[rng() % 5];
      for (size_t k = rng() % 3; k > 0; --k) n += std::string("/") + parts[rng() % 5];
      bool clash = false;
      for (auto& m : names)
        clash = clash || m == n || m.compare(0, n.size() + 1, n + "/") == 0 || n.compare(0, m.size() + 1, m + "/") == 0;
      if (!clash) names.push_back(n);
    }
    std::vector<ParameterRecord> records;
    std::vector<bool> existing(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      existing[i] = rng() % 2;
      if (rng() % 3 == 0) continue;  // only in the directory
      ParameterRecord rec{names[i], random_shape(rng), {}, bool(rng() % 2)};
      rec.data = random_values(rng, rec.shape);
      records.push_back(std::move(rec));
    }
    if (records.empty()) {
      records.push_back({names[0], {2}, {1.f, 2.f}, true});
    }
    ParameterRecord& bad = records[rng() % records.size()];
    write_parameter_file(path, records);

    ParameterDirectory root;
    ParameterDirectory params = rng() % 2 ? root["s"] : root;
    for (size_t i = 0; i < names.size(); ++i) {
      const ParameterRecord* rec = nullptr;
      for (auto& r : records)
        if (r.name == names[i]) rec = &r;
      if (rec != &bad && !existing[i]) continue;
      // A good record fits its parameter; the bad one has another shape.
      Shape_t shape = rec && rec != &bad ? rec->shape : random_shape(rng);
      while (rec == &bad && shape == bad.shape) shape = random_shape(rng);
      auto v = params.get_parameter_or_create(names[i], shape, nullptr, rng() % 2);
      auto values = random_values(rng, shape);
      std::copy(values.begin(), values.end(), v->variable()->data()->write());
    }
    const auto before = snapshot(root);
    const std::string what = "round " + std::to_string(round) + " (bad record " + bad.name + ")";
    try {
      load_parameters(params, path);
      throw Failure{what + ": the load did not fail"};
    } catch (const ParameterFileError& e) {
      if (std::string(e.what()).find("parameter " + bad.name + " has shape") == std::string::npos)
        throw Failure{what + ": unexpected message: " + e.what()};
    }
    check_unchanged(before, snapshot(root), what);

    std::ostringstream err;
    auto* old = std::cerr.rdbuf(err.rdbuf());
    bool loaded = nbla::utils::load_parameters(params, path);
    std::cerr.rdbuf(old);
    CHECK(!loaded);
    CHECK(err.str().find(bad.name) != std::string::npos);
    check_unchanged(before, snapshot(root), what + " through nbla::utils");
  }
  std::remove(path.c_str());
}

// add_parameters, the commit step of a load: a name that exists or is given
// twice, or a null variable, anywhere in the list, adds none of them.
TEST(add_parameters_is_all_or_nothing) {
  ParameterDirectory params;
  auto w = params["enc"].get_parameter_or_create("W", {2});
  auto fresh = [] { return make_parameter({1}); };
  CHECK_THROWS_WITH(params["enc"].add_parameters({{"b", fresh()}, {"W", fresh()}}),
                    "add_parameters: parameter enc/W exists already");
  CHECK_THROWS_WITH(params.add_parameters({{"x", fresh()}, {"y", fresh()}, {"x", fresh()}}),
                    "add_parameters: parameter x exists already");
  CHECK_THROWS_WITH(params.add_parameters({{"x", fresh()}, {"y", nullptr}}), "add_parameters: parameter y is null");
  CHECK_EQ(params.get_parameters().size(), size_t(1));
  CHECK(params.get_parameter("enc/W") == w);
  // Added in NNabla's order: beside the other parameters of their scope.
  params.add_parameters({{"top", fresh()}, {"enc/b", fresh()}});
  std::string order;
  for (auto& [name, v] : params.get_parameters()) order += name + " ";
  CHECK_EQ(order, std::string("enc/W enc/b top "));
}

NNVAE_TEST_MAIN()
