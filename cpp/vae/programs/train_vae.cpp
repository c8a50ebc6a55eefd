// train_vae: the tutorial's program. Reads the four MNIST (or Fashion-MNIST)
// files from a folder, trains the VAE (nnvae/vae) with VaeTrainer and
// prints the monitor lines, then the negative ELBO of the whole test set.
// The files (train-* and t10k-*, each .gz or plain) may hold any count.
//
//   train_vae DATA_DIR [--iterations N] [--batch-size B] ... (every setting
//             of nnvae/vae/config.hpp's table, `train_vae --help` lists them)
//   train_vae --data-dir DATA_DIR ...
//   ... [--save FILE]  where the trained parameters go, as NNabla's .protobuf
//                      [parameters.protobuf]
//
// DATA_DIR means what --data-dir means for nnvae-train: the folder holding
// mnist/ (DATA_DIR/mnist is read when it holds the files), or the folder of
// the four files itself. `nnvae data path` prints the folder nnvae uses.
//
// Exit codes: 0 done, 1 runtime failure (unreadable data, non-finite loss),
// 2 usage error.
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "nnvae/parameter_file.hpp"
#include "nnvae/vae/idx.hpp"
#include "nnvae/vae.hpp"

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr const char* kDefaultSave = "parameters.protobuf";

// "usage: train_vae DATA_DIR [--iterations N] ..." with one line per
// setting of the configuration table and its default.
std::string usage() {
  std::string u =
      "usage: train_vae DATA_DIR [options]\n"
      "       train_vae --data-dir DATA_DIR [options]\n\n"
      "Trains the NNabla tutorial's VAE on MNIST and prints the monitor lines and the test negative ELBO.\n"
      "DATA_DIR: the folder holding mnist/, or the folder of the four MNIST (or Fashion-MNIST) files\n"
      "itself (train-*/t10k-* images and labels, each .gz or plain); `nnvae data path` prints nnvae's.\n"
      "\noptions (default in brackets):\n";
  const nnvae::vae::VaeConfig defaults;
  for (const auto& f : nnvae::vae::config_fields()) {
    std::string choices;
    for (const auto& c : f.choices) choices += (choices.empty() ? " {" : ",") + c;
    if (!choices.empty()) choices += "}";
    u += "  --" + f.flag + " " + f.metavar + choices + "\n      " + f.help + " [" + f.get(defaults) + "]\n";
  }
  u += "  --save FILE\n      where the trained parameters go (NNabla's .protobuf) [" + std::string(kDefaultSave) + "]\n";
  return u;
}

// The images of one split of any count (checked against its labels; the
// VAE is unsupervised, so only the images are kept).
nnvae::vae::ImageSet read_images(const std::string& folder, const std::string& split) {
  auto s = nnvae::idx::load_mnist_split(folder, split, nnvae::idx::SplitCount::any);
  return nnvae::vae::ImageSet(std::move(s.images.pixels), s.images.count);
}

// The folder of the files for DATA_DIR `given`: given/mnist when that
// holds the training images, else `given` itself.
std::string data_folder(const std::string& given) {
  const std::string inner = given + "/mnist";
  return nnvae::idx::find_idx_file(inner, "train-images-idx3-ubyte").empty() ? given : inner;
}

int run(int argc, char** argv) {
  using namespace nnvae::vae;
  VaeConfig cfg;
  std::string folder;
  std::string save_path = kDefaultSave;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(usage().c_str(), stdout);
      return 0;
    }
    const bool named = a == "--data-dir";
    if (a.rfind("--", 0) != 0 || named) {
      if (named && i + 1 >= argc) throw UsageError(a + " needs a value");
      const std::string given = named ? argv[++i] : a;
      if (!folder.empty()) throw UsageError("more than one data folder: '" + folder + "' and '" + given + "'");
      folder = given;
      continue;
    }
    if (i + 1 >= argc) throw UsageError(a + " needs a value");
    if (a == "--save") {
      save_path = argv[++i];
      const std::string suffix = ".protobuf";
      if (save_path.size() <= suffix.size() || save_path.compare(save_path.size() - suffix.size(), suffix.size(), suffix))
        throw UsageError("--save " + save_path + ": the file name must end in .protobuf (NNabla's parameter file)");
      continue;
    }
    const nnvae::vae::ConfigField* field = nullptr;
    for (const auto& f : config_fields())
      if (a == "--" + f.flag) field = &f;
    if (!field) throw UsageError("unknown option " + a);
    try {
      field->set(cfg, argv[++i]);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  }
  if (folder.empty()) throw UsageError("the data folder is missing (DATA_DIR or --data-dir DATA_DIR)");
  folder = data_folder(folder);
  try {
    cfg.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }

  ImageSet train_images = read_images(folder, "train");
  ImageSet test_images = read_images(folder, "test");
  try {
    cfg.validate(train_images.count, test_images.count);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  VaeTrainer trainer(cfg, std::move(train_images), test_images);
  // The whole program's products, the final evaluation's too (the trainer
  // sets it for its own steps).
  nnvae::set_matmul_precision(cfg.precision);
  if (cfg.precision == nnvae::MatmulPrecision::bf16)
    std::printf("bf16 products, %s\n", nnvae::bf16_dispatch().reason.c_str());

  auto start = std::chrono::steady_clock::now();
  auto result = trainer.train(cfg.iterations, [](const MonitorRecord& r) {
    std::printf("%s\n", format_monitor_line(r).c_str());
    std::fflush(stdout);
  });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.reason == StopReason::nonfinite) {
    std::fprintf(stderr, "train_vae: error: the loss became %g at iteration %lld; stopped\n", result.bad_loss,
                 static_cast<long long>(result.iteration));
    return 1;
  }
  double nelbo = negative_elbo(trainer.parameters(), cfg.latent, cfg.hidden, test_images);
  std::printf("trained %lld iterations in %.1f s (%.0f images/s)\n", static_cast<long long>(result.iteration),
              seconds, result.iteration * cfg.batch_size / seconds);
  std::printf("test negative ELBO: %.4f nats (%lld images)\n", nelbo, static_cast<long long>(test_images.count));
  nnvae::save_parameters(trainer.parameters(), save_path);
  std::printf("saved the parameters to %s\n", save_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "train_vae: error: %s\n(train_vae --help lists the options)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_vae: error: %s\n", e.what());
    return 1;
  }
}
