// Parameter files NNabla reads and writes (.protobuf), for a ParameterDirectory.
//
//   save_parameters(params, "vae.protobuf");   // atomic: temp file + rename
//   load_parameters(params, "vae.protobuf");   // creates or overwrites by name
//
// The file is the protobuf (proto3) message
//
//   message Shape          { repeated int64 dim = 1; }                 // packed
//   message Parameter      { string variable_name = 1; Shape shape = 20;
//                            repeated float data = 100;                // packed
//                            bool need_grad = 101; }
//   message NNablaProtoBuf { repeated Parameter parameter = 200; }
//
// encoded and decoded here by hand. On the wire each field is a key varint
// (field_number << 3 | wire_type) and its value: wire type 0 a varint, 1 eight
// bytes, 2 a varint length and that many bytes (strings, messages, packed
// repeated scalars), 5 four bytes, 3/4 the start/end of a (deprecated) group.
// The reader accepts what any proto3 parser does: fields in any order, unknown
// fields skipped by wire type, packed or unpacked repeated scalars, a repeated
// field split over several records, a sub-message given twice (merged). The
// writer emits name, shape, packed data, need_grad (omitted when false), in
// the directory's creation order, float32 little-endian.
//
// Reads are bounded: only a regular file is read (opened without blocking, so
// a FIFO, a device or a folder is refused, naming what it is, instead of
// hanging), its size is checked before reading, a shape has at most
// kMaxParameterDims dimensions, element counts are checked for overflow and
// must equal the number of values. Every failure is a ParameterFileError
// naming the file and, for a malformed file, the byte offset and the field.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnvae/array.hpp"
#include "nnvae/parameter.hpp"

namespace nnvae {

// Protobuf's own limit on a message; no NNabla parameter file is larger.
constexpr int64_t kMaxParameterFileBytes = (int64_t(1) << 31) - 1;
constexpr int kMaxParameterDims = 64;

// One parameter as stored in a file: values row-major in `shape`.
struct ParameterRecord {
  std::string name;
  Shape_t shape;
  std::vector<float> data;
  bool need_grad = true;
};

class ParameterFileError : public std::runtime_error {
 public:
  ParameterFileError(const std::string& path, const std::string& message, bool missing = false)
      : std::runtime_error(path + ": " + message), path_(path), missing_(missing) {}
  const std::string& path() const { return path_; }
  // The file does not exist (as opposed to unreadable or malformed).
  bool missing() const { return missing_; }

 private:
  std::string path_;
  bool missing_;
};

// The NNablaProtoBuf bytes of `records` (names must be non-empty and
// distinct, data sizes must match the shapes).
std::string encode_parameters_protobuf(const std::vector<ParameterRecord>& records);
// Decodes NNablaProtoBuf bytes; `source` names them in errors (a path).
std::vector<ParameterRecord> decode_parameters_protobuf(const char* bytes, size_t size, const std::string& source);

// Whole files. `path` must end in ".protobuf". Writing goes to a temporary
// file in the same folder ("<path>.tmp-<pid>-<n>"), flushed and fsync'ed,
// then renamed over `path`: a writer killed at any moment leaves the old file
// or the new one, whole. The temporaries a killed writer left are removed
// by the next write of the same path.
std::vector<ParameterRecord> read_parameter_file(const std::string& path);
void write_parameter_file(const std::string& path, const std::vector<ParameterRecord>& records);

// Every parameter of the directory's storage, in creation order (copies).
std::vector<ParameterRecord> parameter_records(const ParameterDirectory& params);
void save_parameters(const ParameterDirectory& params, const std::string& path);
// Reads `path` and puts each parameter into `params` under its scope: an
// existing name of the same shape takes the file's values and need_grad, a
// new name is created (in file order). All or nothing: every record is
// checked (a shape other than the existing parameter's is an error naming
// both) and every buffer allocated before the first parameter changes, so a
// load that fails leaves the directory as it was.
void load_parameters(ParameterDirectory& params, const std::string& path);
// The same with records already read (the Python package's .h5 files);
// `source` names them in errors.
void load_parameter_records(ParameterDirectory& params, const std::vector<ParameterRecord>& records,
                            const std::string& source);

}  // namespace nnvae
