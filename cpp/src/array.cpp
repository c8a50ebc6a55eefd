#include "nnvae/array.hpp"

#include "nnvae/checked.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

namespace nnvae {

std::string shape_str(const Shape_t& shape) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) os << ",";
  os << ")";
  return os.str();
}

int64_t shape_size(const Shape_t& shape) { return checked_size(shape, ""); }

Shape_t shape_strides(const Shape_t& shape) {
  Shape_t strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

void check_context(const Context& ctx) {
  for (const auto& b : ctx.backend)
    if (b == "cpu:float" || b == "cpu") return;
  std::string names;
  for (const auto& b : ctx.backend) names += (names.empty() ? "" : ", ") + ("\"" + b + "\"");
  throw std::invalid_argument("context: backend [" + names +
                              "] is not available; nnvae computes on \"cpu:float\" only");
}

// --- the block cache --------------------------------------------------------
// Freed blocks are kept by size and handed out again to the next request of
// that size. A training step allocates and frees the same sizes in the same
// order every time, so from the second step on nearly every request is met
// from the cache: no system call, no page faults, no zero-filled pages
// (blocks of tens of MB come from mmap, which the kernel clears page by page
// on first touch; that cost ResNet's program at batch 128 about a fifth of
// its time).
//
// Bounds: the blocks in use plus the cached ones stay within twice the most
// ever in use at once (a request the cache cannot meet first frees the
// oldest cached blocks until the new block fits), and the cached blocks
// alone within `limit` bytes. Why twice: sizes must match exactly, and the
// blocks live at a step's peak are not those live at other times (ResNet's
// step at batch 128 peaks at 404 MB in use, but meets every request from the
// cache only with 572 MB in all; held to the peak itself, 65 requests a step
// went to the system).
namespace {
struct BlockCache {
  struct Free {
    float* p;
    uint64_t freed_at;  // when it came back: the oldest go first
  };
  std::mutex mutex;
  std::multimap<int64_t, Free> free_blocks;  // by size in floats
  uint64_t clock = 0;
  StorageCacheStats stats;
  int64_t limit = kDefaultStorageCacheLimit;

  static int64_t bytes_of(int64_t n) { return std::max<int64_t>(n, 1) * int64_t(sizeof(float)); }

  float* take(int64_t n) {
    const int64_t bytes = bytes_of(n);
    {
      std::lock_guard<std::mutex> lock(mutex);
      stats.in_use_bytes += bytes;
      auto range = free_blocks.equal_range(n);
      if (range.first != range.second) {
        // The most recently freed block of this size: the likeliest in cache.
        auto newest = range.first;
        for (auto it = range.first; it != range.second; ++it)
          if (it->second.freed_at > newest->second.freed_at) newest = it;
        float* p = newest->second.p;
        free_blocks.erase(newest);
        stats.cached_bytes -= bytes;
        ++stats.hits;
        return p;
      }
      ++stats.misses;
      stats.peak_in_use_bytes = std::max(stats.peak_in_use_bytes, stats.in_use_bytes);
      while (!free_blocks.empty() && stats.in_use_bytes + stats.cached_bytes > 2 * stats.peak_in_use_bytes)
        release_oldest();
    }
    void* p = std::aligned_alloc(64, (static_cast<size_t>(bytes) + 63) / 64 * 64);
    if (!p) {
      std::lock_guard<std::mutex> lock(mutex);
      stats.in_use_bytes -= bytes;
      throw std::bad_alloc();
    }
    return static_cast<float*>(p);
  }
  void give_back(float* p, int64_t n) {
    const int64_t bytes = bytes_of(n);
    std::lock_guard<std::mutex> lock(mutex);
    stats.in_use_bytes -= bytes;
    if (bytes > limit) {
      std::free(p);
      return;
    }
    free_blocks.emplace(n, Free{p, ++clock});
    stats.cached_bytes += bytes;
    while (stats.cached_bytes > limit) release_oldest();
  }
  // Frees the cached block that came back first (the caller holds the mutex).
  void release_oldest() {
    auto oldest = free_blocks.begin();
    for (auto it = free_blocks.begin(); it != free_blocks.end(); ++it)
      if (it->second.freed_at < oldest->second.freed_at) oldest = it;
    stats.cached_bytes -= bytes_of(oldest->first);
    std::free(oldest->second.p);
    free_blocks.erase(oldest);
  }
  void release_all() {
    for (auto& e : free_blocks) std::free(e.second.p);
    free_blocks.clear();
    stats.cached_bytes = 0;
    stats.peak_in_use_bytes = stats.in_use_bytes;
  }
};
// Never destroyed: blocks may be returned during static destruction.
BlockCache& cache() {
  static BlockCache* c = new BlockCache();
  return *c;
}
}  // namespace

Storage allocate_storage(int64_t size) {
  // Larger than the machine's memory: refused before the system is asked
  // (it might overcommit and kill the process on first touch instead).
  int64_t limit = physical_memory_bytes();
  if (size < 0 || size > kMaxElements || (limit > 0 && float_bytes(size) > limit))
    throw OutOfMemory("cannot allocate " + format_bytes(float_bytes(size)) + " (" + std::to_string(size) +
                      " floats); this machine has " + format_bytes(limit));
  float* p = cache().take(size);
  return Storage(p, [size](float* q) { cache().give_back(q, size); });
}

void set_storage_cache_limit(int64_t bytes) {
  if (bytes < 0)
    throw std::invalid_argument("set_storage_cache_limit: the limit is " + std::to_string(bytes) +
                                " bytes; it must be >= 0");
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.limit = bytes;
  while (c.stats.cached_bytes > c.limit) c.release_oldest();
}

int64_t storage_cache_limit() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  return cache().limit;
}

