// The C++ IDX reader: parsing, one specific error per kind of bad file,
// .gz through zlib, loading a split from a folder, a bounded fuzz run, and the
// real MNIST files when they are found where the data cache keeps them
// ($NNVAE_DATA/mnist, $XDG_CACHE_HOME/nnvae/mnist or ~/.cache/nnvae/mnist,
// where `nnvae data fetch` puts them) or in ../shared/data/mnist beside the
// repository; skipped, saying where it looked, otherwise.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "nnvae/vae/idx.hpp"

#ifdef NNVAE_HAVE_ZLIB
#include <zlib.h>
#endif

using namespace nnvae::idx;
using Bytes = std::vector<uint8_t>;

namespace {

void put32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

// n images whose pixel (i, r, c) is (7*i + r*28 + c) mod 256.
Bytes images_file(uint32_t n, uint32_t rows = 28, uint32_t cols = 28, uint32_t magic = kImagesMagic) {
  Bytes b;
  put32(b, magic);
  put32(b, n);
  put32(b, rows);
  put32(b, cols);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t p = 0; p < rows * cols; ++p) b.push_back(uint8_t(7 * i + p));
  return b;
}

// n labels i mod 10.
Bytes labels_file(uint32_t n) {
  Bytes b;
  put32(b, kLabelsMagic);
  put32(b, n);
  for (uint32_t i = 0; i < n; ++i) b.push_back(uint8_t(i % 10));
  return b;
}

void set32(Bytes& b, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + k] = uint8_t(v >> (24 - 8 * k));
}

#ifdef NNVAE_HAVE_ZLIB
Bytes gzip(const Bytes& raw) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  Bytes out(deflateBound(&zs, uLong(raw.size())) + 64);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = uInt(raw.size());
  zs.next_out = out.data();
  zs.avail_out = uInt(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
#endif

std::string temp_dir() {
  char tmpl[] = "/tmp/nnvae_test_idx_XXXXXX";
  const char* d = mkdtemp(tmpl);
  if (!d) throw std::runtime_error("mkdtemp failed");
  return d;
}

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

void remove_tree(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& n : names) std::remove((dir + "/" + n).c_str());
  rmdir(dir.c_str());
}

IdxImages parse_images(const Bytes& b, int64_t expected = kAnyCount) {
  return parse_idx_images(b.data(), b.size(), "x.idx", expected);
}
Bytes parse_labels(const Bytes& b, int64_t expected = kAnyCount) {
  return parse_idx_labels(b.data(), b.size(), "y.idx", expected);
}

}  // namespace

TEST(parses_images_and_labels) {
  const Bytes img = images_file(3);
  IdxImages im = parse_images(img, 3);
  CHECK_EQ(im.count, 3);
  CHECK_EQ(im.rows, 28);
  CHECK_EQ(im.cols, 28);
  CHECK_EQ(im.pixels.size(), size_t(3 * 784));
  CHECK_EQ(int(im.pixels[784 + 5]), (7 + 5) % 256);  // image 1, pixel (0, 5)
  const Bytes lab = parse_labels(labels_file(12), 12);
  CHECK_EQ(lab.size(), size_t(12));
  CHECK_EQ(int(lab[11]), 1);
  CHECK(idx_kind(img.data(), img.size(), "x") == IdxKind::images);
  CHECK_EQ(parse_images(images_file(0)).count, 0);
}

TEST(truncated_file_says_what_the_header_promises) {
  Bytes b = images_file(10);
  b.resize(b.size() - 1000);
  CHECK_THROWS_WITH(parse_images(b), "x.idx: truncated: the header promises 10 images (7856 bytes) but the file holds 6856");
  Bytes l = labels_file(5);
  l.pop_back();
  CHECK_THROWS_WITH(parse_labels(l), "y.idx: truncated: the header promises 5 labels (13 bytes) but the file holds 12");
  CHECK_THROWS_WITH(parse_images(Bytes{0, 0, 8}), "x.idx: truncated: 3 bytes cannot hold an IDX header");
  CHECK_THROWS_WITH(parse_images(Bytes{0, 0, 8, 3, 0, 0}), "truncated: the images header needs 16 bytes but the file holds 6");
}

