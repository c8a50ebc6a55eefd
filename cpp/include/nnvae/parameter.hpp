// Parameters: initializers and the ParameterDirectory that names and keeps
// them in NNabla's order (scope by scope, in order of first appearance).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nnvae/graph.hpp"

namespace nnvae {

class Initializer {
 public:
  virtual ~Initializer() = default;
  virtual void initialize(NdArrayPtr array) = 0;
};

// U[lower, upper) from the global generator.
class UniformInitializer : public Initializer {
 public:
  UniformInitializer(float lower = -1.f, float upper = 1.f);
  void initialize(NdArrayPtr array) override;

 private:
  float lower_, upper_;
};

class ConstantInitializer : public Initializer {
 public:
  explicit ConstantInitializer(float value = 0.f) : value_(value) {}
  void initialize(NdArrayPtr array) override { array->fill(value_); }

 private:
  float value_;
};

// N(mu, sigma²) from the global generator.
class NormalInitializer : public Initializer {
 public:
  NormalInitializer(float mu = 0.f, float sigma = 1.f) : mu_(mu), sigma_(sigma) {}
  void initialize(NdArrayPtr array) override;

 private:
  float mu_, sigma_;
};

// Glorot's limit: sqrt(6 / (kernel·n_in + n_out)).
float calc_uniform_lim_glorot(int n_in, int n_out, int kernel = 1);

// A named set of parameters. Copies share the same storage; operator[] gives
// a view one scope deeper ("fc1" then "affine/W" makes "fc1/affine/W").
class ParameterDirectory {
 public:
  ParameterDirectory();

  ParameterDirectory operator[](const std::string& name) const;
  const std::string& scope() const { return scope_; }

  // (full name, variable) pairs of the parameters under this directory's
  // scope (every one at the top level; "dis" gives "dis/..."), in NNabla's
  // order: scope by scope, each scope's parameters and sub-scopes in the
  // order they first appeared (creation order when scopes are not revisited).
  std::vector<std::pair<std::string, VariablePtr>> get_parameters() const;
  // The same with the graph variables (for building graphs on them).
  std::vector<std::pair<std::string, CgVariablePtr>> get_cg_parameters() const;

  // `name` under this directory's scope, or nullptr.
  CgVariablePtr get_parameter(const std::string& name) const;
  // Reuses an existing parameter (its shape must match) or creates one,
  // filled by `initializer` (zeros if null).
  CgVariablePtr get_parameter_or_create(const std::string& name, const Shape_t& shape,
                                        Initializer* initializer = nullptr, bool need_grad = true);
  // Adds each (name, variable) under this directory's scope, in order, each
  // placed as get_parameter_or_create places a new one. All or nothing: a
  // name that exists (or is given twice) or a null variable is refused
  // before any is added (loading a parameter file relies on this).
  void add_parameters(const std::vector<std::pair<std::string, CgVariablePtr>>& params);
  // Removes the parameters under this directory's scope ("enc" removes
  // "enc/..." and keeps "encoder/W"): every parameter at the top level.
  // Variables already handed out keep working; they are only forgotten.
  void clear();

 private:
  struct Store;
  ParameterDirectory(std::shared_ptr<Store> store, std::string scope);
  std::string full_name(const std::string& name) const;
  std::shared_ptr<Store> store_;
  std::string scope_;
};

}  // namespace nnvae