void clear_storage_cache() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().release_all();
}

StorageCacheStats storage_cache_stats() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  return cache().stats;
}

// --- NdArray -----------------------------------------------------------------
namespace {
// allocate_storage, with the array's shape in the MemoryError.
Storage allocate_for(const Shape_t& shape, int64_t size) {
  try {
    return allocate_storage(size);
  } catch (const std::bad_alloc& e) {
    throw OutOfMemory("out of memory for an array of shape " + shape_str(shape) + ": " +
                      (dynamic_cast<const OutOfMemory*>(&e) ? e.what()
                                                             : "cannot allocate " + format_bytes(float_bytes(size))));
  }
}
}  // namespace

NdArray::NdArray(Shape_t shape) : shape_(std::move(shape)), size_(shape_size(shape_)) {}

void NdArray::settle_bytes() const {
  if (!bytes_current_) return;
  auto* self = const_cast<NdArray*>(this);
  if (!self->storage_) self->storage_ = allocate_for(shape_, size_);
  float* p = self->storage_.get();
  for (int64_t i = 0; i < size_; ++i) p[i] = static_cast<float>(bytes_[i]);
  bytes_current_ = false;
}

void NdArray::settle_zero() const {
  if (!zero_pending_) return;
  std::memset(storage_.get(), 0, size_ * sizeof(float));
  zero_pending_ = false;
}

void NdArray::zero() {
  // Others see this buffer (a numpy view, a reshaped variable): zero it now.
  if (storage_ && storage_.use_count() > 1) {
    fill(0.0f);
    return;
  }
  ensure(false);  // a buffer of its own, the byte copy dropped, a write counted
  zero_pending_ = true;
}

void NdArray::ensure(bool keep_contents) {
  if (bytes_current_) {
    if (keep_contents) {
      settle_bytes();
    } else {
      bytes_current_ = false;
    }
  }
  if (zero_pending_) {
    if (keep_contents) settle_zero();
    zero_pending_ = false;
  }
  if (!storage_) {
    storage_ = allocate_for(shape_, size_);
    // A never-written array reads as zeros; a freed one has no contents to keep.
    if (keep_contents) std::memset(storage_.get(), 0, size_ * sizeof(float));
    cleared_ = false;
  }
  ++version_;
}

void NdArray::fill(float value) {
  ensure(false);
  std::fill(storage_.get(), storage_.get() + size_, value);
}

template <>
float* NdArray::cast<float>(const Context& ctx, bool write_only) {
  check_context(ctx);
  if (!write_only && cleared_)
    throw std::invalid_argument("array of shape " + shape_str(shape_) +
                                " was freed by clear_buffer; run forward again, or keep it with "
                                "set_persistent(true), or ask for it write_only");
  ensure(!write_only);
  return storage_.get();
}

