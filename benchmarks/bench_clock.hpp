// The clock of the C++ benchmarks: milliseconds since some start, wall
// time, or with `cpu_clock` set (their --cpu 1) the CPU time of the whole
// process (all its threads), which on a shared, busy machine leaves out the
// time slices other processes take.
#pragma once
#include <chrono>
#include <ctime>

namespace bench {

inline bool cpu_clock = false;

inline double now_ms() {
  if (cpu_clock) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace bench
