// Digit-like test pictures, the same for every caller (C++ tests, the
// benchmark, and Python through nnvae._core.vae.synthetic_digits).
#pragma once
#include <cstdint>

#include "nnvae/vae/images.hpp"

namespace nnvae {
namespace vae {

// `count` images (count, 28, 28), deterministic in `seed`: each one of four
// bright strokes (vertical bar, horizontal bar, diagonal, anti-diagonal; the
// stroke class drawn uniformly) with values 200..254, plus about 2 % stray
// pixels of 150 elsewhere.
ImageSet synthetic_digits(int64_t count, uint32_t seed);

}  // namespace vae
}  // namespace nnvae
