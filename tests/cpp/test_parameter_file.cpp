// Parameter files (.protobuf): the exact bytes NNabla's format gives (the same
// bytes the protobuf package and nnvae's Python writer produce for these
// parameters), round trips through ParameterDirectory, the wire variants a
// proto3 reader must accept, and the errors for damaged or missing files.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nnvae/nnvae.hpp>
#include <nnvae/parameter_file.hpp>
#include <sstream>

#include "check.hpp"
#include "gradcheck.hpp"

using namespace nnvae;
using namespace nnvae_test;
namespace pf = nnvae::parametric_functions;

namespace {

// fc1/affine/W (2, 3) = 0.5·i − 1, need_grad; fc1/affine/b (2,) = [3.25, −0],
// need_grad; s () = 7, need_grad false: as serialised by the protobuf package
// (and by nnvae's Python writer) for NNabla's message.
const char* kReferenceHex =
    "c20c330a0c6663312f616666696e652f57a201040a020203a20618000080bf000000bf000000000000003f0000803f0000c03fa80601"
    "c20c220a0c6663312f616666696e652f62a201030a0102a206080000504000000080a80601"
    "c20c0d0a0173a20100a206040000e040";

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::vector<ParameterRecord> reference_records() {
  return {{"fc1/affine/W", {2, 3}, {-1.f, -0.5f, 0.f, 0.5f, 1.f, 1.5f}, true},
          {"fc1/affine/b", {2}, {3.25f, -0.f}, true},
          {"s", {}, {7.f}, false}};
}

std::string temp_path(const std::string& name) {
  return "/tmp/nnvae_test_pf_" + std::to_string(::getpid()) + "_" + name;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void check_same(const std::vector<ParameterRecord>& a, const std::vector<ParameterRecord>& b) {
  CHECK_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK_EQ(a[i].name, b[i].name);
    CHECK_EQ(shape_str(a[i].shape), shape_str(b[i].shape));
    CHECK_EQ(a[i].need_grad, b[i].need_grad);
    CHECK_EQ(a[i].data.size(), b[i].data.size());
    for (size_t j = 0; j < a[i].data.size(); ++j) CHECK_EQ(a[i].data[j], b[i].data[j]);
  }
}

// A tiny encoder for hand-made wire variants.
std::string varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s.push_back(char((v & 0x7F) | 0x80));
    v >>= 7;
  }
  s.push_back(char(v));
  return s;
}
std::string key(uint32_t field, uint32_t wt) { return varint((uint64_t(field) << 3) | wt); }
std::string len_field(uint32_t field, const std::string& body) { return key(field, 2) + varint(body.size()) + body; }
std::string f32(float f) {
  std::string s(4, '\0');
  std::memcpy(&s[0], &f, 4);
  return s;
}

}  // namespace

TEST(encoder_writes_the_reference_bytes) {
  CHECK(encode_parameters_protobuf(reference_records()) == from_hex(kReferenceHex));
}

TEST(decoder_reads_the_reference_bytes) {
  std::string bytes = from_hex(kReferenceHex);
  check_same(decode_parameters_protobuf(bytes.data(), bytes.size(), "ref"), reference_records());
}

// Unpacked repeated fields, fields out of order, unknown fields of every wire
// type (a group too), data split over records and a shape given twice.
TEST(decoder_accepts_proto3_variants) {
  std::string param;
  param += key(101, 0) + varint(1);                  // need_grad first
  param += key(100, 5) + f32(1.5f);                  // one unpacked float
  param += key(7, 0) + varint(300);                  // unknown varint
  param += key(8, 1) + std::string(8, 'x');          // unknown 64-bit
  param += key(9, 5) + std::string(4, 'y');          // unknown 32-bit
  param += key(10, 3) + key(11, 0) + varint(5) + key(10, 4);  // unknown group
  param += len_field(20, key(1, 0) + varint(2));     // shape: dim 2 unpacked
  param += len_field(20, len_field(1, varint(1)));   // shape again: merged, packed dim 1
  param += len_field(100, f32(-2.f));                // packed data, second chunk
  param += len_field(1, "late/name");
  std::string file = len_field(99, "ignored") + len_field(200, param);
  auto recs = decode_parameters_protobuf(file.data(), file.size(), "variant");
  CHECK_EQ(recs.size(), size_t(1));
  CHECK_EQ(recs[0].name, std::string("late/name"));
  CHECK_EQ(shape_str(recs[0].shape), std::string("(2, 1)"));
  CHECK_EQ(recs[0].data[0], 1.5f);
  CHECK_EQ(recs[0].data[1], -2.f);
  CHECK(recs[0].need_grad);
}

