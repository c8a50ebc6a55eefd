// How many threads the matrix products and long elementwise loops use.
#pragma once
#include <string>

namespace nnvae {
// n in [1, max_threads()] (check_num_threads); without OpenMP the engine
// runs on one thread whatever is asked.
void set_num_threads(int n);
// The largest thread count set_num_threads accepts: 4 x this machine's
// cores, at least 8 and at most 1024. More threads than that only add
// switching, and very large counts make OpenMP fail to create its team.
// Python reads it as nnvae._core.MAX_THREADS (the CLI's --threads bound).
int max_threads();
// The one check of a thread count: throws std::invalid_argument, its message
// starting with `where`, unless 1 <= n <= max_threads(), e.g.
//   "thread count 100000 is more than this machine can sensibly run (at most
//    8: 4 x 2 cores, between 8 and 1024)"
void check_num_threads(int n, const std::string& where = "");
int get_num_threads();
}  // namespace nnvae
