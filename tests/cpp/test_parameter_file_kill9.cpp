// kill -9 during save_parameters, the writer NNabla's programs' snapshots
// (saved_<model>_param.protobuf, through nbla::utils::save_parameters) go
// through: a child process writes one file again and again, write k setting
// every value to k; the parent kills it at a random moment. The file under
// its name is then absent (killed before the first write's rename) or one
// whole write, every parameter there with every value of one k: the old
// complete file or the new one, never a torn one.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nnvae/nnvae.hpp>
#include <nnvae/parameter_file.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"

using namespace nnvae;

namespace {

// The tutorial VAE's encoder layers, 4.3 MB a write: long enough for kills to
// land inside writes.
const std::vector<std::pair<std::string, Shape_t>> kShapes = {
    {"fc1/affine/W", {784, 500}}, {"fc1/affine/b", {500}}, {"fc2/affine/W", {500, 500}}, {"fc2/affine/b", {500}}};

// Writes `path` forever, write k holding k everywhere; never returns.
[[noreturn]] void write_forever(const std::string& path) {
  ParameterDirectory params;
  ConstantInitializer zeros(0.f);
  for (auto& [name, shape] : kShapes) params.get_parameter_or_create(name, shape, &zeros, true);
  for (float k = 1;; k += 1) {
    for (auto& [name, cg] : params.get_cg_parameters()) cg->variable()->data()->fill(k);
    save_parameters(params, path);
  }
}

// The temporary files of writes to `path` in `folder` ("<name>.tmp-...").
std::vector<std::string> temporaries(const std::string& folder, const std::string& name) {
  std::vector<std::string> out;
  DIR* d = ::opendir(folder.c_str());
  CHECK(d != nullptr);
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.rfind(name + ".tmp-", 0) == 0) out.push_back(folder + "/" + n);
  }
  ::closedir(d);
  return out;
}

}  // namespace

TEST(a_parameter_file_killed_while_written_is_the_old_or_the_new_one_whole) {
  char tmpl[] = "/tmp/nnvae_kill9_XXXXXX";
  const std::string folder = ::mkdtemp(tmpl);
  const std::string name = "saved_vae_param.protobuf", path = folder + "/" + name;
  // Kills land anywhere in the child's first three writes or so: the delay
  // follows how long one write takes here (a sanitized build encodes many
  // times slower), timed on a file of the same parameters.
  const auto t0 = std::chrono::steady_clock::now();
  {
    ParameterDirectory params;
    ConstantInitializer zeros(0.f);
    for (auto& [pname, shape] : kShapes) params.get_parameter_or_create(pname, shape, &zeros, true);
    save_parameters(params, folder + "/timing.protobuf");
    std::remove((folder + "/timing.protobuf").c_str());
  }
  const auto write_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  std::mt19937 rng(20261207);
  std::uniform_int_distribution<int64_t> delay_us(0, std::max<int64_t>(2000, 3 * write_us.count()));
  int caught = 0, whole = 0;
  // Until ten kills landed inside a write (its temporary file left) and one
  // write at least was whole, in at most 200 tries.
  for (int trial = 0; trial < 200 && (caught < 10 || whole == 0); ++trial) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    CHECK(pid >= 0);
    if (pid == 0) write_forever(path);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);  // it was still writing, not failed
    // This child's temporary (the earlier ones its write removed first).
    const std::string mine = folder + "/" + name + ".tmp-" + std::to_string(pid) + "-";
    for (const auto& t : temporaries(folder, name)) caught += t.compare(0, mine.size(), mine) == 0;
    if (::access(path.c_str(), F_OK) != 0) continue;  // killed before its first rename
    const auto records = read_parameter_file(path);
    CHECK_EQ(records.size(), kShapes.size());
    const float k = records[0].data.at(0);
    CHECK(k >= 1);
    for (size_t i = 0; i < records.size(); ++i) {
      CHECK_EQ(records[i].name, kShapes[i].first);
      CHECK_EQ(shape_str(records[i].shape), shape_str(kShapes[i].second));
      for (float v : records[i].data)
        if (v != k) FAIL_AT(records[i].name << " holds " << v << " in a file of write " << k << ": a torn file");
    }
    ++whole;
  }
  std::printf("one write %lld us; kills inside a write: %d; files found whole: %d\n", (long long)write_us.count(), caught,
              whole);
  CHECK(caught >= 10);
  CHECK(whole > 0);
  // The killed writers' temporaries are removed by the next write of the
  // same file (each write removed the earlier ones before it started: at
  // most the last kill's is left); a live process's and another file's are
  // kept.
  CHECK(temporaries(folder, name).size() <= 1);
  const std::string live = folder + "/" + name + ".tmp-" + std::to_string(::getpid()) + "-999";
  const std::string other = folder + "/other.protobuf.tmp-999999999-1";
  std::fclose(std::fopen(live.c_str(), "w"));
  std::fclose(std::fopen(other.c_str(), "w"));
  ParameterDirectory params;
  params.get_parameter_or_create("w", {2}, nullptr, true);
  save_parameters(params, path);
  const auto left = temporaries(folder, name);
  CHECK_EQ(left.size(), size_t(1));
  CHECK_EQ(left.at(0), live);
  CHECK(::access(other.c_str(), F_OK) == 0);
  std::remove(live.c_str());
  std::remove(other.c_str());
  std::remove(path.c_str());
  ::rmdir(folder.c_str());
}

NNVAE_TEST_MAIN()
