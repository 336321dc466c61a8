// A read-only memory map of a whole file (POSIX mmap), unmapped when the object goes away.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "data/mapped_file_guard.hpp"

namespace kfold::msa {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws InputError naming `path` when it is missing or cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, static_cast<size_t>(size_)}; }
  int64_t size() const { return size_; }

 private:
  void unmap();

  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
  void* mapping_ = nullptr;      // null for an empty file
  data::MappedFileGuard guard_;  // a SIGBUS inside the mapping (the file cut short) names the file
};

}  // namespace kfold::msa
