// Opening a file a user named (a parameter file, an IDX file, a checkpoint)
// for reading, the one place that decides whether it may be read. A public
// engine facility: the engine's parameter-file reader, the Python bindings
// and applications on the engine (the VAE's IDX reader) all open files
// through it.
//
//   auto bytes = input_file::read_regular(path, kMaxParameterFileBytes, "parameter file");
//
// The path is opened without blocking (a FIFO with no writer would otherwise
// wait forever), and the opened descriptor is checked (no race between the
// check and the open): it must be a regular file, not a folder, FIFO,
// device or socket, of at most `limit` bytes, checked before a byte is read.
// A path holding a NUL byte is refused rather than cut short at it. Every
// refusal is an input_file::Error whose message starts with the path, e.g.
//   runs/x.protobuf: is a FIFO, not a regular file; a parameter file must be one
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nnvae {
namespace input_file {

class Error : public std::runtime_error {
 public:
  Error(const std::string& shown_path, const std::string& reason, bool missing)
      : std::runtime_error(shown_path + ": " + reason), shown_path_(shown_path), reason_(reason), missing_(missing) {}
  // The path as the message shows it (a NUL byte written as \0).
  const std::string& shown_path() const { return shown_path_; }
  // The message after "path: ".
  const std::string& reason() const { return reason_; }
  // The file does not exist (as opposed to unreadable or not a regular file).
  bool missing() const { return missing_; }

 private:
  std::string shown_path_, reason_;
  bool missing_;
};

// A descriptor of `path` open for reading (blocking again), which the caller
// closes, and the file's size. `what` names the file's role in messages.
struct Opened {
  int fd;
  int64_t size;
};
Opened open_regular(const std::string& path, int64_t limit, const std::string& what);

// The whole content of `path` (at most `limit` bytes; a file that shrinks
// while being read gives what it holds).
std::vector<uint8_t> read_regular(const std::string& path, int64_t limit, const std::string& what);

}  // namespace input_file
}  // namespace nnvae
