#include "nnvae/random.hpp"

#include <cmath>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace nnvae {

float Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // u1 in (0, 1] keeps log finite.
  double u1 = (static_cast<double>(engine_() >> 5) + 1.0) / 134217728.0;
  double u2 = static_cast<double>(engine_() >> 5) / 134217728.0;
  double r = std::sqrt(-2.0 * std::log(u1));
  double t = 2.0 * M_PI * u2;
  spare_ = static_cast<float>(r * std::sin(t));
  has_spare_ = true;
  return static_cast<float>(r * std::cos(t));
}

std::string Generator::state() const {
  std::ostringstream os;
  os << engine_ << " " << (has_spare_ ? 1 : 0) << " ";
  os.precision(9);
  os << spare_;
  return os.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937 e;
  int spare_flag = 0;
  float spare = 0;
  is >> e >> spare_flag >> spare;
  if (is.fail()) throw std::invalid_argument("random generator state is corrupt");
  engine_ = e;
  has_spare_ = spare_flag != 0;
  spare_ = spare;
}

namespace {
Generator& process_generator() {
  static Generator g;
  return g;
}
std::mutex& process_generator_mutex() {
  static std::mutex m;
  return m;
}
// Set by ThreadGeneratorScope: this thread's own generator, or null.
thread_local Generator* t_generator = nullptr;
}  // namespace

Generator& global_generator() { return t_generator ? *t_generator : process_generator(); }

void set_seed(uint32_t seed) {
  std::lock_guard<std::mutex> lock(process_generator_mutex());
  process_generator().seed(seed);
}

ThreadGeneratorScope::ThreadGeneratorScope(Generator& owned) : saved_(t_generator) { t_generator = &owned; }
ThreadGeneratorScope::~ThreadGeneratorScope() { t_generator = saved_; }

GeneratorUse::GeneratorUse() : generator_(t_generator), locked_(t_generator == nullptr) {
  if (locked_) {
    process_generator_mutex().lock();
    generator_ = &process_generator();
  }
}
GeneratorUse::~GeneratorUse() {
  if (locked_) process_generator_mutex().unlock();
}

}  // namespace nnvae