TEST(damaged_files_name_the_offset_and_field) {
  std::string good = from_hex(kReferenceHex);
  auto decode = [](const std::string& b) { return decode_parameters_protobuf(b.data(), b.size(), "p.protobuf"); };
  CHECK_THROWS_WITH(decode(good.substr(0, 40)), "p.protobuf: not a valid NNabla protobuf parameter file");
  CHECK_THROWS_WITH(decode(good.substr(0, 40)), "needs 51 bytes but only 37 remain");
  CHECK_THROWS_WITH(decode(std::string("\xc2\x0c", 2)), "truncated varint at byte offset 2");
  CHECK_THROWS_WITH(decode(std::string("\x0f", 1)), "invalid wire type 7 (field 1) at byte offset 0");
  CHECK_THROWS_WITH(decode(key(200, 0) + varint(1)), "NNablaProtoBuf.parameter at byte offset 0 has wire type 0");
  CHECK_THROWS_WITH(decode(std::string(11, '\xff')), "varint longer than 10 bytes at byte offset 0");
  CHECK_THROWS_WITH(decode(len_field(200, len_field(1, "w") + len_field(20, len_field(1, varint(3))) +
                                              len_field(100, f32(1.f)))),
                    "parameter w has 1 values but its shape (3,) needs 3");
  CHECK_THROWS_WITH(decode(len_field(200, len_field(100, f32(1.f)))), "parameter #0 (byte offset 3) has no name");
  CHECK_THROWS_WITH(decode(len_field(200, len_field(1, "w") + len_field(100, "abc"))), "not a multiple of 4");
  CHECK_THROWS_WITH(decode(good + good), "parameter fc1/affine/W appears twice");
  CHECK_THROWS_WITH(decode(key(5, 4)), "unexpected end-group (field 5) at byte offset 0");
  CHECK_THROWS_WITH(decode(key(5, 3)), "group of field 5 started at byte offset 0 never ends");
}

// Bounded reads: more than 64 dims, a negative dim, an element count that
// overflows 64 bits: refused without allocating.
TEST(decoder_bounds) {
  auto decode = [](const std::string& b) { return decode_parameters_protobuf(b.data(), b.size(), "big"); };
  std::string dims;
  for (int i = 0; i < 65; ++i) dims += varint(1);
  CHECK_THROWS_WITH(decode(len_field(200, len_field(1, "w") + len_field(20, len_field(1, dims)))),
                    "has more than 64 dimensions");
  CHECK_THROWS_WITH(decode(len_field(200, len_field(1, "w") + len_field(20, len_field(1, varint(uint64_t(-3)))))),
                    "parameter w has a negative dimension -3");
  std::string huge = varint(uint64_t(1) << 40) + varint(uint64_t(1) << 40);
  CHECK_THROWS_WITH(decode(len_field(200, len_field(1, "w") + len_field(20, len_field(1, huge)))),
                    "needs more than 2^62");
  std::string nested;
  for (int i = 0; i < 70; ++i) nested += key(5, 3);
  CHECK_THROWS_WITH(decode(nested), "groups nested deeper than 64");
}

TEST(files_round_trip_through_a_directory) {
  set_seed(3);
  ParameterDirectory params;
  auto x = leaf({4, 6}, std::vector<float>(24, 0.25f), false);
  pf::affine(pf::affine(x, 1, 5, params["fc1"]), 1, 2, params["fc2"]);
  params.get_parameter("fc2/affine/b")->set_need_grad(false);
  std::string path = temp_path("round.protobuf");
  save_parameters(params, path);
  auto written = parameter_records(params);
  check_same(read_parameter_file(path), written);

  // Into a fresh directory: created in file order, with values and need_grad.
  ParameterDirectory fresh;
  load_parameters(fresh, path);
  check_same(parameter_records(fresh), written);
  CHECK(!fresh.get_parameter("fc2/affine/b")->need_grad());
  // Into an existing one: values replaced, the same variables kept.
  ParameterDirectory other;
  auto y = leaf({4, 6}, std::vector<float>(24, 0.5f), false);
  pf::affine(pf::affine(y, 1, 5, other["fc1"]), 1, 2, other["fc2"]);
  auto w_before = other.get_parameter("fc1/affine/W");
  load_parameters(other, path);
  CHECK(other.get_parameter("fc1/affine/W") == w_before);
  check_same(parameter_records(other), written);
  // No temporary files are left next to it.
  std::remove(path.c_str());
  CHECK(std::ifstream(path).fail());
}

