// Element types of the arrays kfold reads and writes (HDF5 datasets, .npy arrays in .npz files).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kfold::data {

enum class DType {
  float16,
  float32,
  float64,
  int8,
  uint8,
  int16,
  int32,
  int64,
  uint16,
  uint32,
  uint64,
  bool_,
  string,
  other
};

std::string_view dtype_name(DType dtype);
int64_t dtype_size(DType dtype);  // bytes per element; 0 for string/other
bool is_float(DType dtype);
bool is_integer(DType dtype);  // bool counts as an integer kind

// Shape as text, "[3, 37, 3]" (scalars: "[]").
std::string shape_string(std::span<const int64_t> shape);
// True when `shape` matches `expected` (-1 entries match any size); an empty `expected` matches all.
bool shape_matches(std::span<const int64_t> shape, std::span<const int64_t> expected);

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::float32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::float64;
}
template <>
constexpr DType dtype_of<int8_t>() {
  return DType::int8;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::uint8;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::int32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::int64;
}
template <>
constexpr DType dtype_of<uint64_t>() {
  return DType::uint64;
}

}  // namespace kfold::data
