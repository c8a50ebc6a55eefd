// The NNablaProtoBuf codec: parameter records to and from the bytes of
// NNabla's protobuf (proto3) parameter message. Files (reading, the atomic
// write) are in parameter_file.cpp.
#include "nnvae/parameter_file.hpp"

#include <cstring>
#include <unordered_set>

namespace nnvae {

namespace {

// Field numbers of the NNabla messages, and the wire types.
constexpr uint32_t kParameter = 200;                                      // NNablaProtoBuf.parameter
constexpr uint32_t kName = 1, kShape = 20, kData = 100, kNeedGrad = 101;  // Parameter
constexpr uint32_t kDim = 1;                                              // Shape.dim
enum Wire : uint32_t { kVarint = 0, kI64 = 1, kLen = 2, kStartGroup = 3, kEndGroup = 4, kI32 = 5 };
constexpr int kMaxGroupDepth = 64;

// A name as it may appear in an error message: bytes outside printable ASCII
// (a damaged file's name need not be valid UTF-8) written as \xNN.
std::string printable(const std::string& name) {
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

const char* wire_name(uint32_t wt) {
  static const char* names[] = {"varint", "64-bit", "length-delimited", "start-group", "end-group", "32-bit"};
  return wt < 6 ? names[wt] : "invalid";
}

// --- encoding ------------------------------------------------------------------
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, uint32_t field, uint32_t wt) { put_varint(out, (uint64_t(field) << 3) | wt); }
void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, kLen);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_float_le(std::string& out, float f) {
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

void add_dim(std::vector<uint64_t>& dims, uint64_t d, size_t at) {
  if (dims.size() >= size_t(kMaxParameterDims))
    throw Malformed{"shape at byte offset " + std::to_string(at) + " has more than " +
                    std::to_string(kMaxParameterDims) + " dimensions"};
  dims.push_back(d);
}

void decode_shape(const Reader& outer, size_t start, size_t end, std::vector<uint64_t>& dims) {
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

ParameterRecord decode_parameter(const Reader& outer, size_t start, size_t end, size_t index) {
  Reader r{outer.bytes, start, end};
  ParameterRecord rec;
  rec.need_grad = false;  // proto3's default: absent means false
  bool named = false;
  std::vector<uint64_t> dims;
  std::vector<std::pair<size_t, size_t>> chunks;  // [offset, count of floats)
  while (!r.done()) {
    size_t at;
    auto [field, wt] = r.key(at);
    if (field == kName) {
      r.expect("Parameter.variable_name", wt, {kLen}, at);
      auto [s, e] = r.length_delimited("Parameter.variable_name");
      rec.name.assign(reinterpret_cast<const char*>(r.bytes + s), e - s);
      named = true;
    } else if (field == kShape) {
      r.expect("Parameter.shape", wt, {kLen}, at);
      auto [s, e] = r.length_delimited("Parameter.shape");
      decode_shape(r, s, e, dims);  // a message field given twice merges
    } else if (field == kData) {
      r.expect("Parameter.data", wt, {kLen, kI32}, at);
      if (wt == kI32) {
        chunks.emplace_back(r.take(4, "Parameter.data"), 1);
      } else {
        auto [s, e] = r.length_delimited("packed Parameter.data");
        if ((e - s) % 4)
          r.fail("packed float data at byte offset " + std::to_string(s) + " is " + std::to_string(e - s) +
                 " bytes, not a multiple of 4");
        chunks.emplace_back(s, (e - s) / 4);
      }
    } else if (field == kNeedGrad) {
      r.expect("Parameter.need_grad", wt, {kVarint}, at);
      rec.need_grad = r.varint() != 0;
    } else {
      r.skip(field, wt, at);
    }
  }
  if (!named || rec.name.empty())
    r.fail("parameter #" + std::to_string(index) + " (byte offset " + std::to_string(start) + ") has no name");
  const std::string label = "parameter " + printable(rec.name);
  uint64_t expected = 1;
  bool overflow = false;
  for (uint64_t d : dims) {
    if (d >> 63) r.fail(label + " has a negative dimension " + std::to_string(static_cast<int64_t>(d)));
    rec.shape.push_back(static_cast<int64_t>(d));
  }
  for (uint64_t d : dims) {
    if (d == 0) {
      expected = 0;
      overflow = false;
      break;
    }
    overflow = overflow || __builtin_mul_overflow(expected, d, &expected) || (expected >> 62);
  }
  size_t count = 0;
  for (auto& c : chunks) count += c.second;
  if (overflow || expected != count)
    r.fail(label + " has " + std::to_string(count) + " values but its shape " + shape_str(rec.shape) + " needs " +
           (overflow ? std::string("more than 2^62") : std::to_string(expected)));
  rec.data.resize(count);
  float* out = rec.data.data();
  for (auto& [offset, n] : chunks) {
    const unsigned char* p = r.bytes + offset;
    for (size_t i = 0; i < n; ++i, p += 4) {
      uint32_t u = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
      std::memcpy(out++, &u, 4);
    }
  }
  return rec;
}

}  // namespace

std::string encode_parameters_protobuf(const std::vector<ParameterRecord>& records) {
  std::string out;
  std::unordered_set<std::string> seen;
  for (const auto& rec : records) {
    if (rec.name.empty()) throw std::invalid_argument("encode parameters: a parameter has an empty name");
    if (!seen.insert(rec.name).second)
      throw std::invalid_argument("encode parameters: parameter " + rec.name + " appears twice");
    if (int64_t(rec.data.size()) != shape_size(rec.shape))
      throw std::invalid_argument("encode parameters: parameter " + rec.name + " has " +
                                  std::to_string(rec.data.size()) + " values but its shape " + shape_str(rec.shape) +
                                  " needs " + std::to_string(shape_size(rec.shape)));
    std::string dims, shape, body;
    for (int64_t d : rec.shape) put_varint(dims, static_cast<uint64_t>(d));
    if (!dims.empty()) put_bytes(shape, kDim, dims);
    put_bytes(body, kName, rec.name);
    put_bytes(body, kShape, shape);
    if (!rec.data.empty()) {  // proto3 omits an empty repeated field
      put_key(body, kData, kLen);
      put_varint(body, rec.data.size() * 4);
      body.reserve(body.size() + rec.data.size() * 4 + 4);
      for (float f : rec.data) put_float_le(body, f);
    }
    if (rec.need_grad) {  // proto3 omits false
      put_key(body, kNeedGrad, kVarint);
      put_varint(body, 1);
    }
    put_bytes(out, kParameter, body);
  }
  return out;
}

std::vector<ParameterRecord> decode_parameters_protobuf(const char* bytes, size_t size, const std::string& source) {
  Reader r{reinterpret_cast<const unsigned char*>(bytes), 0, size};
  std::vector<ParameterRecord> records;
  std::unordered_set<std::string> seen;
  try {
    while (!r.done()) {
      size_t at;
      auto [field, wt] = r.key(at);
      if (field != kParameter) {
        r.skip(field, wt, at);
        continue;
      }
      r.expect("NNablaProtoBuf.parameter", wt, {kLen}, at);
      auto [s, e] = r.length_delimited("Parameter message");
      ParameterRecord rec = decode_parameter(r, s, e, records.size());
      if (!seen.insert(rec.name).second)
        r.fail("parameter " + printable(rec.name) + " appears twice (byte offset " + std::to_string(at) + ")");
      records.push_back(std::move(rec));
    }
  } catch (const Malformed& m) {
    throw ParameterFileError(source, "not a valid NNabla protobuf parameter file: " + m.what);
  }
  return records;
}

}  // namespace nnvae
