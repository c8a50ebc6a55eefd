// Helper of the test that builds NNabla's VAE program on nnvae::nbla_compat:
//
//   nnabla_vae_check write-fixture DIR  writes the four MNIST .gz files the
//                                       program reads (a small synthetic set)
//   nnabla_vae_check params FILE        checks FILE holds the VAE's 14
//                                       parameters, named and shaped as the
//                                       program creates them, all finite
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nnvae/parameter_file.hpp>

namespace {

void put_u32(std::vector<unsigned char>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(v >> s));
}

bool write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb1");
  if (!f) return false;
  bool ok = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size());
  return gzclose(f) == Z_OK && ok;
}

// n images of 28x28: image i is a bright rectangle whose place and size
// follow i (so the images differ and a VAE can learn them), label i % 10.
int write_fixture(const std::string& dir) {
  const std::pair<const char*, uint32_t> splits[] = {{"train", 300}, {"t10k", 100}};
  for (auto& [prefix, n] : splits) {
    std::vector<unsigned char> img, lab;
    put_u32(img, 0x00000803);
    put_u32(img, n);
    put_u32(img, 28);
    put_u32(img, 28);
    put_u32(lab, 0x00000801);
    put_u32(lab, n);
    for (uint32_t i = 0; i < n; ++i) {
      int top = 2 + int(i % 7) * 2, left = 2 + int(i / 7 % 7) * 2, h = 6 + int(i % 5), w = 5 + int(i % 3) * 2;
      for (int r = 0; r < 28; ++r)
        for (int c = 0; c < 28; ++c)
          img.push_back(r >= top && r < top + h && c >= left && c < left + w ? 230 : 10);
      lab.push_back(static_cast<unsigned char>(i % 10));
    }
    std::string base = dir + "/" + prefix;
    if (!write_gz(base + "-images-idx3-ubyte.gz", img) || !write_gz(base + "-labels-idx1-ubyte.gz", lab)) {
      std::fprintf(stderr, "cannot write the MNIST fixture into %s\n", dir.c_str());
      return 1;
    }
  }
  return 0;
}

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
  if (argc == 3 && cmd == "write-fixture") return write_fixture(argv[2]);
  if (argc == 3 && cmd == "params") return check_params(argv[2]);
  std::fprintf(stderr, "usage: %s write-fixture DIR | params FILE\n", argv[0]);
  return 2;
}
