#include "nnvae/threads.hpp"

#include <Eigen/Core>
#include <stdexcept>
#include <string>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnvae {

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: the thread count must be >= 1, got " + std::to_string(n));
#ifdef _OPENMP
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
#endif
}

int get_num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace nnvae
