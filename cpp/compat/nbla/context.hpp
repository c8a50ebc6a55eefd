// NNabla-compatible names over nnvae (opt-in: the nnvae::nbla_compat target).
//
// Programs written against NNabla's C++ API include <nbla/...> headers and
// use namespace nbla. Here namespace nbla takes in every name of namespace
// nnvae (Context, Shape_t, CgVariable, ParameterDirectory, functions, ...),
// and adds the few NNabla names nnvae does not have itself:
// SingletonManager, GlobalContext and AutoForward (nbla/global_context.hpp,
// nbla/auto_forward.hpp) and nbla::utils::load_parameters/save_parameters
// (nbla_utils/parameters.hpp). This header is the base the others include.
#pragma once
// Standard headers NNabla's own headers bring in, which programs written
// against them use without including (std::shuffle, for one).
#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nnvae/array.hpp>

namespace nbla {
using namespace nnvae;
// The standard names NNabla's headers declare in namespace nbla, which
// programs with `using namespace nbla` use unqualified (shared_ptr<T>).
using std::ostringstream;
using std::shared_ptr;
using std::string;
using std::vector;
// The C library's float_t (float on x86-64), also reachable as nbla::float_t.
using ::float_t;

// SingletonManager::get<T>() gives the one process-wide T (GlobalContext,
// AutoForward), created on first use.
class SingletonManager {
 public:
  template <typename T>
  static T* get() {
    static T instance;
    return &instance;
  }
};
}  // namespace nbla
