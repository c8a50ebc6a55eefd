#include "nnvae/vae/synthetic.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "nnvae/random.hpp"

namespace nnvae {
namespace vae {

ImageSet synthetic_digits(int64_t count, uint32_t seed) {
  if (count < 0) throw std::invalid_argument("synthetic_digits: count must be >= 0, got " + std::to_string(count));
  Generator g(seed);
  std::vector<uint8_t> px(count * kPixels, 0);
  for (int64_t i = 0; i < count; ++i) {
    const int cls = static_cast<int>(g.uniform() * 4) % 4;
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kCols; ++c) {
        const bool inside = r > 4 && r < 24;
        const bool on = (cls == 0 && c > 12 && c < 16 && inside) || (cls == 1 && r > 12 && r < 16 && c > 4 && c < 24) ||
                        (cls == 2 && std::abs(r - c) < 2 && inside) || (cls == 3 && std::abs(r + c - 27) < 2 && inside);
        px[i * kPixels + r * kCols + c] =
            on ? static_cast<uint8_t>(200 + g.uniform() * 55) : (g.uniform() < 0.02f ? 150 : 0);
      }
  }
  return ImageSet(std::move(px), count);
}

}  // namespace vae
}  // namespace nnvae
