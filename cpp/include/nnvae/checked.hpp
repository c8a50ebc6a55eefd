// Checked size arithmetic: the one place where a shape becomes an element
// count and a byte size. Every allocation, reshape and initializer goes
// through shape_size() (nnvae/array.hpp), which calls these, so no count can
// wrap around and an array too large for the machine is refused by name
// before any memory is touched.
#pragma once
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace nnvae {

// The largest element count of one array: its byte size (4 bytes a float,
// plus the 64-byte rounding of the allocator) must fit in int64.
constexpr int64_t kMaxElements = (INT64_MAX - 64) / 8;

// a * b, or throws std::invalid_argument with `what` when it does not fit
// below kMaxElements (operands must be >= 0).
int64_t checked_mul(int64_t a, int64_t b, const std::string& what);

// prod(shape), refusing negative entries and products beyond kMaxElements;
// the error names the shape and `what` (e.g. "Variable", "reshape").
int64_t checked_size(const std::vector<int64_t>& shape, const std::string& what);

// The bytes of `count` floats.
inline int64_t float_bytes(int64_t count) { return count * static_cast<int64_t>(sizeof(float)); }

// This machine's physical memory in bytes (0 if unknown). An array larger
// than it cannot be computed with, so allocate_storage refuses it at once
// (MemoryError in Python) instead of letting the system overcommit and the
// process be killed later.
int64_t physical_memory_bytes();

// std::bad_alloc with a message saying what needed how much memory; pybind11
// turns it into MemoryError with that message.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// "1.5 GiB", "200 MiB", "12 KiB", "8 bytes".
std::string format_bytes(int64_t bytes);

}  // namespace nnvae
