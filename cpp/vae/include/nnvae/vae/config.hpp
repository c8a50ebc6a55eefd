// The VAE's training settings: every default, every check and every
// command-line option of them lives here. train_vae and the Python package
// (through nnvae._core.vae.VaeConfig.fields()) build their options from
// config_fields(), and both validate through VaeConfig::validate.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nnvae/precision.hpp"

namespace nnvae {
namespace vae {

enum class GraphMode { static_graph, dynamic_graph };
// "static" / "dynamic"; anything else throws std::invalid_argument naming it.
GraphMode parse_graph_mode(const std::string& name);
std::string graph_mode_name(GraphMode mode);

// The tutorial's model size: a 50-dimensional latent, 500 units in each
// hidden layer. VaeConfig's defaults and the model functions' default
// arguments (model.hpp) are these.
constexpr int kTutorialLatent = 50;
constexpr int kTutorialHidden = 500;

// The tutorial's recipe: Adam(3e-4, 0.9, 0.999, 1e-8), batch 100, 60,000
// iterations, a monitor line every 10 iterations over 10 test batches, and
// pf::affine's own initialisation.
struct VaeConfig {
  int64_t iterations = 60000;
  int batch_size = 100;
  float learning_rate = 3e-4f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  uint32_t seed = 313;  // initial parameters, shuffling and the reparameterisation noise
  int latent = kTutorialLatent;
  int hidden = kTutorialHidden;
  int monitor_interval = 10;
  int validation_batches = 10;
  GraphMode graph = GraphMode::static_graph;
  int threads = 0;  // 0: leave the engine's thread count as it is
  // The products' precision (precision.hpp) while the trainer trains and
  // validates; fp32 is the tutorial's program.
  MatmulPrecision precision = MatmulPrecision::fp32;
  // The initial parameters: "glorot" is pf::affine's default, W ~
  // U(±sqrt(6/(n_in + n_out))), b = 0; "fan-in" draws W and b from
  // U(±1/sqrt(n_in)) (PyTorch nn.Linear's default).
  std::string init = "glorot";

  // Throws std::invalid_argument naming the first impossible value (against
  // the data set sizes when given, -1: unknown).
  void validate(int64_t n_train = -1, int64_t n_test = -1) const;
};

// One setting as a command-line option `--flag VALUE`.
struct ConfigField {
  enum class Kind { integer, real, text, choice };
  std::string name;                  // the member's name, e.g. "batch_size"
  std::string flag;                  // the option without dashes, e.g. "batch-size"
  std::string metavar;               // e.g. "B"
  std::string help;                  // one sentence, without the default
  Kind kind;
  std::vector<std::string> choices;  // kind == choice: the accepted values
  // Parses `text` into the member. Throws std::invalid_argument naming the
  // flag and the text when it is not a value of the member's type, e.g.
  // "--batch-size: expected a whole number, got 'x'";
  // ranges of meaning are validate()'s.
  std::function<void(VaeConfig&, const std::string&)> set;
  std::function<std::string(const VaeConfig&)> get;  // the member as text
};

std::string kind_name(ConfigField::Kind kind);  // "int", "float", "str", "choice"

// Every setting in a fixed order (the order of --help).
const std::vector<ConfigField>& config_fields();

// The field called `name` (member name or flag); throws std::invalid_argument
// listing the known names otherwise.
const ConfigField& config_field(const std::string& name);

}  // namespace vae
}  // namespace nnvae
