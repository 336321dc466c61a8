// Names and sizes of DType values.
#include "data/dtype.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kfold::data {

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float16:
      return "float16";
    case DType::float32:
      return "float32";
    case DType::float64:
      return "float64";
    case DType::int8:
      return "int8";
    case DType::uint8:
      return "uint8";
    case DType::int16:
      return "int16";
    case DType::int32:
      return "int32";
    case DType::int64:
      return "int64";
    case DType::uint16:
      return "uint16";
    case DType::uint32:
      return "uint32";
    case DType::uint64:
      return "uint64";
    case DType::bool_:
      return "bool";
    case DType::string:
      return "string";
    case DType::other:
      break;
  }
  return "other";
}

int64_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::int8:
    case DType::uint8:
    case DType::bool_:
      return 1;
    case DType::float16:
    case DType::int16:
    case DType::uint16:
      return 2;
    case DType::float32:
    case DType::int32:
    case DType::uint32:
      return 4;
    case DType::float64:
    case DType::int64:
    case DType::uint64:
      return 8;
    case DType::string:
    case DType::other:
      break;
  }
  return 0;
}

bool is_float(DType d) { return d == DType::float16 || d == DType::float32 || d == DType::float64; }

bool is_integer(DType d) {
  switch (d) {
    case DType::int8:
    case DType::uint8:
    case DType::int16:
    case DType::uint16:
    case DType::int32:
    case DType::uint32:
    case DType::int64:
    case DType::uint64:
    case DType::bool_:
      return true;
    default:
      return false;
  }
}

std::string shape_string(std::span<const int64_t> shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

bool shape_matches(std::span<const int64_t> shape, std::span<const int64_t> expected) {
  if (expected.empty()) return true;
  if (expected.size() != shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (expected[i] >= 0 && expected[i] != shape[i]) return false;
  return true;
}

}  // namespace kfold::data
