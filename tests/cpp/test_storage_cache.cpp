// The cache of freed storage blocks (array.hpp): a freed block is handed to
// the next request of its size, clear_storage_cache() and the limit give
// blocks back to the system, the blocks in use plus the cached ones stay
// within twice the peak in use, and threads may allocate and free at once.
// Sizes are odd counts no other test allocates, so that each test knows
// which cached blocks are its own.
#include <thread>

#include "check.hpp"
#include "nnvae/nnvae.hpp"

using namespace nnvae;

TEST(a_freed_block_goes_to_the_next_request_of_its_size) {
  clear_storage_cache();
  const int64_t n = 1000003;
  float* first;
  {
    Storage s = allocate_storage(n);
    first = s.get();
    s.get()[n - 1] = 7.f;  // the whole block is writable
  }
  const StorageCacheStats freed = storage_cache_stats();
  CHECK(freed.cached_bytes >= n * int64_t(sizeof(float)));
  Storage again = allocate_storage(n);
  const StorageCacheStats after = storage_cache_stats();
  CHECK(again.get() == first);
  CHECK_EQ(after.hits, freed.hits + 1);
  CHECK_EQ(after.misses, freed.misses);
  CHECK_EQ(after.cached_bytes, freed.cached_bytes - n * int64_t(sizeof(float)));
  // Another size is not met from this one's block.
  Storage other = allocate_storage(n + 1);
  CHECK_EQ(storage_cache_stats().misses, freed.misses + 1);
}

TEST(an_array_cleared_and_written_again_reuses_its_block) {
  clear_storage_cache();
  NdArray a({1009, 997});
  float* first = a.write();
  a.clear();
  float* second = a.write();
  CHECK(second == first);
  NdArray b({1009, 997});
  CHECK(b.write() != first);  // a still holds it
}

TEST(clear_storage_cache_gives_every_cached_block_back) {
  const int64_t n = 500009;
  { Storage s = allocate_storage(n); }
  CHECK(storage_cache_stats().cached_bytes > 0);
  Storage kept = allocate_storage(n + 2);
  const int64_t in_use = storage_cache_stats().in_use_bytes;
  clear_storage_cache();
  const StorageCacheStats st = storage_cache_stats();
  CHECK_EQ(st.cached_bytes, int64_t(0));
  CHECK_EQ(st.in_use_bytes, in_use);       // blocks in use are untouched
  CHECK_EQ(st.peak_in_use_bytes, in_use);  // the mark restarts from them
  kept.get()[n + 1] = 1.f;
  Storage again = allocate_storage(n);
  CHECK_EQ(storage_cache_stats().misses, st.misses + 1);
}

TEST(the_limit_bounds_the_cached_bytes) {
  clear_storage_cache();
  const int64_t saved = storage_cache_limit();
  CHECK_EQ(saved, kDefaultStorageCacheLimit);
  const int64_t n = 250013, bytes = n * int64_t(sizeof(float));
  {
    Storage a = allocate_storage(n), b = allocate_storage(n), c = allocate_storage(n);
  }
  CHECK_EQ(storage_cache_stats().cached_bytes, 3 * bytes);
  set_storage_cache_limit(2 * bytes);  // lowering it frees the oldest at once
  CHECK_EQ(storage_cache_stats().cached_bytes, 2 * bytes);
  set_storage_cache_limit(0);  // no cache: every freed block goes back
  CHECK_EQ(storage_cache_stats().cached_bytes, int64_t(0));
  { Storage d = allocate_storage(n); }
  CHECK_EQ(storage_cache_stats().cached_bytes, int64_t(0));
  CHECK_THROWS_WITH(set_storage_cache_limit(-1), "set_storage_cache_limit: the limit is -1 bytes; it must be >= 0");
  set_storage_cache_limit(saved);
}

TEST(in_use_and_cached_stay_within_twice_the_peak_in_use) {
  clear_storage_cache();
  const int64_t base = storage_cache_stats().in_use_bytes;
  // Blocks of ever new sizes, one at a time: without the bound the cache
  // would hold every one of them.
  for (int64_t i = 0; i < 40; ++i) {
    Storage s = allocate_storage(100003 + i);
    const StorageCacheStats st = storage_cache_stats();
    CHECK(st.in_use_bytes + st.cached_bytes <= 2 * st.peak_in_use_bytes);
  }
  const StorageCacheStats st = storage_cache_stats();
  CHECK(st.cached_bytes <= 2 * st.peak_in_use_bytes - base);
  CHECK(st.cached_bytes < 40 * 100003 * int64_t(sizeof(float)) / 8);
}

TEST(threads_allocate_and_free_at_once) {
  clear_storage_cache();
  const StorageCacheStats before = storage_cache_stats();
  const int kThreads = 4, kRounds = 200;
  std::vector<int> bad(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t, &bad] {
      for (int r = 0; r < kRounds; ++r) {
        // Two sizes shared by all threads, so that blocks pass between them.
        const int64_t n = 30011 + (r % 2);
        Storage s = allocate_storage(n);
        float* p = s.get();
        for (int64_t i = 0; i < n; i += 97) p[i] = float(t * 1000 + r);
        for (int64_t i = 0; i < n; i += 97)
          if (p[i] != float(t * 1000 + r)) ++bad[t];  // another thread wrote into this block
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) CHECK_EQ(bad[t], 0);
  const StorageCacheStats st = storage_cache_stats();
  CHECK_EQ(st.in_use_bytes, before.in_use_bytes);
  CHECK(st.hits - before.hits >= kThreads * kRounds - 2 * kThreads);  // all but the first blocks of each size
}

NNVAE_TEST_MAIN()