TEST(trailing_data_is_refused) {
  Bytes b = labels_file(5);
  b.push_back(1);
  CHECK_THROWS_WITH(parse_labels(b), "y.idx: too long: the header promises 5 labels (13 bytes) but the file holds 14 (1 bytes of trailing data)");
}

TEST(wrong_magic) {
  Bytes b = images_file(2, 28, 28, 0x00000804);
  CHECK_THROWS_WITH(parse_images(b), "x.idx: wrong magic number 0x00000804");
  CHECK_THROWS_WITH(parse_labels(images_file(2)), "y.idx: wrong magic number 0x00000803: this is a images file where labels");
  CHECK_THROWS_WITH(parse_images(labels_file(2)), "this is a labels file where images (0x00000803) were expected");
}

TEST(wrong_dimensions) {
  CHECK_THROWS_WITH(parse_images(images_file(2, 27, 28)), "x.idx: wrong dimensions: the header says 27x28 images, expected 28x28");
  CHECK_THROWS_WITH(parse_images(images_file(1, 28, 32)), "28x32");
}

TEST(count_mismatch) {
  CHECK_THROWS_WITH(parse_images(images_file(3), 4), "x.idx: wrong item count: the header says 3 images, expected 4");
  CHECK_THROWS_WITH(parse_labels(labels_file(3), 10000), "wrong item count: the header says 3 labels, expected 10000");
}

TEST(label_out_of_range) {
  Bytes b = labels_file(20);
  b[8 + 13] = 12;
  CHECK_THROWS_WITH(parse_labels(b), "y.idx: label 12 at index 13 is outside 0..9");
}

TEST(huge_count_does_not_allocate) {
  Bytes b = images_file(1);
  set32(b, 4, 0xffffffffu);
  CHECK_THROWS_WITH(parse_images(b), "truncated: the header promises 4294967295 images (3367254359296 bytes)");
}

#ifdef NNVAE_HAVE_ZLIB
TEST(gzip_in_memory_and_broken_gzip) {
  const Bytes raw = images_file(4);
  const Bytes gz = gzip(raw);
  CHECK(gz.size() < raw.size());
  IdxImages im = parse_idx_images(gz.data(), gz.size(), "a.gz", 4);
  CHECK(im.pixels == Bytes(raw.begin() + 16, raw.end()));
  // Two members concatenated, as `cat a.gz b.gz` makes, decompress as one.
  Bytes half1(raw.begin(), raw.begin() + 1000), half2(raw.begin() + 1000, raw.end());
  Bytes two = gzip(half1);
  const Bytes g2 = gzip(half2);
  two.insert(two.end(), g2.begin(), g2.end());
  CHECK_EQ(parse_idx_images(two.data(), two.size(), "two.gz").count, 4);

  Bytes cut(gz.begin(), gz.begin() + gz.size() / 2);
  CHECK_THROWS_WITH(parse_idx_images(cut.data(), cut.size(), "a.gz"), "a.gz: broken gzip: the compressed stream ends early");
  Bytes flipped = gz;
  flipped[gz.size() - 6] ^= 0xff;  // inside the CRC-32 trailer
  CHECK_THROWS_WITH(parse_idx_images(flipped.data(), flipped.size(), "a.gz"), "a.gz: broken gzip: incorrect data check");
  Bytes garbage = gz;
  garbage.push_back('x');
  CHECK_THROWS_WITH(parse_idx_images(garbage.data(), garbage.size(), "a.gz"), "1 bytes of garbage after the compressed stream");
  Bytes padded = gz;
  padded.insert(padded.end(), 8, 0);
  CHECK_EQ(parse_idx_images(padded.data(), padded.size(), "a.gz").count, 4);
}

