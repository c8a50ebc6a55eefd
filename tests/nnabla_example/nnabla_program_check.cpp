// Helper of the tests that build NNabla's MNIST programs on nnvae::nbla_compat
// (run_nnabla_program.cmake):
//
//   nnabla_program_check write-fixture DIR    writes the four MNIST .gz files
//                                             (mnist_fixture.hpp)
//   nnabla_program_check params MODEL FILE    checks FILE (read by nnvae's
//                                             reader) holds MODEL's parameters
//                                             in the program's order, named
//                                             and shaped as it creates them,
//                                             all finite; batch normalisation's
//                                             running statistics saved
//                                             need_grad false and moved from
//                                             their start (mean 0, variance
//                                             1). Its last line says
//                                             "FILE: N parameters, ...".
//
// MODEL is the program's name: vae, lenet, resnet, dcgan, siamese or vat.
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nnvae/parameter_file.hpp>

#include "mnist_fixture.hpp"

namespace {

using Expected = std::vector<std::pair<std::string, nnvae::Shape_t>>;

void affine(Expected& e, const std::string& scope, int64_t in, int64_t out) {
  e.push_back({scope + "/affine/W", {in, out}});
  e.push_back({scope + "/affine/b", {out}});
}

void conv(Expected& e, const std::string& scope, nnvae::Shape_t w, bool bias) {
  e.push_back({scope + "/conv/W", w});
  if (bias) e.push_back({scope + "/conv/b", {w[0]}});
}

// Batch normalisation over `stat` (1, C) or (1, C, 1, 1).
void bn(Expected& e, const std::string& scope, const nnvae::Shape_t& stat) {
  for (const char* p : {"beta", "gamma", "mean", "variance"}) e.push_back({scope + "/bn/" + p, stat});
}

// The VAE: encoder 784 -> 500 -> 500 -> (mu, logvar) 50, decoder
// 50 -> 500 -> 500 -> 784.
Expected vae() {
  Expected e;
  affine(e, "fc1", 784, 500);
  affine(e, "fc2", 500, 500);
  affine(e, "fc_mu", 500, 50);
  affine(e, "fc_logvar", 500, 50);
  affine(e, "fc3", 50, 500);
  affine(e, "fc4", 500, 500);
  affine(e, "fc5", 500, 784);
  return e;
}

// LeNet: two 5x5 convolutions of 16 maps (28 -> 24 -> pool 12 -> 8 -> pool
// 4), then affine 256 -> 50 -> 10.
Expected lenet() {
  Expected e;
  conv(e, "conv1", {16, 1, 5, 5}, true);
  conv(e, "conv2", {16, 16, 5, 5}, true);
  affine(e, "affine3", 256, 50);
  affine(e, "affine4", 50, 10);
  return e;
}

// ResNet: a 3x3 convolution to 64 maps and its batch normalisation, five
// residual units of three convolutions (1x1 to 32, 3x3 32 to 32, 1x1 back to
// 64), each with its batch normalisation, and the classifier 64 -> 10.
Expected resnet() {
  Expected e;
  auto conv_bn = [&e](const std::string& scope, nnvae::Shape_t w) {
    conv(e, scope, w, false);
    bn(e, scope, {1, w[0], 1, 1});
  };
  conv_bn("conv1", {64, 1, 3, 3});
  for (int unit = 2; unit <= 6; ++unit) {
    const std::string u = "conv" + std::to_string(unit);
    conv_bn(u + "/conv1", {32, 64, 1, 1});
    conv_bn(u + "/conv2", {32, 32, 3, 3});
    conv_bn(u + "/conv3", {64, 32, 1, 1});
  }
  affine(e, "classifier", 64, 10);
  return e;
}

// DCGAN (max_h 256, z of 100): the generator's four 4x4 deconvolutions
// without bias (W: (in, out, 4, 4); 100 -> 256 -> 128 -> 64 -> 64 maps),
// each with its batch normalisation, and a 3x3 convolution to one map; the
// discriminator's four 3x3 convolutions without bias (1 -> 32 -> 64 -> 128
// -> 256 maps), each with its batch normalisation, and affine
// 256 * 4 * 4 -> 1.
Expected dcgan() {
  Expected e;
  const int64_t deconv[5] = {100, 256, 128, 64, 64};
  for (int i = 1; i <= 4; ++i) {
    const std::string s = "gen/deconv" + std::to_string(i);
    e.push_back({s + "/deconv/W", {deconv[i - 1], deconv[i], 4, 4}});
    bn(e, s, {1, deconv[i], 1, 1});
  }
  conv(e, "gen/conv5", {1, 64, 3, 3}, true);
  const int64_t maps[5] = {1, 32, 64, 128, 256};
  for (int i = 1; i <= 4; ++i) {
    const std::string s = "dis/conv" + std::to_string(i);
    conv(e, s, {maps[i], maps[i - 1], 3, 3}, false);
    bn(e, s, {1, maps[i], 1, 1});
  }
  affine(e, "dis/fc1", 256 * 4 * 4, 1);
  return e;
}

// Siamese: LeNet features (5x5 convolutions to 20 and 50 maps, each pooled
// by 2: 28 -> 24 -> 12 -> 8 -> 4), affine 800 -> 500 -> 10 and the 2-D
// embedding 10 -> 2.
Expected siamese() {
  Expected e;
  conv(e, "conv1", {20, 1, 5, 5}, true);
  conv(e, "conv2", {50, 20, 5, 5}, true);
  affine(e, "fc3", 800, 500);
  affine(e, "fc4", 500, 10);
  affine(e, "fc_embed", 10, 2);
  return e;
}

// VAT: affine 784 -> 1200 -> 1200 -> 10, each hidden layer batch-normalised;
// the program names the second normalisation "fc3", so fc3 holds it before
// its own affine.
Expected vat() {
  Expected e;
  affine(e, "fc1", 784, 1200);
  bn(e, "fc1", {1, 1200});
  affine(e, "fc2", 1200, 1200);
  bn(e, "fc3", {1, 1200});
  affine(e, "fc3", 1200, 10);
  return e;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

int check_params(const std::string& model, const std::string& path) {
  Expected expected;
  if (model == "vae") expected = vae();
  else if (model == "lenet") expected = lenet();
  else if (model == "resnet") expected = resnet();
  else if (model == "dcgan") expected = dcgan();
  else if (model == "siamese") expected = siamese();
  else if (model == "vat") expected = vat();
  else {
    std::fprintf(stderr, "unknown model %s (vae, lenet, resnet, dcgan, siamese or vat)\n", model.c_str());
    return 2;
  }
  try {
    auto records = nnvae::read_parameter_file(path);
    bool ok = records.size() == expected.size();
    size_t values = 0, moved = 0, running = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      bool finite = true;
      for (float v : r.data) finite = finite && std::isfinite(v);
      const bool right = i < expected.size() && r.name == expected[i].first && r.shape == expected[i].second;
      // The running statistics: saved need_grad false, and moved by training.
      const bool is_mean = ends_with(r.name, "/bn/mean"), is_var = ends_with(r.name, "/bn/variance");
      const bool flags = r.need_grad == !(is_mean || is_var);
      if (is_mean || is_var) {
        ++running;
        for (float v : r.data)
          if (v != (is_mean ? 0.f : 1.f)) {
            ++moved;
            break;
          }
      }
      std::printf("%s %s%s%s%s\n", r.name.c_str(), nnvae::shape_str(r.shape).c_str(),
                  right ? "" : " (unexpected)", finite ? "" : " (not finite)", flags ? "" : " (wrong need_grad)");
      ok = ok && right && finite && flags;
      values += r.data.size();
    }
    for (size_t i = records.size(); i < expected.size(); ++i)
      std::printf("%s %s (missing)\n", expected[i].first.c_str(), nnvae::shape_str(expected[i].second).c_str());
    std::printf("%s: %zu parameters, %zu values; %zu of %zu running statistics moved from their start\n",
                path.c_str(), records.size(), values, moved, running);
    return ok && moved == running ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (argc == 3 && cmd == "write-fixture") return nnabla_example::write_fixture(argv[2]);
  if (argc == 4 && cmd == "params") return check_params(argv[2], argv[3]);
  std::fprintf(stderr, "usage: %s write-fixture DIR | params vae|lenet|resnet|dcgan|siamese|vat FILE\n", argv[0]);
  return 2;
}
