// A small deterministic mutation fuzzer for the readers of untrusted bytes:
// the IDX decoder (nnvae/vae/idx.hpp), the parameter-file decoder
// (nnvae/parameter_file.hpp) and the solver-state decoder
// (nnvae/solver_state_file.hpp). No libFuzzer needed: it starts from valid
// encodings built here, mutates them with a fixed-seed generator (bit flips,
// interesting integers over header fields, insertions, deletions, truncation,
// splices) and feeds each input to the decoder. Every input must either
// decode or throw the reader's own error type (IdxError, ParameterFileError);
// anything else (another exception, a crash, an ASan/UBSan report) fails.
// Decoded results are checked for consistency (sizes agree with the header;
// no more float values than the input has bytes for, so a lying length field
// cannot make the reader allocate; a protobuf result re-encodes to bytes that
// decode and encode to the same bytes again).
//
//   fuzz_readers idx|params|states [--seconds S] [--iterations N] [--seed K]
//
// It stops at whichever bound comes first and prints the count of inputs
// run, decoded and refused.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnvae/parameter_file.hpp"
#include "nnvae/solver_state_file.hpp"
#include "nnvae/vae/idx.hpp"
#ifdef NNVAE_HAVE_ZLIB
#include <zlib.h>
#endif

using Bytes = std::vector<uint8_t>;

namespace {

// xorshift64*: the same inputs on every run and machine.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  size_t below(size_t n) { return n ? static_cast<size_t>(next() % n) : 0; }
};

