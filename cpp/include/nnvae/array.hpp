// Arrays and variables: the storage under the graph.
//
// An NdArray is a row-major float32 buffer of a fixed shape. Its memory comes
// from a cache of aligned blocks (allocate_storage) so that a training loop
// that frees and re-creates buffers each step does not call the system
// allocator. An array is in one of three states: never written (reads as
// zeros), holding data, or freed by clear_buffer (reading it is an error,
// writing re-creates it).
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace nnvae {

using Shape_t = std::vector<int64_t>;

// "(100, 784)": shapes in error messages.
std::string shape_str(const Shape_t& shape);
int64_t shape_size(const Shape_t& shape);
// Row-major strides in elements: (2, 3, 4) -> (12, 4, 1).
Shape_t shape_strides(const Shape_t& shape);

// Which backend to compute on. Only "cpu:float" exists; anything else is refused.
struct Context {
  std::vector<std::string> backend{"cpu:float"};
  std::string array_class{"CpuCachedArray"};
  std::string device_id{"0"};
};
void check_context(const Context& ctx);

// An aligned block of floats, shared by every array (and numpy view) using it.
// Blocks come from a process-wide cache of freed blocks (NNabla's
// CpuCachedArray does the same): a block whose last user lets go is kept and
// handed to the next request of the same size, so that a training step that
// frees and re-creates the same buffers every time neither calls the system
// nor touches fresh pages. The cache never lets the blocks in use plus the
// cached ones grow past twice the most ever in use at once, and keeps at
// most storage_cache_limit() bytes of cached blocks. Thread-safe.
using Storage = std::shared_ptr<float>;
Storage allocate_storage(int64_t size);  // contents undefined

// The most the cache keeps, in bytes (blocks beyond go back to the system,
// the oldest first). 0 turns the cache off.
constexpr int64_t kDefaultStorageCacheLimit = int64_t(2) << 30;
void set_storage_cache_limit(int64_t bytes);
int64_t storage_cache_limit();
// Gives every cached block back to the system (blocks in use stay), and
// restarts the high-water mark from what is in use now: after a large graph
// is dropped, its memory leaves the process.
void clear_storage_cache();

// The cache's counts, in bytes of floats: blocks in use and cached, the most
// in use at once since the start (or the last clear_storage_cache()), and
// how many requests it met (hits) or passed to the system (misses).
struct StorageCacheStats {
  int64_t in_use_bytes = 0, cached_bytes = 0, peak_in_use_bytes = 0;
  int64_t hits = 0, misses = 0;
};
StorageCacheStats storage_cache_stats();

class NdArray {
 public:
  explicit NdArray(Shape_t shape);

  const Shape_t& shape() const { return shape_; }
  Shape_t strides() const { return shape_strides(shape_); }
  int64_t size() const { return size_; }
  int ndim() const { return static_cast<int>(shape_.size()); }

  void fill(float value);
  // Sets every value to 0. Lazily when this array alone holds its buffer:
  // the zeros are written by the next access that reads the contents, and
  // an access that overwrites them all (write(), a backward that is told
  // not to accumulate) skips that pass. A buffer shared with another array
  // or a numpy view is zeroed at once, so the others see the zeros.
  void zero();
  // True while the array holds only zeros it has not written yet (never
  // written, or zero()ed lazily): the graph's backward lets the first
  // function that reaches such a gradient write it instead of adding to it.
  bool reads_as_zero() const { return zero_pending_ || (!storage_ && !cleared_ && !bytes_current_); }

  // Raw row-major pointer for reading and writing. write_only skips making
  // the contents valid (a freed or new array is not zero-filled).
  // T is float or uint8_t. Casting to uint8_t converts the array: its values
  // move to a byte buffer (each float clamped to [0, 255] and truncated), and
  // the next float access (cast<float>, or the engine reading it) converts
  // them back, so writes through either pointer are seen by the other type.
  template <typename T>
  T* cast(const Context& ctx, bool write_only = false);

  // Engine-side access. read() fails with `what` in the message if the array
  // was freed; write() (re)creates the buffer without initialising it;
  // write_accumulate(true) gives a buffer whose contents are kept (zeros if new).
  const float* read(const char* what) const;
  float* write();
  float* write_accumulate(bool accumulate);

  bool allocated() const { return static_cast<bool>(storage_); }
  bool cleared() const { return cleared_; }
  // Frees the buffer (it goes back to the cache); later reads are errors.
  void clear();
  // Shares another array's buffer (reshape inplace). Sizes must match.
  void share_from(const NdArray& other);
  // Uses `storage` (at least size() floats, e.g. a numpy buffer) as this
  // array's buffer, without copying.
  void adopt(Storage storage);
  // Changes the shape keeping the size (the buffer is kept).
  void reshape(const Shape_t& shape);

  // Incremented on every write access: solvers use it to see whether a
  // gradient was touched since zero_grad().
  uint64_t version() const { return version_; }
  const Storage& storage() const {
    settle_bytes();
    settle_zero();
    return storage_;
  }

 private:
  void ensure(bool keep_contents);
  // If the byte buffer holds the current values, converts them back to floats.
  void settle_bytes() const;
  // Writes the zeros a lazy zero() left pending.
  void settle_zero() const;
  Shape_t shape_;
  int64_t size_;
  Storage storage_;
  bool cleared_ = false;
  // zero() was called and storage_'s contents are not zeros yet.
  mutable bool zero_pending_ = false;
  uint64_t version_ = 0;
  // The uint8_t copy cast<uint8_t> hands out; bytes_current_ while it (and not
  // storage_) holds the values.
  mutable std::vector<uint8_t> bytes_;
  mutable bool bytes_current_ = false;
};
using NdArrayPtr = std::shared_ptr<NdArray>;

template <>
float* NdArray::cast<float>(const Context& ctx, bool write_only);
template <>
uint8_t* NdArray::cast<uint8_t>(const Context& ctx, bool write_only);

// A value and its gradient, both of one shape.
class Variable {
 public:
  explicit Variable(Shape_t shape);
  const Shape_t& shape() const { return shape_; }
  // Row-major strides in elements; strides()[0] is the size of one sample.
  Shape_t strides() const { return shape_strides(shape_); }
  int64_t size() const { return size_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  NdArrayPtr data() const { return data_; }
  NdArrayPtr grad() const { return grad_; }
  void set_data(NdArrayPtr data);
  void set_grad(NdArrayPtr grad);
  // Changes the shape of both arrays; the size must stay the same.
  void reshape(const Shape_t& shape);

  template <typename T>
  T* cast_data_and_get_pointer(const Context& ctx, bool write_only = false) {
    return data_->cast<T>(ctx, write_only);
  }
  template <typename T>
  T* cast_grad_and_get_pointer(const Context& ctx, bool write_only = false) {
    return grad_->cast<T>(ctx, write_only);
  }

 private:
  Shape_t shape_;
  int64_t size_;
  NdArrayPtr data_, grad_;
};
using VariablePtr = std::shared_ptr<Variable>;

}  // namespace nnvae
