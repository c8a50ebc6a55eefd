// IDX reader: see nnvae/vae/idx.hpp for the format and the checks.
#include "nnvae/vae/idx.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <sys/stat.h>

#include "nnvae/input_file.hpp"

#ifdef NNVAE_HAVE_ZLIB
#include <zlib.h>
#endif

namespace nnvae {
namespace idx {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw IdxError(name + ": " + what);
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// `folder`/`name`, with one slash between them.
std::string join(const std::string& folder, const std::string& name) {
  return folder.empty() || folder.back() == '/' ? folder + name : folder + "/" + name;
}

bool is_gzip(const uint8_t* data, size_t size) { return size >= 2 && data[0] == 0x1f && data[1] == 0x8b; }

const char* what_of(uint32_t magic) { return magic == kImagesMagic ? "images" : "labels"; }

// Header fields of a checked, decompressed buffer.
struct Header {
  uint32_t magic;
  int64_t count;
  size_t header_size;
};

// Checks everything but the label values; `want` is the kind the caller needs.
Header check(const uint8_t* data, size_t size, const std::string& name, IdxKind want, int64_t expected_count) {
  if (size < 4) fail(name, "truncated: " + std::to_string(size) + " bytes cannot hold an IDX header");
  const uint32_t magic = be32(data);
  if (magic != kImagesMagic && magic != kLabelsMagic)
    fail(name, "wrong magic number " + hex32(magic) + ": expected " + hex32(kImagesMagic) + " (images) or " +
                   hex32(kLabelsMagic) + " (labels); this is not an MNIST-style IDX file");
  const bool images = magic == kImagesMagic;
  if (images != (want == IdxKind::images)) {
    const char* wanted = want == IdxKind::images ? "images" : "labels";
    const uint32_t want_magic = want == IdxKind::images ? kImagesMagic : kLabelsMagic;
    fail(name, "wrong magic number " + hex32(magic) + ": this is a " + what_of(magic) + " file where " + wanted +
                   " (" + hex32(want_magic) + ") were expected");
  }
  const size_t header = images ? 16 : 8;
  if (size < header)
    fail(name, std::string("truncated: the ") + what_of(magic) + " header needs " + std::to_string(header) +
                   " bytes but the file holds " + std::to_string(size));
  const int64_t count = be32(data + 4);
  uint64_t item = 1;
  if (images) {
    const uint32_t rows = be32(data + 8), cols = be32(data + 12);
    if (rows != kRows || cols != kCols)
      fail(name, "wrong dimensions: the header says " + std::to_string(rows) + "x" + std::to_string(cols) +
                     " images, expected " + std::to_string(kRows) + "x" + std::to_string(kCols));
    item = uint64_t(kRows * kCols);
  }
  if (expected_count >= 0 && count != expected_count)
    fail(name, "wrong item count: the header says " + std::to_string(count) + " " + what_of(magic) +
                   ", expected " + std::to_string(expected_count));
  // count < 2^32 and item = 784, so this cannot overflow 64 bits.
  const uint64_t expected_size = uint64_t(header) + uint64_t(count) * item;
  const std::string promise = "the header promises " + std::to_string(count) + " " + what_of(magic) + " (" +
                              std::to_string(expected_size) + " bytes) but the file holds " + std::to_string(size);
  if (uint64_t(size) < expected_size) fail(name, "truncated: " + promise);
  if (uint64_t(size) > expected_size)
    fail(name, "too long: " + promise + " (" + std::to_string(uint64_t(size) - expected_size) +
                   " bytes of trailing data)");
  return {magic, count, header};
}

#ifdef NNVAE_HAVE_ZLIB
[[noreturn]] void too_large(const std::string& name, size_t limit) {
  fail(name, "broken gzip: it decompresses to more than " + std::to_string(limit) +
                 " bytes, far more than any MNIST-like file");
}

std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name, size_t limit) {
  std::vector<uint8_t> out;
  // The last 4 bytes of a gzip file give its (last member's) size mod 2^32:
  // a good first guess for one member; grow as needed otherwise. Deflate
  // expands at most about 1032:1, which bounds a lying trailer's guess.
  size_t guess = size * 5;
  if (size >= 18) {
    const uint8_t* t = data + size - 4;
    const size_t isize = uint32_t(t[0]) | (uint32_t(t[1]) << 8) | (uint32_t(t[2]) << 16) | (uint32_t(t[3]) << 24);
    guess = std::max(guess, std::min(isize, size * 1032));
  }
  out.resize(std::min(limit + 1, std::max<size_t>(guess, size_t(1) << 16)));
  size_t produced = 0;
  size_t consumed = 0;
  // One gzip member per pass; members are concatenated, as gzip(1) does.
  while (true) {
    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(name, "broken gzip: zlib cannot start");
    zs.next_in = const_cast<Bytef*>(data + consumed);
    size_t in_left = size - consumed;  // not yet handed to zlib
    while (true) {
      // zlib counts in 32-bit uInt: hand over input and output space in pieces.
      if (zs.avail_in == 0 && in_left > 0) {
        zs.avail_in = uInt(std::min<size_t>(in_left, size_t(1) << 30));
        in_left -= zs.avail_in;
      }
      if (produced == out.size()) {
        if (out.size() > limit) {
          inflateEnd(&zs);
          too_large(name, limit);
        }
        out.resize(std::min(limit + 1, out.size() * 2));
      }
      zs.next_out = out.data() + produced;
      zs.avail_out = uInt(std::min<size_t>(out.size() - produced, size_t(1) << 30));
      const uInt room = zs.avail_out;
      const int rc = inflate(&zs, Z_NO_FLUSH);
      produced += room - zs.avail_out;
      if (rc == Z_STREAM_END) break;
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // needs more room
      std::string why;
      if (rc == Z_BUF_ERROR)  // needs more input and there is none
        why = "the compressed stream ends early (the .gz file is truncated)";
      else
        why = zs.msg ? zs.msg : "zlib error " + std::to_string(rc);
      inflateEnd(&zs);
      fail(name, "broken gzip: " + why);
    }
    consumed = size_t(zs.next_in - data);
    inflateEnd(&zs);
    if (produced > limit) too_large(name, limit);
    // After the last member: nothing, or zero padding (tolerated like gzip(1)).
    const uint8_t* rest = data + consumed;
    const size_t rest_size = size - consumed;
    if (rest_size == 0 || std::all_of(rest, rest + rest_size, [](uint8_t b) { return b == 0; })) break;
    if (!is_gzip(rest, rest_size))
      fail(name, "broken gzip: " + std::to_string(rest_size) + " bytes of garbage after the compressed stream");
  }
  out.resize(produced);
  return out;
}
#endif

}  // namespace

