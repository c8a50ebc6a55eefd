// The NNablaProtoBuf codec: parameter records to and from the bytes of
// NNabla's protobuf (proto3) parameter message. Files (reading, the atomic
// write) are in parameter_file.cpp.
#include "nnvae/parameter_file.hpp"

#include <unordered_set>

#include "protobuf_wire.hpp"

namespace nnvae {

namespace {

using namespace protobuf_wire;

// Field numbers of NNabla's parameter messages (shape and data: protobuf_wire).
constexpr uint32_t kParameter = 200;               // NNablaProtoBuf.parameter
constexpr uint32_t kName = 1, kNeedGrad = 101;     // Parameter

ParameterRecord decode_parameter(const Reader& outer, size_t start, size_t end, size_t index) {
  Reader r{outer.bytes, start, end};
  ParameterRecord rec;
  rec.need_grad = false;  // proto3's default: absent means false
  bool named = false;
  ShapedFloats values;
  while (!r.done()) {
    size_t at;
    auto [field, wt] = r.key(at);
    if (field == kName) {
      r.expect("Parameter.variable_name", wt, {kLen}, at);
      auto [s, e] = r.length_delimited("Parameter.variable_name");
      rec.name.assign(reinterpret_cast<const char*>(r.bytes + s), e - s);
      named = true;
    } else if (field == kNeedGrad) {
      r.expect("Parameter.need_grad", wt, {kVarint}, at);
      rec.need_grad = r.varint() != 0;
    } else if (!read_shaped_field(r, field, wt, at, "Parameter", values)) {
      r.skip(field, wt, at);
    }
  }
  if (!named || rec.name.empty())
    r.fail("parameter #" + std::to_string(index) + " (byte offset " + std::to_string(start) + ") has no name");
  finish_shaped(r, values, "parameter " + printable(rec.name), rec.shape, rec.data);
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
    std::string body;
    put_bytes(body, kName, rec.name);
    put_shaped(body, rec.shape, rec.data);
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
    auto on_parameter = [&](size_t s, size_t e, size_t at) {
      ParameterRecord rec = decode_parameter(r, s, e, records.size());
      if (!seen.insert(rec.name).second)
        r.fail("parameter " + printable(rec.name) + " appears twice (byte offset " + std::to_string(at) + ")");
      records.push_back(std::move(rec));
    };
    for_each_message(r, kParameter, "NNablaProtoBuf.parameter", "Parameter message", on_parameter);
  } catch (const Malformed& m) {
    throw ParameterFileError(source, "not a valid NNabla protobuf parameter file: " + m.what);
  }
  return records;
}

}  // namespace nnvae
