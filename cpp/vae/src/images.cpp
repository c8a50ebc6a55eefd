#include "nnvae/vae/images.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace nnvae {
namespace vae {

ImageSet::ImageSet(std::vector<uint8_t> px, int64_t n) : pixels(std::move(px)), count(n) {
  if (n < 0 || static_cast<int64_t>(pixels.size()) != n * kPixels)
    throw std::invalid_argument("ImageSet: " + std::to_string(pixels.size()) + " bytes do not make " +
                                std::to_string(n) + " images of 28x28");
}

}  // namespace vae
}  // namespace nnvae