std::vector<uint8_t> decompress_if_gzip(const uint8_t* data, size_t size, const std::string& name, size_t limit) {
  if (!is_gzip(data, size)) return std::vector<uint8_t>(data, data + size);
#ifdef NNVAE_HAVE_ZLIB
  return gunzip(data, size, name, limit);
#else
  fail(name, "gzip-compressed, but this build of nnvae has no zlib: decompress it (gunzip) and use the plain file");
#endif
}

IdxKind idx_kind(const uint8_t* data, size_t size, const std::string& name) {
  if (size < 4) fail(name, "truncated: " + std::to_string(size) + " bytes cannot hold an IDX header");
  const uint32_t magic = be32(data);
  if (magic == kImagesMagic) return IdxKind::images;
  if (magic == kLabelsMagic) return IdxKind::labels;
  fail(name, "wrong magic number " + hex32(magic) + ": expected " + hex32(kImagesMagic) + " (images) or " +
                 hex32(kLabelsMagic) + " (labels); this is not an MNIST-style IDX file");
}

namespace {

IdxImages images_from(const uint8_t* data, size_t size, const std::string& name, int64_t expected_count) {
  const Header h = check(data, size, name, IdxKind::images, expected_count);
  IdxImages out;
  out.count = h.count;
  out.rows = kRows;
  out.cols = kCols;
  out.pixels.assign(data + h.header_size, data + size);
  return out;
}

std::vector<uint8_t> labels_from(const uint8_t* data, size_t size, const std::string& name, int64_t expected_count) {
  const Header h = check(data, size, name, IdxKind::labels, expected_count);
  std::vector<uint8_t> labels(data + h.header_size, data + size);
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= kNumClasses)
      fail(name, "label " + std::to_string(int(labels[i])) + " at index " + std::to_string(i) + " is outside 0.." +
                     std::to_string(kNumClasses - 1));
  return labels;
}

}  // namespace

