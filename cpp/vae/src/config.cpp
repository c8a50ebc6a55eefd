#include "nnvae/vae/config.hpp"

#include "nnvae/vae/model.hpp"
#include "nnvae/checked.hpp"
#include "nnvae/threads.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace nnvae {
namespace vae {

GraphMode parse_graph_mode(const std::string& name) {
  if (name == "static") return GraphMode::static_graph;
  if (name == "dynamic") return GraphMode::dynamic_graph;
  throw std::invalid_argument("unknown graph mode '" + name + "': choose static or dynamic");
}

std::string graph_mode_name(GraphMode mode) { return mode == GraphMode::static_graph ? "static" : "dynamic"; }

namespace {

// Training holds four floats per parameter: its value, its gradient and
// Adam's two moments. A model whose four copies alone exceed this machine's
// memory is refused before any of it is allocated (each array might fit on
// its own, and the system would only kill the process later).
void check_training_memory(int latent, int hidden) {
  int64_t count = 0;
  for (const Layer& l : vae_layers(latent, hidden))
    count += checked_mul(l.n_in, l.n_out, "layer " + l.name) + l.n_out;
  const int64_t need = float_bytes(checked_mul(count, 4, "the model's parameters, gradients and Adam moments"));
  const int64_t have = physical_memory_bytes();
  if (have > 0 && need > have)
    throw std::invalid_argument("latent " + std::to_string(latent) + " and hidden " + std::to_string(hidden) +
                                " make " + std::to_string(count) + " parameters; training them needs " +
                                format_bytes(need) + " (value, gradient and Adam's two moments of each), more than " +
                                "this machine's " + format_bytes(have) + " of memory");
}

}  // namespace

void VaeConfig::validate(int64_t n_train, int64_t n_test) const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (iterations < 1) fail("iterations must be >= 1, got " + std::to_string(iterations));
  if (batch_size < 1) fail("batch size must be >= 1, got " + std::to_string(batch_size));
  if (n_train >= 0 && batch_size > n_train)
    fail("batch size " + std::to_string(batch_size) + " is larger than the training set (" +
         std::to_string(n_train) + " images)");
  if (n_test == 0) fail("the validation set is empty");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    fail("learning rate must be a finite number > 0, got " + std::to_string(learning_rate));
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    fail("Adam betas must be in [0, 1), got " + std::to_string(beta1) + " and " + std::to_string(beta2));
  if (!(eps > 0)) fail("Adam eps must be > 0, got " + std::to_string(eps));
  check_model_size(latent, hidden);
  check_training_memory(latent, hidden);
  if (monitor_interval < 1) fail("monitor interval must be >= 1, got " + std::to_string(monitor_interval));
  if (validation_batches < 1) fail("validation batches must be >= 1, got " + std::to_string(validation_batches));
  if (threads < 0) fail("thread count must be >= 0 (0: all cores), got " + std::to_string(threads));
  if (threads > 0) check_num_threads(threads);
  if (init != "glorot" && init != "fan-in") fail("unknown init '" + init + "': choose glorot or fan-in");
}

