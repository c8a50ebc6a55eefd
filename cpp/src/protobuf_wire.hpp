// The protobuf wire format as NNabla's files use it, shared by the codecs of
// parameter files (parameter_protobuf.cpp) and solver state files
// (solver_state_protobuf.cpp): writing keys, varints, length-delimited fields
// and float32 data; a bounds-checked reader whose every error names a byte
// offset; and the (shape, data) pair that Parameter and SolverStateParameter
// both hold as fields 20 and 100. Private to the engine's sources.
#pragma once
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "nnvae/array.hpp"
#include "nnvae/parameter_file.hpp"

namespace nnvae {
namespace protobuf_wire {

// Field numbers shared by NNabla's messages, and the wire types.
constexpr uint32_t kDim = 1;                  // Shape.dim
constexpr uint32_t kShape = 20, kData = 100;  // Parameter and SolverStateParameter: shape, data
enum Wire : uint32_t { kVarint = 0, kI64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kI32 = 5 };
constexpr int kMaxGroupDepth = 64;

// A name as it may appear in an error message: bytes outside printable ASCII
// (a damaged file's name need not be valid UTF-8) written as \xNN.
inline std::string printable(const std::string& name) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : name) {
    if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      out += "\\x";
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

inline const char* wire_name(uint32_t wt) {
  static const char* names[] = {"varint", "64-bit", "length-delimited", "start-group", "end-group", "32-bit"};
  return wt < 6 ? names[wt] : "invalid";
}

// --- encoding ------------------------------------------------------------------
inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline void put_key(std::string& out, uint32_t field, uint32_t wt) { put_varint(out, (uint64_t(field) << 3) | wt); }
inline void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, kLen);
  put_varint(out, bytes.size());
  out += bytes;
}
inline void put_float_le(std::string& out, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
}

// --- decoding ------------------------------------------------------------------
struct Malformed {
  std::string what;
};

// A cursor over bytes[pos, end) of the whole buffer, so that every error names
// an offset into the file.
struct Reader {
  const unsigned char* bytes;
  size_t pos, end;

  bool done() const { return pos >= end; }
  [[noreturn]] void fail(const std::string& what) const { throw Malformed{what}; }

  uint64_t varint() {
    size_t start = pos;
    uint64_t result = 0;
    bool too_big = false;
    for (int shift = 0;; shift += 7) {
      if (pos >= end) fail("truncated varint at byte offset " + std::to_string(start));
      if (shift >= 70) fail("varint longer than 10 bytes at byte offset " + std::to_string(start));
      unsigned b = bytes[pos++];
      if (shift == 63) too_big = (b & 0x7F) > 1;
      if (shift < 64) result |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) {
        if (too_big) fail("varint exceeds 64 bits at byte offset " + std::to_string(start));
        return result;
      }
    }
  }
  // (field, wire type); `at` receives the key's offset.
  std::pair<uint32_t, uint32_t> key(size_t& at) {
    at = pos;
    uint64_t k = varint();
    uint64_t field = k >> 3;
    uint32_t wt = static_cast<uint32_t>(k & 7);
    if (field == 0) fail("invalid field number 0 at byte offset " + std::to_string(at));
    if (field > 0x1FFFFFFF) fail("field number out of range at byte offset " + std::to_string(at));
    if (wt > 5)
      fail("invalid wire type " + std::to_string(wt) + " (field " + std::to_string(field) + ") at byte offset " +
           std::to_string(at));
    return {static_cast<uint32_t>(field), wt};
  }
  // Advances over n bytes and returns their start.
  size_t take(uint64_t n, const std::string& what) {
    if (n > end - pos)
      fail(what + " at byte offset " + std::to_string(pos) + " needs " + std::to_string(n) + " bytes but only " +
           std::to_string(end - pos) + " remain (truncated or corrupt)");
    size_t start = pos;
    pos += static_cast<size_t>(n);
    return start;
  }
  // [start, end) of a length-delimited value.
  std::pair<size_t, size_t> length_delimited(const std::string& what) {
    uint64_t n = varint();
    size_t s = take(n, what);
    return {s, s + static_cast<size_t>(n)};
  }
  // Skips an unknown field's value by its wire type (groups up to a depth).
  void skip(uint32_t field, uint32_t wt, size_t at, int depth = 0) {
    const std::string what = "field " + std::to_string(field);
    switch (wt) {
      case kVarint: varint(); return;
      case kI64: take(8, what); return;
      case kI32: take(4, what); return;
      case kLen: length_delimited(what); return;
      case kStartGroup:
        if (depth >= kMaxGroupDepth)
          fail("groups nested deeper than " + std::to_string(kMaxGroupDepth) + " at byte offset " +
               std::to_string(at));
        for (;;) {
          if (done())
            fail("group of field " + std::to_string(field) + " started at byte offset " + std::to_string(at) +
                 " never ends");
          size_t at2;
          auto [f2, wt2] = key(at2);
          if (wt2 == kEndGroup) {
            if (f2 != field)
              fail("end of group " + std::to_string(f2) + " at byte offset " + std::to_string(at2) +
                   " inside group " + std::to_string(field));
            return;
          }
          skip(f2, wt2, at2, depth + 1);
        }
      default: fail("unexpected end-group (field " + std::to_string(field) + ") at byte offset " + std::to_string(at));
    }
  }
  void expect(const char* field_desc, uint32_t wt, std::initializer_list<uint32_t> allowed, size_t at) const {
    std::string alts;
    for (uint32_t a : allowed) {
      if (a == wt) return;
      alts += (alts.empty() ? "" : " or ") + std::to_string(a) + " (" + wire_name(a) + ")";
    }
    fail(std::string(field_desc) + " at byte offset " + std::to_string(at) + " has wire type " + std::to_string(wt) +
         " (" + wire_name(wt) + "), expected " + alts);
  }
};

