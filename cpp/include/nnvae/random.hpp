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
  // One raw 32-bit output of the Mersenne Twister, for functions that
  // transform the draws their own way (image_augmentation, as NNabla does).
  uint32_t bits() { return static_cast<uint32_t>(engine_()); }
  // U[0, 1) with 24 random bits.
  float uniform() { return static_cast<float>(engine_() >> 8) * (1.0f / 16777216.0f); }
  // N(0, 1) by the Box-Muller transform, two values per pair of uniforms.
  float normal();
  // y[i] = mu + sigma · normal() for i < n: the same draws as n calls of
  // normal(), transformed in float by vectorised arithmetic rather than one
  // pair at a time through libm in double (the values agree to float
  // rounding). random_normal.cpp.
  void normals(float* y, int64_t n, float mu, float sigma);
  // The whole state as text (checkpoints) and back.
  std::string state() const;
  void set_state(const std::string& state);

 private:
  std::mt19937 engine_;
  bool has_spare_ = false;
  float spare_ = 0.0f;
};

// The generator seed -1 stands for on the calling thread: the one a
// ThreadGeneratorScope installed on this thread, else the process-wide one.
// Prefer GeneratorUse, which also locks the process-wide generator.
Generator& global_generator();
// Seeds the process-wide generator.
void set_seed(uint32_t seed);

// Thread safety: the process-wide generator is shared by every thread, so
// each draw from it holds a lock (GeneratorUse). A trainer or an evaluation
// that owns a generator installs it for its own thread only: randn(seed -1),
// dropout and the initializers on that thread draw from it, while other
// threads keep drawing from the process-wide one, untouched.
class ThreadGeneratorScope {
 public:
  explicit ThreadGeneratorScope(Generator& owned);
  ~ThreadGeneratorScope();
  ThreadGeneratorScope(const ThreadGeneratorScope&) = delete;
  ThreadGeneratorScope& operator=(const ThreadGeneratorScope&) = delete;

 private:
  Generator* saved_;
};

// Exclusive use of this thread's generator for one batch of draws (a
// function's forward, an initializer): the process-wide one is locked for
// the lifetime of this object, a thread's own needs no lock.
class GeneratorUse {
 public:
  GeneratorUse();
  ~GeneratorUse();
  Generator& get() { return *generator_; }
  GeneratorUse(const GeneratorUse&) = delete;
  GeneratorUse& operator=(const GeneratorUse&) = delete;

 private:
  Generator* generator_;
  bool locked_;
};

}  // namespace nnvae