namespace {

using Kind = ConfigField::Kind;

// `text` as an integer of type T, the whole text and within T's range. The
// range of meaning (iterations >= 1, ...) is validate()'s; the type's range
// is named only when a number is beyond it.
template <typename T>
T parse_integer(const std::string& flag, const std::string& text) {
  const long long lo = static_cast<long long>(std::numeric_limits<T>::min());
  const long long hi = static_cast<long long>(std::numeric_limits<T>::max());
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0')
    throw std::invalid_argument("--" + flag + ": expected a whole number, got '" + text + "'");
  if ((errno == ERANGE && v > 0) || v > hi)
    throw std::invalid_argument("--" + flag + ": " + text + " is too large (at most " + std::to_string(hi) + ")");
  if (errno == ERANGE || v < lo)
    throw std::invalid_argument("--" + flag + ": " + text + " is too small (at least " + std::to_string(lo) + ")");
  return static_cast<T>(v);
}

// Whether `text` is a decimal number: [+-] digits [. digits] [e [+-] digits],
// with digits on at least one side of the point. strtod reads more than
// that -- hexadecimal ("0x10" is 16), inf, nan, leading blanks -- none of
// which is a value any float setting means.
bool is_decimal_number(const std::string& text) {
  size_t i = 0, n = text.size();
  auto digits = [&]() {
    size_t from = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i;
    return i - from;
  };
  if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
  size_t mantissa = digits();
  if (i < n && text[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == n;
}

// `text` as a float: a finite decimal number that a float holds (neither
// beyond its range nor so small that it would become 0).
float parse_real(const std::string& flag, const std::string& text) {
  if (!is_decimal_number(text))
    throw std::invalid_argument("--" + flag + ": expected a finite decimal number (such as 0.0003 or 3e-4), got '" +
                                text + "'");
  errno = 0;
  const double v = std::strtod(text.c_str(), nullptr);  // +-HUGE_VAL beyond a double, 0 with ERANGE below
  if (std::fabs(v) > std::numeric_limits<float>::max()) {
    char most[32];
    std::snprintf(most, sizeof most, "%g", static_cast<double>(std::numeric_limits<float>::max()));
    throw std::invalid_argument("--" + flag + ": " + text + " is beyond a 32-bit float (at most " + most + ")");
  }
  const float f = static_cast<float>(v);
  if (f == 0 && (v != 0 || errno == ERANGE))
    throw std::invalid_argument("--" + flag + ": " + text + " is too small for a 32-bit float (it would be 0)");
  return f;
}

// The shortest decimal text that reads back as `v` (3e-4f gives "0.0003").
std::string shortest_text(float v) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

template <typename T>
ConfigField integer_field(const char* name, const char* flag, const char* metavar, const char* help,
                          T VaeConfig::*member) {
  return {name, flag, metavar, help, Kind::integer, {},
          [flag, member](VaeConfig& c, const std::string& s) { c.*member = parse_integer<T>(flag, s); },
          [member](const VaeConfig& c) { return std::to_string(c.*member); }};
}

ConfigField real_field(const char* name, const char* flag, const char* metavar, const char* help,
                       float VaeConfig::*member) {
  return {name, flag, metavar, help, Kind::real, {},
          [flag, member](VaeConfig& c, const std::string& s) { c.*member = parse_real(flag, s); },
          [member](const VaeConfig& c) { return shortest_text(c.*member); }};
}

std::vector<ConfigField> make_fields() {
  return {
      integer_field("iterations", "iterations", "N", "training steps", &VaeConfig::iterations),
      integer_field("batch_size", "batch-size", "B", "images per step", &VaeConfig::batch_size),
      real_field("learning_rate", "learning-rate", "LR", "Adam's step size alpha", &VaeConfig::learning_rate),
      real_field("beta1", "beta1", "B1", "Adam's decay of the gradient mean", &VaeConfig::beta1),
      real_field("beta2", "beta2", "B2", "Adam's decay of the squared gradient mean", &VaeConfig::beta2),
      real_field("eps", "eps", "EPS", "Adam's denominator guard", &VaeConfig::eps),
      integer_field("seed", "seed", "S", "seed of the initial parameters, the shuffling and the noise",
                    &VaeConfig::seed),
      integer_field("latent", "latent", "L", "latent size", &VaeConfig::latent),
      integer_field("hidden", "hidden", "H", "hidden layer size", &VaeConfig::hidden),
      integer_field("monitor_interval", "monitor-interval", "M", "iterations per monitor line",
                    &VaeConfig::monitor_interval),
      integer_field("validation_batches", "validation-batches", "V", "test batches per monitor line",
                    &VaeConfig::validation_batches),
      integer_field("threads", "threads", "T", "engine threads (0: all cores)", &VaeConfig::threads),
      {"graph", "graph", "MODE", "static: the graph is built once; dynamic: rebuilt every step", Kind::choice,
       {"static", "dynamic"}, [](VaeConfig& c, const std::string& s) { c.graph = parse_graph_mode(s); },
       [](const VaeConfig& c) { return graph_mode_name(c.graph); }},
      {"precision", "precision", "P",
       "the matrix products' precision: fp32, or bf16 (both operands rounded to bfloat16, fp32 sums; parameters, "
       "gradients and Adam's state stay fp32)",
       Kind::choice, matmul_precision_names(),
       [](VaeConfig& c, const std::string& s) { c.precision = parse_matmul_precision(s); },
       [](const VaeConfig& c) { return matmul_precision_name(c.precision); }},
      {"init", "init", "NAME",
       "initial parameters: glorot, pf::affine's (W ~ U(+-sqrt(6/(n_in + n_out))), b = 0), the tutorial's; "
       "or fan-in, PyTorch nn.Linear's (W and b ~ U(+-1/sqrt(n_in)))",
       Kind::choice, {"glorot", "fan-in"}, [](VaeConfig& c, const std::string& s) { c.init = s; },
       [](const VaeConfig& c) { return c.init; }},
  };
}

}  // namespace

std::string kind_name(ConfigField::Kind kind) {
  switch (kind) {
    case Kind::integer: return "int";
    case Kind::real: return "float";
    case Kind::text: return "str";
    case Kind::choice: return "choice";
  }
  return "?";
}

const std::vector<ConfigField>& config_fields() {
  static const std::vector<ConfigField> fields = make_fields();
  return fields;
}

const ConfigField& config_field(const std::string& name) {
  std::string known;
  for (const ConfigField& f : config_fields()) {
    if (f.name == name || f.flag == name) return f;
    known += (known.empty() ? "" : ", ") + f.name;
  }
  throw std::invalid_argument("unknown setting '" + name + "': choose one of " + known);
}

}  // namespace vae
}  // namespace nnvae