IdxImages parse_idx_images(const uint8_t* data, size_t size, const std::string& name, int64_t expected_count) {
  if (is_gzip(data, size)) {
    const std::vector<uint8_t> raw = decompress_if_gzip(data, size, name);
    return images_from(raw.data(), raw.size(), name, expected_count);
  }
  return images_from(data, size, name, expected_count);
}

std::vector<uint8_t> parse_idx_labels(const uint8_t* data, size_t size, const std::string& name,
                                      int64_t expected_count) {
  if (is_gzip(data, size)) {
    const std::vector<uint8_t> raw = decompress_if_gzip(data, size, name);
    return labels_from(raw.data(), raw.size(), name, expected_count);
  }
  return labels_from(data, size, name, expected_count);
}

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  // A compressed file larger than kMaxDecompressed cannot be MNIST-like either.
  try {
    return input_file::read_regular(path, int64_t(kMaxDecompressed), "data file");
  } catch (const input_file::Error& e) {
    throw IdxError(e.what());
  }
}

}  // namespace

std::vector<uint8_t> idx_content(const uint8_t* data, size_t size, const std::string& name) {
  if (ends_with(name, ".gz") && !is_gzip(data, size)) {
    std::ostringstream start;
    for (size_t i = 0; i < std::min<size_t>(4, size); ++i) {
      char b[4];
      std::snprintf(b, sizeof b, "%02x", data[i]);
      start << b;
    }
    fail(name, "broken gzip: not gzip data (it starts with " +
                   (size == 0 ? std::string("nothing, the file is empty") : start.str()) + ")");
  }
  return decompress_if_gzip(data, size, name);
}

std::vector<uint8_t> read_idx_bytes(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  if (!ends_with(path, ".gz") && !is_gzip(bytes.data(), bytes.size())) return bytes;  // no copy
  return idx_content(bytes.data(), bytes.size(), path);
}

IdxImages read_idx_images(const std::string& path, int64_t expected_count) {
  std::vector<uint8_t> raw = read_idx_bytes(path);
  const Header h = check(raw.data(), raw.size(), path, IdxKind::images, expected_count);
  IdxImages out;
  out.count = h.count;
  out.rows = kRows;
  out.cols = kCols;
  // Drop the header in place rather than copy the 47 MB body.
  raw.erase(raw.begin(), raw.begin() + std::ptrdiff_t(h.header_size));
  out.pixels = std::move(raw);
  return out;
}

std::vector<uint8_t> read_idx_labels(const std::string& path, int64_t expected_count) {
  const std::vector<uint8_t> raw = read_idx_bytes(path);
  return labels_from(raw.data(), raw.size(), path, expected_count);
}

namespace {

// Present without opening it (opening a FIFO would wait for a writer):
// anything but a folder counts, and is then refused by name when read.
bool present(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

std::string find_file(const std::string& folder, const std::string& name) {
  std::string found = find_idx_file(folder, name);
  if (found.empty())
    throw IdxError(join(folder, name) + ".gz: missing (neither " + name + ".gz nor " + name + " is in " + folder +
                   "); `nnvae data fetch` downloads the files, or copy them there by hand");
  return found;
}

}  // namespace

std::string find_idx_file(const std::string& folder, const std::string& name) {
  const std::string base = join(folder, name);
  if (present(base + ".gz")) return base + ".gz";
  if (present(base)) return base;
  return "";
}

MnistSplit load_mnist_split(const std::string& folder, const std::string& split, SplitCount expected) {
  std::string prefix;
  int64_t count;
  if (split == "train") {
    prefix = "train";
    count = 60000;
  } else if (split == "test") {
    prefix = "t10k";
    count = 10000;
  } else {
    throw std::invalid_argument("unknown split \"" + split + "\": choose \"train\" or \"test\"");
  }
  MnistSplit out;
  out.images_path = find_file(folder, prefix + "-images-idx3-ubyte");
  out.labels_path = find_file(folder, prefix + "-labels-idx1-ubyte");
  if (expected == SplitCount::any) count = kAnyCount;
  out.images = read_idx_images(out.images_path, count);
  out.labels = read_idx_labels(out.labels_path, count);
  if (out.images.count != int64_t(out.labels.size()))
    fail(out.labels_path, "holds " + std::to_string(out.labels.size()) + " labels but " + out.images_path +
                              " holds " + std::to_string(out.images.count) + " images");
  return out;
}

}  // namespace idx
}  // namespace nnvae
