// uint8 pictures of 28x28 pixels, the VAE's data.
#pragma once
#include <cstdint>
#include <vector>

namespace nnvae {
namespace vae {

constexpr int kRows = 28, kCols = 28, kPixels = kRows * kCols;

// uint8 images (count, 28, 28), row-major, owned.
struct ImageSet {
  std::vector<uint8_t> pixels;  // count * 784
  int64_t count = 0;
  ImageSet() = default;
  ImageSet(std::vector<uint8_t> pixels, int64_t count);  // checks pixels.size() == count * 784
};

}  // namespace vae
}  // namespace nnvae