TEST(gzip_bomb_is_refused) {
  const Bytes zeros(kMaxDecompressed + 100, 0);
  const Bytes gz = gzip(zeros);
  CHECK_THROWS_WITH(parse_idx_images(gz.data(), gz.size(), "bomb.gz"), "bomb.gz: broken gzip: it decompresses to more than");
}
#else
TEST(gzip_without_zlib_is_a_clear_error) {
  const Bytes gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  CHECK_THROWS_WITH(parse_idx_images(gz.data(), gz.size(), "a.gz"), "a.gz: gzip-compressed, but this build of nnvae has no zlib");
}
#endif

TEST(files_and_split_folder) {
  const std::string dir = temp_dir();
  // The test split: exactly 10,000 items, labels gzipped (when zlib is
  // there), images plain.
  Bytes img = images_file(10000);
  Bytes lab = labels_file(10000);
  write_file(dir + "/t10k-images-idx3-ubyte", img);
#ifdef NNVAE_HAVE_ZLIB
  write_file(dir + "/t10k-labels-idx1-ubyte.gz", gzip(lab));
  const std::string lab_name = "t10k-labels-idx1-ubyte.gz";
#else
  write_file(dir + "/t10k-labels-idx1-ubyte", lab);
  const std::string lab_name = "t10k-labels-idx1-ubyte";
#endif
  MnistSplit s = load_mnist_split(dir, "test");
  CHECK_EQ(s.images.count, 10000);
  CHECK_EQ(s.labels.size(), size_t(10000));
  CHECK_EQ(s.labels_path, dir + "/" + lab_name);
  CHECK_EQ(int(s.labels[9999]), 9);

  CHECK_THROWS_WITH(load_mnist_split(dir, "train"), "train-images-idx3-ubyte.gz: missing (neither train-images-idx3-ubyte.gz nor");
  CHECK_THROWS_WITH(load_mnist_split(dir, "valid"), "unknown split");
  // A count that disagrees with the split is named with the file.
  write_file(dir + "/t10k-images-idx3-ubyte", images_file(9999));
  CHECK_THROWS_WITH(load_mnist_split(dir, "test"), dir + "/t10k-images-idx3-ubyte: wrong item count: the header says 9999 images, expected 10000");
  write_file(dir + "/bad.gz", labels_file(3));
  CHECK_THROWS_WITH(read_idx_labels(dir + "/bad.gz"), "bad.gz: broken gzip: not gzip data (it starts with 00000801)");
  CHECK_THROWS_WITH(read_idx_labels(dir + "/nothere"), dir + "/nothere: no such file");
  remove_tree(dir, {"t10k-images-idx3-ubyte", lab_name, "bad.gz"});
}

// A FIFO under a data file's name is found (not passed over for the plain
// name) and refused at once, naming it, instead of waiting for a writer; so
// is a device. The reads run in a child, so a hang fails the test.
TEST(a_fifo_or_device_is_refused_at_once) {
  const std::string dir = temp_dir();
  const std::string fifo = dir + "/t10k-images-idx3-ubyte.gz";
  CHECK_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  write_file(dir + "/t10k-images-idx3-ubyte", images_file(10000));
  write_file(dir + "/t10k-labels-idx1-ubyte", labels_file(10000));
  CHECK_EQ(find_idx_file(dir, "t10k-images-idx3-ubyte"), fifo);
  CHECK_EQ(find_idx_file(dir + "/", "t10k-labels-idx1-ubyte"), dir + "/t10k-labels-idx1-ubyte");
  CHECK_EQ(find_idx_file(dir, "train-images-idx3-ubyte"), std::string());
  nnvae_test::passes_within(5, "reading a FIFO", [&] {
    CHECK_THROWS_WITH(load_mnist_split(dir, "test"), fifo + ": is a FIFO, not a regular file; a data file must be one");
    CHECK_THROWS_WITH(read_idx_images(fifo), fifo + ": is a FIFO, not a regular file; a data file must be one");
  });
  nnvae_test::passes_within(5, "reading a device", [&] {
    CHECK_THROWS_WITH(read_idx_bytes("/dev/zero"), "/dev/zero: is a device, not a regular file; a data file must be one");
  });
  CHECK_THROWS_WITH(read_idx_bytes(dir), dir + ": is a folder, not a data file");
  remove_tree(dir, {"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"});
}

