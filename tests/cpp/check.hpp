// A minimal test harness for the C++ tests: each test file defines TEST(name)
// blocks and ends with NNVAE_TEST_MAIN(). A failed CHECK reports file, line
// and the values involved, and the program exits non-zero.
#pragma once
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace nnvae_test {

struct Case {
  const char* name;
  std::function<void()> body;
};
inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}
struct Register {
  Register(const char* name, std::function<void()> body) { cases().push_back({name, std::move(body)}); }
};
struct Failure {
  std::string what;
};

inline int run_all() {
  int failed = 0;
  for (auto& c : cases()) {
    try {
      c.body();
      std::printf("[ ok ] %s\n", c.name);
    } catch (const Failure& f) {
      ++failed;
      std::printf("[FAIL] %s: %s\n", c.name, f.what.c_str());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("[FAIL] %s: unexpected exception: %s\n", c.name, e.what());
    }
  }
  std::printf("%zu passed, %d failed\n", cases().size() - failed, failed);
  return failed == 0 ? 0 : 1;
}

// Runs `body` (which CHECKs) in a forked child and fails unless it passes
// within `seconds`: a call that would block forever (a FIFO opened for
// reading) then fails the test instead of hanging it.
inline void passes_within(double seconds, const std::string& what, const std::function<void()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw Failure{what + ": fork failed"};
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const Failure& f) {
      std::fprintf(stderr, "%s\n", f.what.c_str());
      code = 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "unexpected exception: %s\n", e.what());
      code = 2;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      std::ostringstream os;
      os << what << ": did not return within " << seconds << " s";
      throw Failure{os.str()};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Failure{what + ": failed in the child (its message is above)"};
}

}  // namespace nnvae_test

#define NNVAE_CAT_(a, b) a##b
#define NNVAE_CAT(a, b) NNVAE_CAT_(a, b)
#define TEST(name)                                                                 \
  static void NNVAE_CAT(test_, name)();                                            \
  static nnvae_test::Register NNVAE_CAT(reg_, name)(#name, NNVAE_CAT(test_, name)); \
  static void NNVAE_CAT(test_, name)()

#define FAIL_AT(msg)                                                   \
  do {                                                                 \
    std::ostringstream os_;                                            \
    os_ << __FILE__ << ":" << __LINE__ << ": " << msg;                 \
    throw nnvae_test::Failure{os_.str()};                              \
  } while (0)

#define CHECK(cond)                                \
  do {                                             \
    if (!(cond)) FAIL_AT("CHECK(" #cond ") failed"); \
  } while (0)

#define CHECK_EQ(a, b)                                                                   \
  do {                                                                                   \
    auto va_ = (a);                                                                      \
    auto vb_ = (b);                                                                      \
    if (!(va_ == vb_)) FAIL_AT(#a " == " #b " failed: " << va_ << " vs " << vb_);        \
  } while (0)

// |a - b| <= tol * max(1, |b|)
#define CHECK_NEAR(a, b, tol)                                                             \
  do {                                                                                    \
    double va_ = (a), vb_ = (b);                                                          \
    if (!(std::fabs(va_ - vb_) <= (tol) * std::fmax(1.0, std::fabs(vb_))))                \
      FAIL_AT(#a " ~= " #b " failed: " << va_ << " vs " << vb_ << " (tol " << (tol) << ")"); \
  } while (0)

// The statement must throw an exception whose what() contains `fragment`.
#define CHECK_THROWS_WITH(stmt, fragment)                                                  \
  do {                                                                                     \
    bool thrown_ = false;                                                                  \
    try {                                                                                  \
      stmt;                                                                                \
    } catch (const std::exception& e_) {                                                   \
      thrown_ = true;                                                                      \
      if (std::string(e_.what()).find(fragment) == std::string::npos)                      \
        FAIL_AT(#stmt " threw \"" << e_.what() << "\", which lacks \"" << fragment << "\""); \
    }                                                                                      \
    if (!thrown_) FAIL_AT(#stmt " did not throw");                                         \
  } while (0)

#define NNVAE_TEST_MAIN() \
  int main() { return nnvae_test::run_all(); }