void put_be32(Bytes& b, uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Bytes idx_images(uint32_t count) {
  Bytes b;
  put_be32(b, nnvae::idx::kImagesMagic);
  put_be32(b, count);
  put_be32(b, 28);
  put_be32(b, 28);
  for (uint32_t i = 0; i < count * 784; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  return b;
}

Bytes idx_labels(uint32_t count) {
  Bytes b;
  put_be32(b, nnvae::idx::kLabelsMagic);
  put_be32(b, count);
  for (uint32_t i = 0; i < count; ++i) b.push_back(static_cast<uint8_t>(i % 10));
  return b;
}

#ifdef NNVAE_HAVE_ZLIB
// `raw` as one gzip member (the reader decompresses before parsing).
Bytes gzip(const Bytes& raw) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  Bytes out(deflateBound(&z, static_cast<uLong>(raw.size())) + 32);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}
#endif

Bytes parameter_file() {
  std::vector<nnvae::ParameterRecord> recs(3);
  recs[0] = {"fc1/affine/W", {3, 4}, std::vector<float>(12, 0.5f), true};
  recs[1] = {"fc1/affine/b", {4}, {1, -2, 3.5f, 1e30f}, false};
  recs[2] = {"s", {}, {7}, true};
  std::string s = nnvae::encode_parameters_protobuf(recs);
  return Bytes(s.begin(), s.end());
}

// Solver state files as save_states writes them: Adam's (mean and var per
// parameter, several parameters, a 0-dim one), SGD's (no arrays; t 0 is
// omitted) and none at all.
std::vector<Bytes> solver_state_files() {
  using nnvae::SolverStateRecord;
  std::vector<std::vector<SolverStateRecord>> files = {
      {{"fc1/affine/W", 12, {{"mean", {2, 3}, {1, -2, 3, 4e-8f, 5, 6}}, {"var", {2, 3}, std::vector<float>(6, 0.25f)}}},
       {"fc1/affine/b", 12, {{"mean", {3}, {0, -0.5f, 1e30f}}, {"var", {3}, {1, 2, 3}}}},
       {"s", 1, {{"mean", {}, {7}}, {"var", {}, {49}}}}},
      {{"fc1/affine/W", 0, {}}, {"fc1/affine/b", 5, {}}},
      {}};
  std::vector<Bytes> out;
  for (auto& f : files) {
    std::string s = nnvae::encode_solver_states_protobuf(f);
    out.emplace_back(s.begin(), s.end());
  }
  return out;
}

// One random edit of `b`.
void mutate(Bytes& b, const std::vector<Bytes>& seeds, Rng& r) {
  static const uint64_t interesting[] = {0,          1,          0x7f,       0x80,       0xff,
                                         0x7fff,     0xffff,     0x7fffffff, 0x80000000, 0xffffffff,
                                         28,         784,        0x803,      0x801,      1ull << 62,
                                         ~0ull >> 1, ~0ull,      64,         65,         0x1f8b};
  switch (r.below(8)) {
    case 0:  // flip a bit
      if (!b.empty()) b[r.below(b.size())] ^= static_cast<uint8_t>(1u << r.below(8));
      break;
    case 1:  // a random byte
      if (!b.empty()) b[r.below(b.size())] = static_cast<uint8_t>(r.next());
      break;
    case 2: {  // an interesting integer, 1/2/4/8 bytes, either byte order
      if (b.empty()) break;
      uint64_t v = interesting[r.below(sizeof interesting / sizeof *interesting)];
      size_t width = size_t(1) << r.below(4), at = r.below(b.size());
      bool big = r.below(2);
      for (size_t i = 0; i < width && at + i < b.size(); ++i)
        b[at + i] = static_cast<uint8_t>(v >> (8 * (big ? width - 1 - i : i)));
      break;
    }
    case 3: {  // insert random bytes
      size_t n = 1 + r.below(16), at = r.below(b.size() + 1);
      Bytes ins(n);
      for (auto& c : ins) c = static_cast<uint8_t>(r.next());
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
      break;
    }
    case 4: {  // delete a range
      if (b.empty()) break;
      size_t at = r.below(b.size()), n = 1 + r.below(std::min<size_t>(b.size() - at, 32));
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
      break;
    }
    case 5:  // truncate
      b.resize(r.below(b.size() + 1));
      break;
    case 6: {  // splice: the head of this one, the tail of a seed
      const Bytes& o = seeds[r.below(seeds.size())];
      size_t cut = r.below(b.size() + 1), from = r.below(o.size() + 1);
      b.resize(cut);
      b.insert(b.end(), o.begin() + static_cast<std::ptrdiff_t>(from), o.end());
      break;
    }
    default: {  // duplicate a chunk in place
      if (b.empty()) break;
      size_t at = r.below(b.size()), n = 1 + r.below(std::min<size_t>(b.size() - at, 64));
      Bytes chunk(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(r.below(b.size() + 1)), chunk.begin(), chunk.end());
      break;
    }
  }
}

[[noreturn]] void fail(const std::string& what, const Bytes& input) {
  std::fprintf(stderr, "FAIL: %s\ninput (%zu bytes):", what.c_str(), input.size());
  for (size_t i = 0; i < input.size() && i < 256; ++i) std::fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ", input[i]);
  std::fprintf(stderr, "\n");
  std::exit(1);
}

// Returns true if the input decoded, false if refused by the reader's error.
bool run_idx(const Bytes& in) {
  try {
    // The kind from the decompressed bytes; the parsers get the input as is.
    Bytes plain = nnvae::idx::decompress_if_gzip(in.data(), in.size(), "fuzz");
    if (plain.size() > nnvae::idx::kMaxDecompressed) fail("decompressed beyond the reader's limit", in);
    auto kind = nnvae::idx::idx_kind(plain.data(), plain.size(), "fuzz");
    if (kind == nnvae::idx::IdxKind::images) {
      auto im = nnvae::idx::parse_idx_images(in.data(), in.size(), "fuzz");
      if (static_cast<int64_t>(im.pixels.size()) != im.count * im.rows * im.cols)
        fail("images decoded with " + std::to_string(im.pixels.size()) + " pixels for count " +
                 std::to_string(im.count), in);
    } else {
      auto labels = nnvae::idx::parse_idx_labels(in.data(), in.size(), "fuzz");
      for (auto l : labels)
        if (l > 9) fail("a label out of 0..9 was accepted", in);
    }
    return true;
  } catch (const nnvae::idx::IdxError&) {
    return false;
  } catch (const std::exception& e) {
    fail(std::string("IDX reader threw something other than IdxError: ") + e.what(), in);
  }
}

// One decoded array: as many values as its shape holds, within the limit on
// dimensions; adds its values to `values`.
void check_shaped(const std::string& label, const nnvae::Shape_t& shape, const std::vector<float>& data,
                  size_t& values, const Bytes& in) {
  if (static_cast<int64_t>(data.size()) != nnvae::shape_size(shape))
    fail(label + " decoded with " + std::to_string(data.size()) + " values for shape " + nnvae::shape_str(shape), in);
  if (shape.size() > static_cast<size_t>(nnvae::kMaxParameterDims)) fail(label + ": too many dimensions accepted", in);
  values += data.size();
}

// A protobuf codec's contract on one input: decode(bytes, size, source)
// returns records or throws ParameterFileError; check(records) returns the
// number of float values they hold (after checking each array); what decodes
// re-encodes (unless encode refuses it with invalid_argument, e.g. duplicate
// names) to bytes that decode and encode to the same bytes.
template <typename Decode, typename Encode, typename Check>
bool run_protobuf(const Bytes& in, const char* codec, Decode decode, Encode encode, Check check) {
  try {
    auto recs = decode(reinterpret_cast<const char*>(in.data()), in.size(), std::string("fuzz"));
    size_t values = check(recs, in);
    if (values > in.size() / 4)
      fail(std::string(codec) + " decoded " + std::to_string(values) + " float values from " +
               std::to_string(in.size()) + " bytes",
           in);
    std::string again;
    try {
      again = encode(recs);
    } catch (const std::invalid_argument&) {
      return true;  // decodable, not re-encodable by design
    }
    auto back = decode(again.data(), again.size(), std::string("fuzz-reencoded"));
    if (back.size() != recs.size()) fail(std::string(codec) + ": re-encoding changed the number of records", in);
    if (encode(back) != again) fail(std::string(codec) + ": re-encoded bytes do not decode to the same records", in);
    return true;
  } catch (const nnvae::ParameterFileError&) {
    return false;
  } catch (const std::exception& e) {
    fail(std::string(codec) + " threw something other than ParameterFileError: " + e.what(), in);
  }
}

bool run_params(const Bytes& in) {
  return run_protobuf(
      in, "parameter decoder", nnvae::decode_parameters_protobuf, nnvae::encode_parameters_protobuf,
      [](const std::vector<nnvae::ParameterRecord>& recs, const Bytes& in) {
        size_t values = 0;
        for (auto& r : recs) check_shaped("parameter " + r.name, r.shape, r.data, values, in);
        return values;
      });
}

bool run_states(const Bytes& in) {
  return run_protobuf(
      in, "solver-state decoder", nnvae::decode_solver_states_protobuf, nnvae::encode_solver_states_protobuf,
      [](const std::vector<nnvae::SolverStateRecord>& recs, const Bytes& in) {
        size_t values = 0;
        for (auto& r : recs) {
          if (r.name.empty()) fail("a solver state without a parameter name was accepted", in);
          for (auto& a : r.arrays) check_shaped("state " + a.key + " of " + r.name, a.shape, a.data, values, in);
        }
        return values;
      });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fuzz_readers idx|params|states [--seconds S] [--iterations N] [--seed K]\n");
    return 2;
  }
  std::string target = argv[1];
  double seconds = 3;
  long long iterations = 200000, seed = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string opt = argv[i];
    if (opt == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (opt == "--iterations") iterations = std::atoll(argv[i + 1]);
    else if (opt == "--seed") seed = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", opt.c_str());
      return 2;
    }
  }
  std::vector<Bytes> seeds;
  std::function<bool(const Bytes&)> run;
  if (target == "idx") {
    seeds = {idx_images(2), idx_images(0), idx_labels(5), idx_labels(0)};
#ifdef NNVAE_HAVE_ZLIB
    seeds.push_back(gzip(idx_images(1)));
    seeds.push_back(gzip(idx_labels(3)));
#endif
    run = run_idx;
  } else if (target == "params") {
    seeds = {parameter_file(), Bytes{}};
    run = run_params;
  } else if (target == "states") {
    seeds = solver_state_files();
    seeds.push_back(Bytes{});
    run = run_states;
  } else {
    std::fprintf(stderr, "unknown target %s (idx, params or states)\n", target.c_str());
    return 2;
  }
  for (auto& s : seeds)
    if (!s.empty() && !run(s)) fail("a valid seed was refused", s);

  Rng rng(static_cast<uint64_t>(seed));
  auto t0 = std::chrono::steady_clock::now();
  long long n = 0, decoded = 0;
  for (; n < iterations; ++n) {
    if ((n & 63) == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= seconds)
      break;
    Bytes b = seeds[rng.below(seeds.size())];
    for (size_t k = 1 + rng.below(6); k-- > 0;) mutate(b, seeds, rng);
    if (run(b)) ++decoded;
  }
  std::printf("fuzz %s: %lld inputs (%lld decoded, %lld refused) in %.1f s\n", target.c_str(), n, decoded,
              n - decoded, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
