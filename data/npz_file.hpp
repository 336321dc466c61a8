// NumPy .npz archives (a zip of .npy arrays, as AlphaFold's params_model_*.npz): memory-mapped,
// every array's dtype and shape known up front, zero-copy views of stored little-endian arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/dtype.hpp"
#include "data/mapped_file_guard.hpp"

namespace kfold::data {

struct NpyArray {
  std::string name;            // zip member name without ".npy" (AlphaFold: "<scope>//<param>")
  DType dtype = DType::other;  // other: a member kfold lists but does not read (see numpy_dtype)
  std::string numpy_dtype;     // numpy's dtype name when dtype is other, e.g. "|S5", "<U3", "|O"
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<int64_t> shape;  // empty for a 0-d array
  int64_t numel() const;
  int64_t nbytes() const { return numel() * dtype_size(dtype); }  // 0 for dtype other
  // kfold's dtype name, or numpy's for a member of dtype other.
  std::string dtype_text() const { return dtype == DType::other ? numpy_dtype : std::string(dtype_name(dtype)); }
  // Internal: where the array's bytes are.
  bool compressed = false;
  uint32_t crc32 = 0;
  int64_t member_offset = 0;  // start of the zip member's (possibly compressed) data
  int64_t member_size = 0;    // its size in the file
  int64_t data_offset = 0;    // offset of the array data inside the uncompressed member
};

class NpzFile {
 public:
  // Maps the file and reads the zip directory and every .npy header. Throws InputError naming the
  // file (and member) when it is not a zip, is truncated, encrypted or holds a non-.npy member or a
  // structured dtype. Members of other non-numeric dtypes (strings, objects: AlphaFold's raw features
  // saved with np.savez hold domain_name and sequence) are listed with dtype other and refused by read().
  explicit NpzFile(const std::filesystem::path& path);
  ~NpzFile();
  NpzFile(const NpzFile&) = delete;
  NpzFile& operator=(const NpzFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::vector<NpyArray>& arrays() const { return arrays_; }  // in archive order
  const NpyArray* find(std::string_view name) const;               // nullptr when absent
  const NpyArray& get(std::string_view name) const;                // InputError naming the key

  // The raw bytes of a stored (uncompressed) array in the mapped file, without copying; empty
  // span for compressed members. The CRC is verified on first access.
  std::span<const std::byte> raw_bytes(const NpyArray& array) const;
  // True when raw_bytes() is directly usable as C-order native little-endian data.
  bool zero_copy(const NpyArray& array) const;

  // Values converted to T in C order: floats from float16/32/64, integers from any integer kind
  // (bool included); float ↔ integer is an error. `expected_shape` entries of -1 match any size.
  template <typename T>
  std::vector<T> read(std::string_view name, const std::vector<int64_t>& expected_shape = {}) const;

 private:
  std::vector<std::byte> member_bytes(const NpyArray& array) const;  // whole uncompressed member
  void check_crc(const NpyArray& array, std::span<const std::byte> member) const;

  std::filesystem::path path_;
  const std::byte* map_ = nullptr;
  int64_t size_ = 0;
  MappedFileGuard guard_;  // a SIGBUS inside the map (the file cut short while mapped) names the file
  std::vector<NpyArray> arrays_;
  std::unordered_map<std::string, size_t> index_;
  mutable std::unique_ptr<std::vector<bool>> crc_checked_;
};

// True when the file starts with a zip local-file signature (or an end record: an archive without members).
bool is_zip_file(const std::filesystem::path& path);

}  // namespace kfold::data