inline void add_dim(std::vector<uint64_t>& dims, uint64_t d, size_t at) {
  if (dims.size() >= size_t(kMaxParameterDims))
    throw Malformed{"shape at byte offset " + std::to_string(at) + " has more than " +
                    std::to_string(kMaxParameterDims) + " dimensions"};
  dims.push_back(d);
}

inline void decode_shape(const Reader& outer, size_t start, size_t end, std::vector<uint64_t>& dims) {
  Reader r{outer.bytes, start, end};
  while (!r.done()) {
    size_t at;
    auto [field, wt] = r.key(at);
    if (field != kDim) {
      r.skip(field, wt, at);
      continue;
    }
    r.expect("Shape.dim", wt, {kLen, kVarint}, at);
    if (wt == kVarint) {
      add_dim(dims, r.varint(), at);
    } else {
      auto [s, e] = r.length_delimited("packed Shape.dim");
      Reader pr{r.bytes, s, e};
      while (!pr.done()) add_dim(dims, pr.varint(), s);
    }
  }
}

// Calls on_message(start, end, at) for each value of the message field
// `field` in the rest of `r` ([start, end): its bytes; at: its key's offset),
// skipping every other field; `name` ("NNablaProtoBuf.parameter") and `what`
// ("Parameter message") name the field and its value in errors.
template <typename OnMessage>
void for_each_message(Reader& r, uint32_t field, const char* name, const std::string& what, OnMessage on_message) {
  while (!r.done()) {
    size_t at;
    auto [f, wt] = r.key(at);
    if (f != field) {
      r.skip(f, wt, at);
      continue;
    }
    r.expect(name, wt, {kLen}, at);
    auto [s, e] = r.length_delimited(what);
    on_message(s, e, at);
  }
}

// Shape (field 20) and data (field 100) of a message as read so far: the
// dimensions, and the float values as (byte offset, count) runs, so that a
// repeated field split over several records is gathered in order.
struct ShapedFloats {
  std::vector<uint64_t> dims;
  std::vector<std::pair<size_t, size_t>> chunks;
};

// Reads field `field` (key at `at`) into `out` when it is the shape or the
// data of `message` ("Parameter", "SolverStateParameter"); false for any
// other field, which is left unread.
inline bool read_shaped_field(Reader& r, uint32_t field, uint32_t wt, size_t at, const std::string& message,
                              ShapedFloats& out) {
  if (field == kShape) {
    r.expect((message + ".shape").c_str(), wt, {kLen}, at);
    auto [s, e] = r.length_delimited(message + ".shape");
    decode_shape(r, s, e, out.dims);  // a message field given twice merges
    return true;
  }
  if (field != kData) return false;
  r.expect((message + ".data").c_str(), wt, {kLen, kI32}, at);
  if (wt == kI32) {
    out.chunks.emplace_back(r.take(4, message + ".data"), 1);
  } else {
    auto [s, e] = r.length_delimited("packed " + message + ".data");
    if ((e - s) % 4)
      r.fail("packed float data at byte offset " + std::to_string(s) + " is " + std::to_string(e - s) +
             " bytes, not a multiple of 4");
    out.chunks.emplace_back(s, (e - s) / 4);
  }
  return true;
}

// The shape and values read into `in`, checked: no negative dimension, and
// as many values as the shape holds (`label` names the array in errors).
inline void finish_shaped(const Reader& r, const ShapedFloats& in, const std::string& label, Shape_t& shape,
                          std::vector<float>& data) {
  uint64_t expected = 1;
  bool overflow = false;
  for (uint64_t d : in.dims) {
    if (d >> 63) r.fail(label + " has a negative dimension " + std::to_string(static_cast<int64_t>(d)));
    shape.push_back(static_cast<int64_t>(d));
  }
  for (uint64_t d : in.dims) {
    if (d == 0) {
      expected = 0;
      overflow = false;
      break;
    }
    overflow = overflow || __builtin_mul_overflow(expected, d, &expected) || (expected >> 62);
  }
  size_t count = 0;
  for (auto& c : in.chunks) count += c.second;
  if (overflow || expected != count)
    r.fail(label + " has " + std::to_string(count) + " values but its shape " + shape_str(shape) + " needs " +
           (overflow ? std::string("more than 2^62") : std::to_string(expected)));
  data.resize(count);
  float* out = data.data();
  for (auto& [offset, n] : in.chunks) {
    const unsigned char* p = r.bytes + offset;
    for (size_t i = 0; i < n; ++i, p += 4) {
      uint32_t u = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
      std::memcpy(out++, &u, 4);
    }
  }
}

// Appends shape (field 20, packed dims) and data (field 100, packed float32
// little-endian; omitted when empty, as proto3 does) to a message body.
inline void put_shaped(std::string& body, const Shape_t& shape, const std::vector<float>& data) {
  std::string dims, packed_shape;
  for (int64_t d : shape) put_varint(dims, static_cast<uint64_t>(d));
  if (!dims.empty()) put_bytes(packed_shape, kDim, dims);
  put_bytes(body, kShape, packed_shape);
  if (!data.empty()) {
    put_key(body, kData, kLen);
    put_varint(body, data.size() * 4);
    body.reserve(body.size() + data.size() * 4 + 4);
    for (float f : data) put_float_le(body, f);
  }
}

}  // namespace protobuf_wire
}  // namespace nnvae
