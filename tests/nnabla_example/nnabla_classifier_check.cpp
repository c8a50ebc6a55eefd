// Helper of the tests that build NNabla's LeNet and ResNet MNIST classifiers
// on nnvae::nbla_compat:
//
//   nnabla_classifier_check write-fixture DIR    writes the four MNIST .gz
//                                                files (mnist_fixture.hpp)
//   nnabla_classifier_check params MODEL FILE    checks FILE holds MODEL's
//                                                (lenet, resnet) parameters in
//                                                the program's order, named
//                                                and shaped as it creates
//                                                them, all finite; for resnet
//                                                also that the running
//                                                statistics moved from their
//                                                start (mean 0, variance 1)
//                                                and are saved need_grad false
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nnvae/parameter_file.hpp>

#include "mnist_fixture.hpp"

namespace {

using Expected = std::vector<std::pair<std::string, nnvae::Shape_t>>;

// LeNet: two 5x5 convolutions of 16 maps (28 -> 24 -> pool 12 -> 8 -> pool
// 4), then affine 256 -> 50 -> 10.
Expected lenet() {
  return {{"conv1/conv/W", {16, 1, 5, 5}},  {"conv1/conv/b", {16}},      {"conv2/conv/W", {16, 16, 5, 5}},
          {"conv2/conv/b", {16}},           {"affine3/affine/W", {256, 50}}, {"affine3/affine/b", {50}},
          {"affine4/affine/W", {50, 10}},   {"affine4/affine/b", {10}}};
}

// ResNet: a 3x3 convolution to 64 maps and its batch normalisation, five
// residual units of three convolutions (1x1 to 32, 3x3 32 to 32, 1x1 back to
// 64), each with its batch normalisation, and the classifier 64 -> 10.
Expected resnet() {
  Expected e;
  auto conv_bn = [&e](const std::string& scope, nnvae::Shape_t w) {
    const int64_t c = w[0];
    e.push_back({scope + "/conv/W", w});
    for (const char* p : {"beta", "gamma", "mean", "variance"}) e.push_back({scope + "/bn/" + p, {1, c, 1, 1}});
  };
  conv_bn("conv1", {64, 1, 3, 3});
  for (int unit = 2; unit <= 6; ++unit) {
    const std::string u = "conv" + std::to_string(unit);
    conv_bn(u + "/conv1", {32, 64, 1, 1});
    conv_bn(u + "/conv2", {32, 32, 3, 3});
    conv_bn(u + "/conv3", {64, 32, 1, 1});
  }
  e.push_back({"classifier/affine/W", {64, 10}});
  e.push_back({"classifier/affine/b", {10}});
  return e;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

int check_params(const std::string& model, const std::string& path) {
  if (model != "lenet" && model != "resnet") {
    std::fprintf(stderr, "unknown model %s (lenet or resnet)\n", model.c_str());
    return 2;
  }
  const Expected expected = model == "lenet" ? lenet() : resnet();
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
      bool flags = r.need_grad == !(is_mean || is_var);
      if (is_mean || is_var) {
        ++running;
        for (float v : r.data)
          if (v != (is_mean ? 0.f : 1.f)) {
            ++moved;
            break;
          }
      }
      std::printf("%s %s%s%s%s\n", r.name.c_str(), nnvae::shape_str(r.shape).c_str(), right ? "" : " (unexpected)",
                  finite ? "" : " (not finite)", flags ? "" : " (wrong need_grad)");
      ok = ok && right && finite && flags;
      values += r.data.size();
    }
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
  std::fprintf(stderr, "usage: %s write-fixture DIR | params lenet|resnet FILE\n", argv[0]);
  return 2;
}
