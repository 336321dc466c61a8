// Typed HDF5 arrays: write named arrays atomically (temp file + rename) and read them back
// with shape and dtype checks whose errors name the file and the dataset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/atomic_output.hpp"
#include "data/dtype.hpp"

namespace kfold::data {

struct DatasetInfo {
  std::string name;  // full path inside the file, without the leading '/'
  DType dtype = DType::other;
  std::vector<int64_t> shape;  // empty for a scalar
  int64_t numel() const;
};

// A dense array read from a file: values in row-major order.
template <typename T>
struct Array {
  std::vector<int64_t> shape;
  std::vector<T> values;
};

struct HdfHandle;  // owns an hid_t; defined in the .cpp

// Writes a new HDF5 file under a temporary name; commit() moves it into place. Destroying an
// uncommitted writer removes the temporary file. Names may contain '/' (groups are created).
class H5Writer {
 public:
  explicit H5Writer(const std::filesystem::path& path);
  ~H5Writer();
  H5Writer(const H5Writer&) = delete;
  H5Writer& operator=(const H5Writer&) = delete;

  template <typename T>
  void write(std::string_view name, std::span<const T> values, std::span<const int64_t> shape);
  template <typename T>
  void write(std::string_view name, const std::vector<T>& values, std::vector<int64_t> shape) {
    write<T>(name, std::span<const T>(values), std::span<const int64_t>(shape));
  }
  template <typename T>
  void write_scalar(std::string_view name, T value) {
    write<T>(name, std::span<const T>(&value, 1), std::span<const int64_t>());
  }
  // Variable-length UTF-8 strings (h5py reads them as bytes or str); `shape` {n} or {} for one. Bytes that are
  // no part of valid UTF-8 are written as '?' (the type promises UTF-8), here and in set_attribute.
  void write_strings(std::string_view name, const std::vector<std::string>& values, bool scalar = false);
  void write_string(std::string_view name, const std::string& value) { write_strings(name, {value}, true); }
  // String attribute on the root group (e.g. provenance, warnings).
  void set_attribute(std::string_view key, const std::string& value);

  void commit();

 private:
  void write_raw(std::string_view name, DType dtype, const void* data, std::span<const int64_t> shape);
  std::filesystem::path path_;
  AtomicOutput output_;
  std::unique_ptr<HdfHandle> file_;
};

class H5Reader {
 public:
  // Throws InputError when the file is missing or not HDF5.
  explicit H5Reader(const std::filesystem::path& path);
  ~H5Reader();
  H5Reader(const H5Reader&) = delete;
  H5Reader& operator=(const H5Reader&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool contains(std::string_view name) const;
  DatasetInfo info(std::string_view name) const;  // InputError when missing
  std::vector<DatasetInfo> list() const;          // every dataset, recursively, sorted by name

  // Reads a numeric dataset into T. Integer and float datasets convert only within their kind
  // (int32 → int64 or float32 → float64 are fine; float → int is an error). `expected_shape`
  // entries of -1 match any size; an empty `expected_shape` accepts any shape.
  template <typename T>
  Array<T> read(std::string_view name, std::vector<int64_t> expected_shape = {}) const;
  template <typename T>
  T read_scalar(std::string_view name) const;
  std::vector<std::string> read_strings(std::string_view name) const;
  std::string read_string(std::string_view name) const;
  std::string attribute(std::string_view key) const;  // "" when absent

 private:
  void read_raw(std::string_view name, DType dtype, void* out) const;
  std::filesystem::path path_;
  std::unique_ptr<HdfHandle> file_;
};

// True when the file starts with the HDF5 signature.
bool is_hdf5_file(const std::filesystem::path& path);

}  // namespace kfold::data
