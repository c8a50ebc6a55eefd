#include "nnvae/parameter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <unordered_map>

#include "nnvae/random.hpp"

namespace nnvae {

UniformInitializer::UniformInitializer(float lower, float upper) : lower_(lower), upper_(upper) {
  if (!(upper >= lower))
    throw std::invalid_argument("UniformInitializer: upper (" + std::to_string(upper) + ") must be >= lower (" +
                                std::to_string(lower) + ")");
}

void UniformInitializer::initialize(NdArrayPtr array) {
  float* p = array->write();
  GeneratorUse use;  // this thread's generator, locked if process-wide
  Generator& g = use.get();
  for (int64_t i = 0; i < array->size(); ++i) p[i] = lower_ + (upper_ - lower_) * g.uniform();
}

void NormalInitializer::initialize(NdArrayPtr array) {
  float* p = array->write();
  GeneratorUse use;  // this thread's generator, locked if process-wide
  Generator& g = use.get();
  for (int64_t i = 0; i < array->size(); ++i) p[i] = mu_ + sigma_ * g.normal();
}

float calc_uniform_lim_glorot(int n_in, int n_out, int kernel) {
  // In double: kernel·n_in + n_out overflows int for large layers.
  double fan = static_cast<double>(kernel) * n_in + static_cast<double>(n_out);
  if (!(fan > 0))
    throw std::invalid_argument("calc_uniform_lim_glorot: kernel (" + std::to_string(kernel) + ") x inmaps (" +
                                std::to_string(n_in) + ") + outmaps (" + std::to_string(n_out) + ") must be > 0");
  return static_cast<float>(std::sqrt(6.0 / fan));
}

struct ParameterDirectory::Store {
  std::vector<std::pair<std::string, CgVariablePtr>> params;
  std::unordered_map<std::string, size_t> index;
};

ParameterDirectory::ParameterDirectory() : store_(std::make_shared<Store>()) {}
ParameterDirectory::ParameterDirectory(std::shared_ptr<Store> store, std::string scope)
    : store_(std::move(store)), scope_(std::move(scope)) {}

ParameterDirectory ParameterDirectory::operator[](const std::string& name) const {
  if (name.empty()) throw std::invalid_argument("ParameterDirectory: a scope name must not be empty");
  return ParameterDirectory(store_, full_name(name));
}

std::string ParameterDirectory::full_name(const std::string& name) const {
  return scope_.empty() ? name : scope_ + "/" + name;
}

namespace {
// Whether the full name `name` lies under `scope` ("" holds every name; "enc"
// holds "enc/W" but not "encoder/W").
bool under_scope(const std::string& name, const std::string& scope) {
  return scope.empty() || (name.size() > scope.size() && name.compare(0, scope.size(), scope) == 0 &&
                           name[scope.size()] == '/');
}
}  // namespace

std::vector<std::pair<std::string, VariablePtr>> ParameterDirectory::get_parameters() const {
  std::vector<std::pair<std::string, VariablePtr>> out;
  for (auto& [name, v] : store_->params)
    if (under_scope(name, scope_)) out.emplace_back(name, v->variable());
  return out;
}

std::vector<std::pair<std::string, CgVariablePtr>> ParameterDirectory::get_cg_parameters() const {
  std::vector<std::pair<std::string, CgVariablePtr>> out;
  for (auto& p : store_->params)
    if (under_scope(p.first, scope_)) out.push_back(p);
  return out;
}

CgVariablePtr ParameterDirectory::get_parameter(const std::string& name) const {
  auto it = store_->index.find(full_name(name));
  return it == store_->index.end() ? nullptr : store_->params[it->second].second;
}

namespace {

// Puts (full, v) into `params` in NNabla's order: the scopes form a tree
// whose nodes keep their children (parameters and scopes) in the order they
// first appeared, walked depth first. A scope's parameters are therefore
// contiguous, and a new one goes right after the last parameter of the
// deepest scope of its name that already exists ("a/x", "b/y", then "a/z":
// a/x, a/z, b/y), else last. Returns its position.
size_t place(std::vector<std::pair<std::string, CgVariablePtr>>& params, const std::string& full, CgVariablePtr v) {
  size_t at = params.size();
  for (size_t cut = full.rfind('/'); cut != std::string::npos && cut > 0; cut = full.rfind('/', cut - 1)) {
    const std::string scope = full.substr(0, cut + 1);  // with its '/'
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < params.size(); ++i)
      if (params[i].first.compare(0, scope.size(), scope) == 0) last = i;
    if (last != SIZE_MAX) {
      at = last + 1;
      break;
    }
  }
  params.insert(params.begin() + static_cast<std::ptrdiff_t>(at), {full, std::move(v)});
  return at;
}

}  // namespace

CgVariablePtr ParameterDirectory::get_parameter_or_create(const std::string& name, const Shape_t& shape,
                                                          Initializer* initializer, bool need_grad) {
  std::string full = full_name(name);
  auto it = store_->index.find(full);
  if (it != store_->index.end()) {
    auto& v = store_->params[it->second].second;
    if (v->shape() != shape)
      throw std::invalid_argument("parameter " + full + " exists with shape " + shape_str(v->shape()) +
                                  " but shape " + shape_str(shape) + " was asked for");
    return v;
  }
  auto v = make_parameter(shape, need_grad);
  if (initializer)
    initializer->initialize(v->variable()->data());
  else
    v->variable()->data()->zero();
  auto& params = store_->params;
  size_t at = place(params, full, v);
  for (size_t i = at; i < params.size(); ++i) store_->index[params[i].first] = i;
  return v;
}

void ParameterDirectory::add_parameters(const std::vector<std::pair<std::string, CgVariablePtr>>& params) {
  // Built aside and swapped in: nothing changes unless every one is added.
  auto all = store_->params;
  std::unordered_map<std::string, size_t> index = store_->index;
  for (auto& [name, v] : params) {
    const std::string full = full_name(name);
    if (!v) throw std::invalid_argument("add_parameters: parameter " + full + " is null");
    if (!index.emplace(full, 0).second)
      throw std::invalid_argument("add_parameters: parameter " + full + " exists already");
    place(all, full, v);
  }
  for (size_t i = 0; i < all.size(); ++i) index[all[i].first] = i;
  std::swap(store_->params, all);
  std::swap(store_->index, index);
}

void ParameterDirectory::clear() {
  auto& params = store_->params;
  params.erase(std::remove_if(params.begin(), params.end(),
                              [&](const auto& p) { return under_scope(p.first, scope_); }),
               params.end());
  store_->index.clear();  // positions moved: index the survivors again
  for (size_t i = 0; i < params.size(); ++i) store_->index[params[i].first] = i;
}

}  // namespace nnvae
