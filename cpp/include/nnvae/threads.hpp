// How many threads the matrix products and long elementwise loops use.
#pragma once

namespace nnvae {
// n >= 1; without OpenMP the engine runs on one thread whatever is asked.
void set_num_threads(int n);
int get_num_threads();
}  // namespace nnvae
