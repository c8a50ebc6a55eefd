// Parameter files: reading a .protobuf file (bounded, checked) and writing one
// atomically, and a ParameterDirectory saved to / loaded from one. The bytes
// are made and parsed by the codec in parameter_protobuf.cpp.
#include "nnvae/parameter_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "nnvae/input_file.hpp"

namespace nnvae {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_suffix(const std::string& path) {
  if (!ends_with(path, ".protobuf"))
    throw ParameterFileError(path, "unknown parameter file format; nnvae's C++ reads and writes .protobuf "
                                   "(NNabla protobuf) files");
}

std::string errno_text(int err) { return std::strerror(err); }

// A write to `path` goes to "<path>.tmp-<pid>-<count>" first and is renamed
// over `path` once whole; a writer killed before the rename (kill -9, power
// loss) leaves that file behind. Before writing, the temporaries of `path`
// whose process no longer exists are removed (regular files only; a live
// process's, another file's and anything that does not parse are left).
const char kTempTag[] = ".tmp-";

std::string temp_path(const std::string& path, unsigned count) {
  return path + kTempTag + std::to_string(::getpid()) + "-" + std::to_string(count);
}

void remove_stale_temps(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + kTempTag;
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;  // the write itself reports an unusable folder
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    // "<pid>-<count>": digits, a dash, digits.
    const std::string rest = name.substr(prefix.size());
    const size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || dash + 1 == rest.size() || dash > 9 ||
        rest.find_first_not_of("0123456789", 0) != dash ||
        rest.find_first_not_of("0123456789", dash + 1) != std::string::npos)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    const std::string full = folder + "/" + name;
    struct stat st;
    if (::lstat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(full.c_str());
  }
  ::closedir(dir);
}

}  // namespace

std::vector<ParameterRecord> read_parameter_file(const std::string& path) {
  check_suffix(path);
  std::vector<uint8_t> bytes;
  try {
    bytes = input_file::read_regular(path, kMaxParameterFileBytes, "parameter file");
  } catch (const input_file::Error& e) {
    throw ParameterFileError(e.shown_path(), e.reason(), e.missing());
  }
  auto records = decode_parameters_protobuf(reinterpret_cast<const char*>(bytes.data()), bytes.size(), path);
  if (records.empty()) throw ParameterFileError(path, "the file holds no parameters");
  return records;
}

void write_parameter_file(const std::string& path, const std::vector<ParameterRecord>& records) {
  check_suffix(path);
  if (records.empty()) throw ParameterFileError(path, "no parameters to save");
  std::string bytes;
  try {
    bytes = encode_parameters_protobuf(records);
  } catch (const std::invalid_argument& e) {
    throw ParameterFileError(path, e.what());
  }
  static std::atomic<unsigned> counter{0};
  remove_stale_temps(path);
  const std::string tmp = temp_path(path, counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw ParameterFileError(path, "cannot write: " + errno_text(errno) + " (temporary file " + tmp + ")");
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw ParameterFileError(path, "cannot write: " + what + ": " + errno_text(err));
  };
  size_t put = 0;
  while (put < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + put, bytes.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write");
    put += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw ParameterFileError(path, "cannot write: close: " + errno_text(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw ParameterFileError(path, "cannot write: rename: " + errno_text(err));
  }
}

std::vector<ParameterRecord> parameter_records(const ParameterDirectory& params) {
  std::vector<ParameterRecord> records;
  for (auto& [name, cg] : params.get_cg_parameters()) {
    ParameterRecord rec;
    rec.name = name;
    rec.shape = cg->variable()->shape();
    const float* p = cg->variable()->data()->read("a parameter");
    rec.data.assign(p, p + cg->variable()->size());
    rec.need_grad = cg->need_grad();
    records.push_back(std::move(rec));
  }
  return records;
}

void save_parameters(const ParameterDirectory& params, const std::string& path) {
  write_parameter_file(path, parameter_records(params));
}

void load_parameters(ParameterDirectory& params, const std::string& path) {
  load_parameter_records(params, read_parameter_file(path), path);
}

void load_parameter_records(ParameterDirectory& params, const std::vector<ParameterRecord>& records,
                            const std::string& source) {
  // 1. Check every record, against the others and against the directory.
  std::unordered_set<std::string> names;
  for (auto& rec : records) {
    if (rec.name.empty()) throw ParameterFileError(source, "a parameter has an empty name");
    if (!names.insert(rec.name).second) throw ParameterFileError(source, "parameter " + rec.name + " appears twice");
    if (int64_t(rec.data.size()) != shape_size(rec.shape))
      throw ParameterFileError(source, "parameter " + rec.name + " has " + std::to_string(rec.data.size()) +
                                           " values but its shape " + shape_str(rec.shape) + " needs " +
                                           std::to_string(shape_size(rec.shape)));
    auto existing = params.get_parameter(rec.name);
    if (existing && existing->variable()->shape() != rec.shape)
      throw ParameterFileError(source, "parameter " + rec.name + " has shape " + shape_str(rec.shape) +
                                           " in the file but " + shape_str(existing->variable()->shape()) +
                                           " in the model");
  }
  // 2. Allocate: the new parameters, made and filled aside; a buffer for
  // each existing parameter that has none yet.
  std::vector<std::pair<std::string, CgVariablePtr>> created;
  struct Update {
    CgVariablePtr var;
    Storage fresh;  // null when the parameter has its buffer
    const ParameterRecord* rec;
  };
  std::vector<Update> updates;
  for (auto& rec : records) {
    if (auto existing = params.get_parameter(rec.name)) {
      Storage fresh;
      if (!existing->variable()->data()->allocated()) fresh = allocate_storage(existing->variable()->size());
      updates.push_back({existing, fresh, &rec});
      continue;
    }
    auto v = make_parameter(rec.shape, rec.need_grad);
    std::copy(rec.data.begin(), rec.data.end(), v->variable()->data()->write());
    created.emplace_back(rec.name, v);
  }
  // 3. Commit: the new parameters all at once, then the values copied in.
  params.add_parameters(created);
  for (auto& u : updates) {
    NdArray& data = *u.var->variable()->data();
    if (u.fresh) data.adopt(u.fresh);
    std::copy(u.rec->data.begin(), u.rec->data.end(), data.write());
    u.var->set_need_grad(u.rec->need_grad);
  }
}

}  // namespace nnvae
