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
// Freed blocks are kept by size and handed out again; the cache holds at most
// `limit` bytes, beyond which blocks go back to the system.
namespace {
struct BlockCache {
  std::mutex mutex;
  std::multimap<int64_t, float*> free_blocks;
  int64_t cached_bytes = 0;
  int64_t limit = int64_t(256) << 20;

  float* take(int64_t n) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = free_blocks.find(n);
      if (it != free_blocks.end()) {
        float* p = it->second;
        free_blocks.erase(it);
        cached_bytes -= n * int64_t(sizeof(float));
        return p;
      }
    }
    size_t bytes = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<float*>(p);
  }
  void give_back(float* p, int64_t n) {
    std::lock_guard<std::mutex> lock(mutex);
    int64_t bytes = n * int64_t(sizeof(float));
    if (cached_bytes + bytes > limit) {
      std::free(p);
      return;
    }
    free_blocks.emplace(n, p);
    cached_bytes += bytes;
  }
  void trim() {
    while (cached_bytes > limit && !free_blocks.empty()) {
      auto it = free_blocks.begin();
      cached_bytes -= it->first * int64_t(sizeof(float));
      std::free(it->second);
      free_blocks.erase(it);
    }
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
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().limit = bytes;
  cache().trim();
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
