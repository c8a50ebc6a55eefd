#include "nnvae/checked.hpp"

#include <cstdio>
#include <stdexcept>
#include <unistd.h>

#include "nnvae/array.hpp"

namespace nnvae {

int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > kMaxElements)
    throw std::invalid_argument(what + ": " + std::to_string(a) + " x " + std::to_string(b) +
                                " elements is more than an array can hold (at most " +
                                std::to_string(kMaxElements) + ")");
  return r;
}

int64_t checked_size(const std::vector<int64_t>& shape, const std::string& what) {
  const std::string where = what.empty() ? std::string("shape") : what + ": shape";
  for (auto d : shape)
    if (d < 0) throw std::invalid_argument(where + " " + shape_str(shape) + " has a negative dimension");
  int64_t n = 1;
  for (auto d : shape) {
    // A zero dimension makes the array empty whatever the others are.
    if (d == 0) return 0;
  }
  for (auto d : shape) {
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxElements)
      throw std::invalid_argument(where + " " + shape_str(shape) +
                                  " has more elements than an array can hold (the product of its "
                                  "dimensions exceeds " + std::to_string(kMaxElements) + ")");
  }
  return n;
}

int64_t physical_memory_bytes() {
  static const int64_t bytes = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t(0);
  }();
  return bytes;
}

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    ++u;
  }
  char buf[48];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace nnvae