TEST(shape_mismatch_changes_nothing) {
  std::string path = temp_path("mismatch.protobuf");
  write_parameter_file(path, reference_records());
  ParameterDirectory params;
  auto w = params.get_parameter_or_create("fc1/affine/b", {3});
  w->variable()->data()->fill(9.f);
  CHECK_THROWS_WITH(load_parameters(params, path),
                    "parameter fc1/affine/b has shape (2,) in the file but (3,) in the model");
  CHECK_EQ(params.get_parameters().size(), size_t(1));
  CHECK_EQ(data_of(w)[0], 9.f);
  std::remove(path.c_str());
}

TEST(missing_unreadable_and_wrong_files) {
  ParameterDirectory params;
  std::string missing = temp_path("absent.protobuf");
  try {
    load_parameters(params, missing);
    FAIL_AT("no throw");
  } catch (const ParameterFileError& e) {
    CHECK(e.missing());
    CHECK_EQ(std::string(e.what()), missing + ": no such file");
  }
  CHECK_THROWS_WITH(load_parameters(params, "/tmp"), "unknown parameter file format");
  std::string empty = temp_path("empty.protobuf");
  write_bytes(empty, "");
  CHECK_THROWS_WITH(read_parameter_file(empty), "the file holds no parameters");
  write_bytes(empty, "\x0a\x05zz");
  CHECK_THROWS_WITH(read_parameter_file(empty), empty + ": not a valid NNabla protobuf parameter file");
  std::remove(empty.c_str());
  CHECK_THROWS_WITH(write_parameter_file("/nonexistent-folder/x.protobuf", reference_records()),
                    "/nonexistent-folder/x.protobuf: cannot write");
  CHECK_THROWS_WITH(write_parameter_file(temp_path("x.protobuf"), {}), "no parameters to save");
  CHECK_THROWS_WITH(write_parameter_file(temp_path("x.h5"), reference_records()), "unknown parameter file format");
}

// Only a regular file of a bounded size is read: a FIFO with no writer
// (which a blocking open would wait on forever), a device, a folder and a
// file over the limit are refused at once, naming the path and what it is;
// the reads that could hang run in a child, so a hang fails the test.
TEST(only_a_bounded_regular_file_is_read) {
  const std::string fifo = temp_path("fifo.protobuf"), folder = temp_path("folder.protobuf");
  CHECK_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  CHECK_EQ(::mkdir(folder.c_str(), 0700), 0);
  passes_within(5, "reading a FIFO", [&] {
    ParameterDirectory params;
    try {
      load_parameters(params, fifo);
      FAIL_AT("no throw");
    } catch (const ParameterFileError& e) {
      CHECK_EQ(std::string(e.what()), fifo + ": is a FIFO, not a regular file; a parameter file must be one");
      CHECK_EQ(e.path(), fifo);
      CHECK(!e.missing());
    }
    CHECK_EQ(params.get_parameters().size(), size_t(0));
  });
  // /dev/zero (through a link with the suffix) would never end.
  const std::string zero = temp_path("zero.protobuf");
  CHECK_EQ(::symlink("/dev/zero", zero.c_str()), 0);
  passes_within(5, "reading a device", [&] {
    CHECK_THROWS_WITH(read_parameter_file(zero), zero + ": is a device, not a regular file; a parameter file must be one");
  });
  CHECK_THROWS_WITH(read_parameter_file(folder), folder + ": is a folder, not a parameter file");
  // The size is checked before reading: a sparse 3 GiB file takes no time.
  const std::string big = temp_path("big.protobuf");
  write_bytes(big, "");
  CHECK_EQ(::truncate(big.c_str(), int64_t(3) << 30), 0);
  CHECK_THROWS_WITH(read_parameter_file(big), big + ": is 3.0 GiB, more than a parameter file can be (2.0 GiB at most)");
  ::unlink(big.c_str());
  CHECK_THROWS_WITH(read_parameter_file(std::string("a\0b.protobuf", 12)),
                    "a\\0b.protobuf: the parameter file path holds a NUL byte");
  ::unlink(fifo.c_str());
  ::unlink(zero.c_str());
  ::rmdir(folder.c_str());
}

// A write replaces the file whole: the old content until the rename, the new after.
TEST(write_replaces_atomically) {
  std::string path = temp_path("atomic.protobuf");
  write_bytes(path, "old");
  write_parameter_file(path, reference_records());
  check_same(read_parameter_file(path), reference_records());
  std::remove(path.c_str());
}

NNVAE_TEST_MAIN()