TEST(fuzz_raises_only_idx_errors) {
  // Random mutations of small valid files (plain and gzip) must either parse
  // or throw IdxError: no other exception, no crash.
  std::mt19937 rng(12345);
  std::vector<Bytes> seeds = {images_file(2), labels_file(30)};
#ifdef NNVAE_HAVE_ZLIB
  seeds.push_back(gzip(images_file(2)));
  seeds.push_back(gzip(labels_file(30)));
#endif
  int parsed = 0, refused = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    Bytes b = seeds[iter % seeds.size()];
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 5) {
        case 0:  // flip a byte
          if (!b.empty()) b[rng() % b.size()] ^= uint8_t(1 + rng() % 255);
          break;
        case 1:  // truncate
          b.resize(rng() % (b.size() + 1));
          break;
        case 2:  // append junk
          for (int k = int(rng() % 20); k > 0; --k) b.push_back(uint8_t(rng()));
          break;
        case 3:  // overwrite a header word
          if (b.size() >= 16) set32(b, 4 * (rng() % 4), uint32_t(rng()));
          break;
        default:  // small count change
          if (b.size() >= 8) set32(b, 4, uint32_t(rng() % 40));
          break;
      }
    }
    try {
      if (rng() % 2)
        parse_idx_images(b.data(), b.size(), "fuzz");
      else
        parse_idx_labels(b.data(), b.size(), "fuzz");
      ++parsed;
    } catch (const IdxError& e) {
      ++refused;
      CHECK(std::string(e.what()).rfind("fuzz: ", 0) == 0);
    } catch (const std::exception& e) {
      FAIL_AT("iteration " << iter << " threw a non-IdxError: " << e.what());
    }
  }
  CHECK(refused > 1000);
  CHECK_EQ(parsed + refused, 4000);
}

// The first of the data cache's MNIST folder and the shared copy that holds
// the test labels (.gz or plain); "" when neither does. `looked` lists both.
std::string real_mnist_dir(std::string& looked) {
  std::vector<std::string> candidates;
  const char* data = std::getenv("NNVAE_DATA");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (data && *data)
    candidates.push_back(std::string(data) + "/mnist");
  else if (xdg && *xdg == '/')
    candidates.push_back(std::string(xdg) + "/nnvae/mnist");
  else if (home && *home)
    candidates.push_back(std::string(home) + "/.cache/nnvae/mnist");
  candidates.push_back(std::string(NNVAE_SOURCE_DIR) + "/../shared/data/mnist");
  for (const auto& dir : candidates) {
    looked += (looked.empty() ? "" : " or ") + dir;
    if (!find_idx_file(dir, "t10k-labels-idx1-ubyte").empty()) return dir;
  }
  return "";
}

TEST(real_mnist_when_present) {
  std::string looked;
  const std::string dir = real_mnist_dir(looked);
  if (dir.empty()) {
    std::printf("  (skipped: no MNIST in %s; `nnvae data fetch` puts it in the data cache)\n", looked.c_str());
    return;
  }
#ifndef NNVAE_HAVE_ZLIB
  std::printf("  (skipped: built without zlib)\n");
  return;
#endif
  MnistSplit train = load_mnist_split(dir, "train");
  MnistSplit test = load_mnist_split(dir, "test");
  CHECK_EQ(train.images.count, 60000);
  CHECK_EQ(test.images.count, 10000);
  // Facts of the official files (their published checksums pin them):
  // the first labels, and the pixel and label sums.
  CHECK_EQ(int(train.labels[0]), 5);
  CHECK_EQ(int(test.labels[0]), 7);
  const uint64_t train_pixels = std::accumulate(train.images.pixels.begin(), train.images.pixels.end(), uint64_t(0));
  const uint64_t test_labels = std::accumulate(test.labels.begin(), test.labels.end(), uint64_t(0));
  CHECK_EQ(train_pixels, uint64_t(1567298545));
  CHECK_EQ(test_labels, uint64_t(44434));
}

NNVAE_TEST_MAIN()
