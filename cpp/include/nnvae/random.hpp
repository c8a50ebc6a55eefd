// Random numbers: one global generator (initializers, randn/rand with seed -1)
// and per-node generators for functions given their own seed.
#pragma once
#include <cstdint>
#include <random>
#include <string>

namespace nnvae {

// A Mersenne Twister with its own uniform and normal transforms, so that the
// same seed gives the same numbers with any standard library.
class Generator {
 public:
  explicit Generator(uint32_t seed = 313) { this->seed(seed); }
  void seed(uint32_t s) {
    engine_.seed(s);
    has_spare_ = false;
  }
  // U[0, 1) with 24 random bits.
  float uniform() { return static_cast<float>(engine_() >> 8) * (1.0f / 16777216.0f); }
  // N(0, 1) by the Box-Muller transform, two values per pair of uniforms.
  float normal();
  // The whole state as text (checkpoints) and back.
  std::string state() const;
  void set_state(const std::string& state);

 private:
  std::mt19937 engine_;
  bool has_spare_ = false;
  float spare_ = 0.0f;
};

Generator& global_generator();
void set_seed(uint32_t seed);

}  // namespace nnvae
