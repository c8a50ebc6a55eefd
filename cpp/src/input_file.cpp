// Opening user-named files for reading: see input_file.hpp.
#include "nnvae/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nnvae/checked.hpp"

namespace nnvae {
namespace input_file {

namespace {

std::string shown(const std::string& path) {
  std::string s;
  for (char c : path) {
    if (c == '\0')
      s += "\\0";
    else
      s += c;
  }
  return s;
}

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "an unknown kind of file";
}

}  // namespace

Opened open_regular(const std::string& path, int64_t limit, const std::string& what) {
  auto fail = [&](const std::string& reason, bool missing = false) { throw Error(shown(path), reason, missing); };
  if (path.find('\0') != std::string::npos) fail("the " + what + " path holds a NUL byte");
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) fail("no such file", true);
    if (err == EISDIR) fail("is a folder, not a " + what);
    fail("cannot open the " + what + ": " + std::strerror(err));
  }
  struct stat st;
  std::string reason;
  if (::fstat(fd, &st) != 0)
    reason = "cannot open the " + what + ": " + std::strerror(errno);
  else if (S_ISDIR(st.st_mode))
    reason = "is a folder, not a " + what;
  else if (!S_ISREG(st.st_mode))
    reason = std::string("is ") + kind_of(st.st_mode) + ", not a regular file; a " + what + " must be one";
  else if (int64_t(st.st_size) > limit)
    reason = "is " + format_bytes(st.st_size) + ", more than a " + what + " can be (" + format_bytes(limit) + " at most)";
  else if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
    reason = "cannot open the " + what + ": " + std::strerror(errno);
  if (!reason.empty()) {
    ::close(fd);
    fail(reason);
  }
  return {fd, int64_t(st.st_size)};
}

std::vector<uint8_t> read_regular(const std::string& path, int64_t limit, const std::string& what) {
  const Opened file = open_regular(path, limit, what);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{file.fd};
  std::vector<uint8_t> bytes(static_cast<size_t>(file.size));
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(file.fd, &bytes[got], bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(shown(path), "cannot read the " + what + ": " + std::strerror(errno), false);
    if (n == 0) break;  // shrank while being read
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

}  // namespace input_file
}  // namespace nnvae
