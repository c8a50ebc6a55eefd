// Helper of the test that builds NNabla's VAE program on nnvae::nbla_compat:
//
//   nnabla_vae_check write-fixture DIR  writes the four MNIST .gz files the
//                                       program reads (a small synthetic set)
//   nnabla_vae_check params FILE        checks FILE holds the VAE's 14
//                                       parameters, named and shaped as the
//                                       program creates them, all finite
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nnvae/parameter_file.hpp>

#include "mnist_fixture.hpp"

namespace {

int check_params(const std::string& path) {
  const std::vector<std::pair<std::string, nnvae::Shape_t>> expected = {
      {"fc1/affine/W", {784, 500}},     {"fc1/affine/b", {500}}, {"fc2/affine/W", {500, 500}},
      {"fc2/affine/b", {500}},          {"fc_mu/affine/W", {500, 50}}, {"fc_mu/affine/b", {50}},
      {"fc_logvar/affine/W", {500, 50}}, {"fc_logvar/affine/b", {50}}, {"fc3/affine/W", {50, 500}},
      {"fc3/affine/b", {500}},          {"fc4/affine/W", {500, 500}}, {"fc4/affine/b", {500}},
      {"fc5/affine/W", {500, 784}},     {"fc5/affine/b", {784}}};
  try {
    auto records = nnvae::read_parameter_file(path);
    bool ok = records.size() == expected.size();
    size_t values = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      bool finite = true;
      for (float v : r.data) finite = finite && std::isfinite(v);
      bool right = i < expected.size() && r.name == expected[i].first && r.shape == expected[i].second;
      std::printf("%s %s %s%s\n", r.name.c_str(), nnvae::shape_str(r.shape).c_str(), right ? "" : "(unexpected)",
                  finite ? "" : " (not finite)");
      ok = ok && right && finite;
      values += r.data.size();
    }
    std::printf("%s: %zu parameters, %zu values\n", path.c_str(), records.size(), values);
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (argc == 3 && cmd == "write-fixture") return nnabla_example::write_fixture(argv[2]);
  if (argc == 3 && cmd == "params") return check_params(argv[2]);
  std::fprintf(stderr, "usage: %s write-fixture DIR | params FILE\n", argv[0]);
  return 2;
}
