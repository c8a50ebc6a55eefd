// How many threads the matrix products and long elementwise loops use.
#pragma once

namespace nnvae {
// n in [1, max_threads()]; without OpenMP the engine runs on one thread
// whatever is asked.
void set_num_threads(int n);
// The largest thread count set_num_threads accepts: 4 x this machine's
// cores, at least 8 and at most 1024. More threads than that only add
// switching, and very large counts make OpenMP fail to create its team.
// Python reads it as nnvae._core.MAX_THREADS (the CLI's --threads bound).
int max_threads();
int get_num_threads();
}  // namespace nnvae
