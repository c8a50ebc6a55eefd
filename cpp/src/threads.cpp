#include "nnvae/threads.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <thread>
#include <stdexcept>
#include <string>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnvae {

int max_threads() {
  unsigned cores = std::thread::hardware_concurrency();
  return std::clamp(4 * static_cast<int>(cores > 0 ? cores : 1), 8, 1024);
}

void check_num_threads(int n, const std::string& where) {
  if (n < 1) throw std::invalid_argument(where + "the thread count must be >= 1, got " + std::to_string(n));
  if (n > max_threads())
    throw std::invalid_argument(where + "thread count " + std::to_string(n) + " is more than this machine can "
                                "sensibly run (at most " + std::to_string(max_threads()) + ": 4 x " +
                                std::to_string(std::thread::hardware_concurrency()) + " cores, between 8 and 1024)");
}

void set_num_threads(int n) {
  check_num_threads(n, "set_num_threads: ");
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
