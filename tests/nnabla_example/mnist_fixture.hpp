// The small synthetic MNIST the tests of NNabla's example programs train on:
// write_fixture(DIR) writes the four .gz files the programs read (300
// training and 100 test images). The programs read 60,000 and 10,000 images
// whatever the files hold; past the end of a file they get zeros (blank
// images of label 0).
#pragma once
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace nnabla_example {

inline void put_u32(std::vector<unsigned char>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<unsigned char>(v >> s));
}

inline bool write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb1");
  if (!f) return false;
  bool ok = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size());
  return gzclose(f) == Z_OK && ok;
}

// n images of 28x28: image i is a bright rectangle whose place and size
// follow i (so the images differ and a VAE can learn them), label i % 10.
inline int write_fixture(const std::string& dir) {
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

}  // namespace nnabla_example
