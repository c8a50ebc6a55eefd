// Reading MNIST-style IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.
//
// Images: big-endian header magic 0x00000803, count, rows (28), cols (28),
// then count*rows*cols uint8 pixels, row-major. Labels: magic 0x00000801,
// count, then count uint8 labels in 0..9.
//
// Every reader checks the magic number, the 28x28 dimensions, the item count
// (when one is expected), that the size matches what the header promises,
// and that labels are within 0..9. Any defect throws nnvae::idx::IdxError (a
// std::runtime_error) whose message starts with the file's name and says
// what is wrong, e.g.
//   t10k-images-idx3-ubyte.gz: truncated: the header promises 10000 images
//   (7840016 bytes) but the file holds 7839000
// .gz files are read through zlib when NNVAE_HAVE_ZLIB is defined; otherwise
// they are refused with a message saying so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nnvae {
namespace idx {

struct IdxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;
constexpr int64_t kRows = 28;
constexpr int64_t kCols = 28;
constexpr int kNumClasses = 10;
// Refuse gzip streams that decompress to more than this: no MNIST-like file
// comes close (the largest real one is 47,040,016 bytes).
constexpr size_t kMaxDecompressed = size_t(64) << 20;

struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major, image after image
};

// Pass as expected_count to accept any count.
constexpr int64_t kAnyCount = -1;

// Which kind of file a buffer holds.
enum class IdxKind { images, labels };

// In-memory parsing (gzip data is recognised by its magic bytes 1f 8b and
// decompressed first). `name` only serves the error messages.
IdxImages parse_idx_images(const uint8_t* data, size_t size, const std::string& name,
                           int64_t expected_count = kAnyCount);
std::vector<uint8_t> parse_idx_labels(const uint8_t* data, size_t size, const std::string& name,
                                      int64_t expected_count = kAnyCount);
// The kind of a (decompressed) buffer from its magic number; throws if neither.
IdxKind idx_kind(const uint8_t* data, size_t size, const std::string& name);

// The decompressed bytes of a gzip buffer (every member; more than `limit`
// bytes are refused), or a copy of a buffer that is not gzip data. The one
// gzip reader of nnvae: Python's data package calls it too.
std::vector<uint8_t> decompress_if_gzip(const uint8_t* data, size_t size, const std::string& name,
                                        size_t limit = kMaxDecompressed);

// A file's IDX content from its bytes: decompressed when `name` ends in .gz
// (then the bytes must be gzip data) or the bytes start with the gzip magic.
std::vector<uint8_t> idx_content(const uint8_t* data, size_t size, const std::string& name);

// A file's IDX content: decompressed when its name ends in .gz or its bytes
// start with the gzip magic. Only a regular file of at most kMaxDecompressed
// bytes is read (opened without blocking: a FIFO, a device or a folder is
// refused, naming what it is).
std::vector<uint8_t> read_idx_bytes(const std::string& path);

IdxImages read_idx_images(const std::string& path, int64_t expected_count = kAnyCount);
std::vector<uint8_t> read_idx_labels(const std::string& path, int64_t expected_count = kAnyCount);

struct MnistSplit {
  IdxImages images;
  std::vector<uint8_t> labels;
  std::string images_path, labels_path;  // the files actually read
};

// `folder`/`name`.gz, else `folder`/`name`, whichever is there (anything but
// a folder counts, so that a FIFO or a device under the name is refused by
// name when read rather than passed over); "" when neither is.
std::string find_idx_file(const std::string& folder, const std::string& name);

// How many items a split must hold: MNIST's (60,000 for "train", 10,000 for
// "test"), or any number (a subset, a small test fixture).
enum class SplitCount { mnist, any };

// One split ("train" or "test") of MNIST or Fashion-MNIST from `folder`
// (train-* or t10k-* files), trying `name.gz` then `name` for each file, and
// checking that images and labels agree in count.
MnistSplit load_mnist_split(const std::string& folder, const std::string& split,
                            SplitCount count = SplitCount::mnist);

}  // namespace idx
}  // namespace nnvae