template <>
uint8_t* NdArray::cast<uint8_t>(const Context& ctx, bool write_only) {
  check_context(ctx);
  if (!write_only && cleared_)
    throw std::invalid_argument("array of shape " + shape_str(shape_) +
                                " was freed by clear_buffer; run forward again, or keep it with "
                                "set_persistent(true), or ask for it write_only");
  if (!bytes_current_) {
    bytes_.resize(static_cast<size_t>(size_));
    if (!write_only) settle_zero();
    zero_pending_ = false;  // the bytes hold the values from here on
    if (!write_only) {
      if (storage_) {
        const float* p = storage_.get();
        for (int64_t i = 0; i < size_; ++i) {
          float v = p[i] > 0.f ? p[i] : 0.f;  // NaN -> 0 as well
          bytes_[i] = static_cast<uint8_t>(v < 255.f ? v : 255.f);
        }
      } else {
        std::fill(bytes_.begin(), bytes_.end(), uint8_t(0));
      }
    }
    bytes_current_ = true;
  }
  cleared_ = false;
  ++version_;
  return bytes_.data();
}

const float* NdArray::read(const char* what) const {
  settle_bytes();
  settle_zero();
  if (cleared_)
    throw std::invalid_argument(std::string(what) + " (shape " + shape_str(shape_) +
                                ") was freed by clear_buffer and is needed again; run forward again "
                                "or keep it with set_persistent(true)");
  if (!storage_) const_cast<NdArray*>(this)->ensure(true);
  return storage_.get();
}

float* NdArray::write() {
  ensure(false);
  return storage_.get();
}

float* NdArray::write_accumulate(bool accumulate) {
  if (accumulate && cleared_) {
    // A freed gradient holds nothing to accumulate into: start again from zero.
    storage_.reset();
  }
  ensure(accumulate);
  return storage_.get();
}

void NdArray::clear() {
  storage_.reset();
  bytes_current_ = false;
  bytes_.clear();
  bytes_.shrink_to_fit();
  zero_pending_ = false;
  cleared_ = true;
}

void NdArray::share_from(const NdArray& other) {
  if (other.size_ != size_)
    throw std::invalid_argument("cannot share a buffer of shape " + shape_str(other.shape_) +
                                " with an array of shape " + shape_str(shape_));
  other.settle_bytes();
  other.settle_zero();
  zero_pending_ = false;
  storage_ = other.storage_;
  cleared_ = other.cleared_;
  bytes_current_ = false;
  ++version_;
}

void NdArray::adopt(Storage storage) {
  bytes_current_ = false;
  zero_pending_ = false;
  storage_ = std::move(storage);
  cleared_ = !storage_;
  ++version_;
}

void NdArray::reshape(const Shape_t& shape) {
  if (shape_size(shape) != size_)
    throw std::invalid_argument("cannot reshape an array of shape " + shape_str(shape_) + " to " +
                                shape_str(shape));
  shape_ = shape;
}

// --- Variable ----------------------------------------------------------------
Variable::Variable(Shape_t shape)
    : shape_(std::move(shape)),
      size_(shape_size(shape_)),
      data_(std::make_shared<NdArray>(shape_)),
      grad_(std::make_shared<NdArray>(shape_)) {}

void Variable::set_data(NdArrayPtr data) {
  if (!data || data->shape() != shape_)
    throw std::invalid_argument("set_data: array shape " + (data ? shape_str(data->shape()) : "null") +
                                " differs from the variable's " + shape_str(shape_));
  data_ = std::move(data);
}

void Variable::set_grad(NdArrayPtr grad) {
  if (!grad || grad->shape() != shape_)
    throw std::invalid_argument("set_grad: array shape " + (grad ? shape_str(grad->shape()) : "null") +
                                " differs from the variable's " + shape_str(shape_));
  grad_ = std::move(grad);
}

void Variable::reshape(const Shape_t& shape) {
  data_->reshape(shape);
  grad_->reshape(shape);
  shape_ = shape;
}

}  // namespace nnvae
